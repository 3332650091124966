"""Our own task-spec and parser classes layered on the spiff dialect.

Only one change of behaviour: a service task whose operation is *asynchronous* (it talks to the
outside world) does not run inside the engine step. ``call_service`` returns ``None`` for it, so
``_execute`` returns ``None`` and the task stays STARTED; a job runs the operation after the
transaction commits and completes the task later (``rectiflow.engine.workflow.complete_service_task``).
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask


class DeferrableServiceTask(ServiceTask):
    def _execute(self, task: Any) -> bool | None:
        result = task.workflow.script_engine.call_service(
            task,
            operation_name=self.operation_name,
            operation_params=self.evaluate_params(task),
        )
        if result is None:
            return None  # deferred: completed by a job after commit
        task.data[self.result_variable] = json.loads(result)
        return True


class RectiflowParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, DeferrableServiceTask),
    }


SERIALIZER_CONFIG = {**SPIFF_CONFIG, DeferrableServiceTask: ServiceTaskConverter}
