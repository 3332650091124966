"""The engine wrapper: the only package that imports SpiffWorkflow.

Importing it installs the clock hook (``timeclock``) so the library's timers read our clock.
"""

from rectiflow.engine import timeclock as _timeclock  # noqa: F401  (installs the hook)
from rectiflow.engine.loader import ParsedBundle, ParsedProcess, ServiceTaskMeta, Snippet, UserTaskMeta, parse_bundle
from rectiflow.engine.script_engine import RectiflowScriptEngine, ServiceCall, ServiceDispatcher
from rectiflow.engine.serializer import StateSerializer
from rectiflow.engine.workflow import (
    DeferredService,
    ReadyTask,
    TaskNotReady,
    WaitingTimer,
    attach,
    complete_service_task,
    complete_user_task,
    deferred_services,
    deliver_message,
    fire_timers,
    is_completed,
    new_workflow,
    ready_user_tasks,
    run,
    task_count,
    waiting_timers,
)

__all__ = [
    "DeferredService", "ParsedBundle", "ParsedProcess", "ReadyTask", "RectiflowScriptEngine", "ServiceCall",
    "ServiceDispatcher", "ServiceTaskMeta", "Snippet", "StateSerializer", "TaskNotReady", "UserTaskMeta",
    "WaitingTimer", "attach", "complete_service_task", "complete_user_task", "deferred_services",
    "deliver_message", "fire_timers", "is_completed", "new_workflow", "parse_bundle", "ready_user_tasks", "run",
    "task_count", "waiting_timers", "is_engine_error",
]


def is_engine_error(exc: BaseException) -> bool:
    """True for failures raised by the library while running a diagram (script errors and the like)."""
    from SpiffWorkflow.exceptions import SpiffWorkflowException

    return isinstance(exc, SpiffWorkflowException)
