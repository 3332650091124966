"""Moving a running workflow onto another version of its spec.

The only module that imports SpiffWorkflow's diff/migrate utilities
(``SpiffWorkflow.bpmn.util.diff``). ``plan`` compares the workflow with the new spec and says what
would change and whether the move is safe; ``apply`` does it on the workflow object in memory
(the caller writes the state, in the same transaction as the new definition id).

A move is refused when the instance waits on (or runs inside) an element the new version removed:
the library would silently drop that branch, and with it somebody's task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass
class MigrationPlan:
    """What moving one workflow to a new spec does. Element ids are BPMN ids; subprocess entries are
    prefixed with the called process id (``acceptance/verify``)."""

    allowed: bool = True
    reasons: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # elements the instance waits on now
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # element → changed attributes
    reset: list[str] = field(default_factory=list)  # waiting elements re-predicted on the new spec

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reasons": self.reasons,
            "waiting": self.waiting,
            "removed": self.removed,
            "added": self.added,
            "changed": self.changed,
            "reset": self.reset,
        }


def _element(spec: Any) -> str | None:
    """The BPMN id of a task spec, or None for the library's internal specs (Start, End, joins)."""
    bpmn_id = getattr(spec, "bpmn_id", None)
    return str(bpmn_id) if bpmn_id else None


def _describe(
    plan: MigrationPlan,
    prefix: str,
    wf: Any,
    diff: Any,
    spec_diff_removed: list[Any],
    spec_diff_added: list[Any],
    changed: dict[Any, list[str]],
) -> None:  # noqa: ARG001
    plan.removed += sorted({prefix + e for e in map(_element, spec_diff_removed) if e})
    plan.added += sorted({prefix + e for e in map(_element, spec_diff_added) if e})
    for spec, attrs in changed.items():
        eid = _element(spec)
        if eid:
            plan.changed[prefix + eid] = sorted(set(attrs))
    removed_specs = set(spec_diff_removed)
    for task in wf.get_tasks(state=_ACTIVE, skip_subprocesses=True):
        eid = _element(task.task_spec)
        if eid is None:
            continue
        plan.waiting.append(prefix + eid)
        if task.task_spec in removed_specs:
            plan.allowed = False
            plan.reasons.append(f"the instance waits on '{prefix}{eid}', which the new version removed")
        elif task.state & TaskState.READY or (task.state & TaskState.WAITING and task.task_spec in changed):
            plan.reset.append(prefix + eid)


def _diffs(
    registry: Any, wf: Any, new_spec: Any, new_subprocess_specs: dict[str, Any]
) -> tuple[Any, Any, dict[str, Any]]:
    spec_diff = SpecDiff(registry, wf.spec, new_spec)
    top, subs = diff_workflow(registry, wf, new_spec, new_subprocess_specs)
    return spec_diff, top, subs


def plan(registry: Any, wf: Any, new_spec: Any, new_subprocess_specs: dict[str, Any]) -> MigrationPlan:
    """Compare ``wf`` with ``new_spec`` (and the new called-process specs). Writes nothing."""
    result = MigrationPlan()
    try:
        spec_diff, top, subs = _diffs(registry, wf, new_spec, new_subprocess_specs)
    except Exception as exc:  # the library raises KeyError etc. on specs it cannot align
        result.allowed = False
        result.reasons.append(f"the versions cannot be aligned: {type(exc).__name__}: {exc}")
        return result
    _describe(result, "", wf, top, spec_diff.removed, spec_diff.added, spec_diff.changed)

    for sp_id, sp_diff in subs.items():
        sub = wf.subprocesses[sp_id]
        name = sub.spec.name
        if sp_diff is None:
            if sub.get_tasks(state=_ACTIVE, skip_subprocesses=True):
                result.allowed = False
                result.reasons.append(f"the instance runs the called process '{name}', which the new version removed")
            continue
        try:
            sd = SpecDiff(registry, sub.spec, new_subprocess_specs[name])
        except Exception as exc:
            result.allowed = False
            result.reasons.append(f"'{name}' cannot be aligned: {type(exc).__name__}: {exc}")
            continue
        _describe(result, f"{name}/", sub, sp_diff, sd.removed, sd.added, sd.changed)
    result.waiting = sorted(set(result.waiting))
    result.reset = sorted(set(result.reset))
    return result


def apply(registry: Any, wf: Any, new_spec: Any, new_subprocess_specs: dict[str, Any]) -> MigrationPlan:
    """Move ``wf`` onto ``new_spec`` in place when ``plan`` allows it; return the plan either way."""
    result = plan(registry, wf, new_spec, new_subprocess_specs)
    if not result.allowed:
        return result
    top, subs = diff_workflow(registry, wf, new_spec, new_subprocess_specs)
    for sp_id, sp_diff in subs.items():
        if sp_diff is not None:
            sub = wf.subprocesses[sp_id]
            _migrate(sp_diff, sub, new_subprocess_specs[sub.spec.name])
    _migrate(top, wf, new_spec)
    wf.subprocess_specs = new_subprocess_specs
    return result


def _migrate(diff: Any, wf: Any, spec: Any) -> None:
    """``migrate_workflow`` re-predicts READY tasks; a WAITING task (a timer, a message catch) is reset
    only when its own element changed, so an unchanged timer keeps its due time."""
    changed_waiting = [t for t in wf.get_tasks(state=TaskState.WAITING, skip_subprocesses=True) if t in diff.changed]
    migrate_workflow(diff, wf, spec, reset_mask=TaskState.READY)
    for task in changed_waiting:
        if task.id in wf.tasks and task.state & TaskState.WAITING:
            task.reset_branch(None)
