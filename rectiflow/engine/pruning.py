"""Keep the task tree bounded.

SpiffWorkflow never removes finished tasks, so a loop run 50 times makes every later step several
times slower and the state keeps growing. History does not live in the tree here (the audit log and
the task projection keep it), so after each trigger we cut the tree down to the lowest common
ancestor of the unfinished tasks: everything above it, and every finished branch hanging off that
path, can no longer influence execution. Joins stay correct because every branch of an active
split has an unfinished task below the split, which keeps the split (and its branches) in the tree.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState

# Below this size pruning buys nothing and costs a walk of the tree. Once the write path stopped
# serializing whole trees, a step's cost follows the tree's size closely: at 40 a loop's 50th pass
# cost 1.25-1.6 times its first (the tree saw-tooths between 10 and 40 tasks), at 20 about 1.0-1.15.
PRUNE_THRESHOLD = 20


def prune(wf: Any) -> int:
    removed = _prune_one(wf, wf)
    for sp in list(wf.subprocesses.values()):
        removed += _prune_one(sp, wf)
    return removed


def _prune_one(workflow: Any, top: Any) -> int:
    tasks = workflow.tasks
    if len(tasks) < PRUNE_THRESHOLD:
        return 0
    live = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return 0
    new_root = _lowest_common_ancestor(live)
    if new_root is None or new_root is workflow.task_tree:
        return 0
    keep = {t.id for t in _subtree(new_root)}
    doomed = [tid for tid in tasks if tid not in keep]
    for tid in doomed:
        if tid in top.subprocesses:
            top.delete_subprocess(tasks[tid])
        del tasks[tid]
    new_root._parent = None
    workflow.task_tree = new_root
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return len(doomed)


def _ancestors(task: Any) -> list[Any]:
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    chain.reverse()  # root first
    return chain


def _lowest_common_ancestor(tasks: list[Any]) -> Any:
    common = _ancestors(tasks[0])
    for task in tasks[1:]:
        chain = _ancestors(task)
        n = 0
        while n < len(common) and n < len(chain) and common[n] is chain[n]:
            n += 1
        common = common[:n]
        if not common:
            return None
    # Keep the parent of the LCA as root when it exists: tasks sometimes read their parent's data.
    return common[-2] if len(common) >= 2 else common[-1]


def _subtree(root: Any) -> list[Any]:
    out, stack = [], [root]
    while stack:
        t = stack.pop()
        out.append(t)
        stack.extend(t.children)
    return out
