"""The script engine: diagrams' expressions and scripts run in the sandbox, service tasks go to a
dispatcher supplied by the services layer for the duration of one trigger."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from rectiflow.engine import sandbox


@dataclass(frozen=True)
class ServiceCall:
    operation: str
    params: dict[str, Any]
    task_id: str
    process_id: str
    element_id: str
    data: Mapping[str, Any]


class ServiceDispatcher(Protocol):
    def __call__(self, call: ServiceCall) -> str | None:
        """Return the JSON result of an inline operation, or ``None`` when it was deferred to a job."""


def _no_services(call: ServiceCall) -> str | None:
    raise RuntimeError(f"no service dispatcher: cannot run operation '{call.operation}'")


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, helpers: Mapping[str, Callable[..., Any]], dispatcher: ServiceDispatcher) -> None:
        super().__init__({})
        self.helpers = helpers
        self.dispatcher = dispatcher

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        if external_context:
            context = {**external_context, **context}
        return sandbox.evaluate(expression, context, self.helpers)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        sandbox.execute(script, context, self.helpers)
        return True


class RectiflowScriptEngine(PythonScriptEngine):
    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None,
                 dispatcher: ServiceDispatcher | None = None) -> None:
        super().__init__(environment=SandboxEnvironment(helpers or {}, dispatcher or _no_services))

    def validate(self, expression: str) -> None:
        problems = sandbox.check_expression(expression)
        if problems:
            raise sandbox.SandboxError("; ".join(problems))

    def call_service(self, task: Any, **kwargs: Any) -> str | None:
        # The library's default turns every failure into "NameError: script"; say what failed.
        params = {k: v["value"] for k, v in kwargs.get("operation_params", {}).items()}
        call = ServiceCall(
            operation=kwargs["operation_name"], params=params, task_id=str(task.id),
            process_id=task.workflow.spec.name, element_id=task.task_spec.name, data=task.data,
        )
        try:
            return self.environment.dispatcher(call)
        except WorkflowTaskException:
            raise
        except Exception as exc:
            raise WorkflowTaskException(
                f"service operation '{call.operation}' failed: {type(exc).__name__}: {exc}", task=task, exception=exc
            ) from exc
