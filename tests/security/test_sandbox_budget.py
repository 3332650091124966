"""Every evaluation is bounded by steps, time and the bytes it builds (issue 15, fault 3).

Before the fix each operation was bounded but not the total: a title expression held a request for
31.6 s (a million steps were allowed), and thirty lists each just under the per-value cap took the
server from 420 MB to 3.2 GB."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from testsupport import NS, divide_after_timer_xml

from rectiflow.bpmn_layout import layout
from rectiflow.db.jobs import Incident
from rectiflow.db.runtime import ProcessInstance
from rectiflow.engine import sandbox
from rectiflow.engine.sandbox import (
    EXPRESSION_BUDGET,
    SCRIPT_BUDGET,
    Budget,
    BudgetExceeded,
    SandboxError,
    check_expression,
    check_script,
    evaluate,
    execute,
)
from rectiflow.services.workflow import instances, timers
from rectiflow.services.workflow.definitions import Sources, deploy
from rectiflow.services.workflow.triggers import EngineFailure
from security.sandbox_corpus import EXPRESSIONS, SCRIPTS

# The corpus gets the normal steps and bytes, and a clock far longer than any refusal takes: an
# entry refused by the clock was not refused by a check, and fails the test.  The shared deadline
# bounds the whole corpus, however it fails.
CORPUS_SECONDS = 120.0


def _refusal(run: Any, source: str, data: dict[str, Any], budget: Budget) -> str:
    try:
        run(source, data, None, budget)
    except SandboxError as exc:
        return str(exc)
    return ""


def test_the_whole_corpus_is_refused_by_checks_and_budgets_within_one_deadline() -> None:
    deadline = sandbox.time.monotonic() + CORPUS_SECONDS
    failures = []
    for run, corpus, normal in ((evaluate, EXPRESSIONS, EXPRESSION_BUDGET), (execute, SCRIPTS, SCRIPT_BUDGET)):
        for source, data in corpus:
            left = max(deadline - sandbox.time.monotonic(), 0.001)
            budget = Budget(steps=normal.steps, seconds=left, bytes=normal.bytes)
            before = {k: v for k, v in data.items()}
            why = _refusal(run, source, data, budget)
            if not why or "time budget" in why:
                failures.append(f"{source!r}: {why or 'not refused'}")
            if data != before:
                failures.append(f"{source!r}: changed the task data")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("source", [
    "'x' * 10**9", "[0] * 10**8", "10 ** 10**7", "1 << 10**10", "list(range(10**9))",
    "sum(1 for i in range(1000) for j in range(1000))", "[[0 for a in range(1000)] for b in range(1000)]",
])
def test_bombs_visible_in_the_source_are_refused_when_deploying(source: str) -> None:
    problems = check_expression(source)
    assert problems and problems[0].startswith("line 1: "), problems
    assert any(word in problems[0] for word in ("too large", "steps")), problems


def test_a_million_step_title_is_impossible() -> None:
    # The static check sees constant ranges; a title looping over task data is stopped at run time
    # after the expression budget, far below what a script may take.
    assert "an expression may run 10000" in check_expression("sum(1 for i in range(1000) for j in range(1000))")[0]
    items = list(range(900))  # 810 900 steps: allowed before the fix
    with pytest.raises(BudgetExceeded, match="step budget exhausted \\(10000 "):
        evaluate("'整改：' + str(sum(1 for a in items for b in items))", {"items": items})
    assert EXPRESSION_BUDGET.steps * 10 <= SCRIPT_BUDGET.steps


def test_nested_loops_in_a_script_are_refused_by_the_deploy_check() -> None:
    problems = check_script("total = 0\nfor i in range(1000):\n    for j in range(1000):\n        total += 1\n")
    assert problems == ["line 2: the loops run at least 1001000 steps; a script may run 200000"]
    assert check_script("total = 0\nfor i in range(100):\n    for j in range(100):\n        total += 1\n") == []


def test_values_built_count_towards_one_budget_not_each_on_its_own() -> None:
    # Each list is under the per-value cap; thirty of them are 240 MB.
    with pytest.raises(BudgetExceeded, match="memory budget exhausted"):
        evaluate("len([[0] * 999_999 for i in range(n)])", {"n": 30})
    payload = {"n": 100}  # a script may build more (64 MiB), not a hundred megabyte strings
    with pytest.raises(BudgetExceeded, match="memory budget exhausted"):
        execute("keep = []\nfor i in range(n):\n    keep.append('x' * 999_999)\ncount = len(keep)", payload)
    assert payload == {"n": 100}
    assert evaluate("len([[0] * 999_999 for i in range(n)])", {"n": 2}) == 2  # one or two are fine


def test_a_wall_clock_deadline_stops_slow_steps() -> None:
    # Each step scans a million items without building anything: only the clock bounds it.
    budget = Budget(steps=10_000, seconds=0.05, bytes=EXPRESSION_BUDGET.bytes)
    with pytest.raises(BudgetExceeded, match="time budget exhausted \\(0.05 s\\)"):
        evaluate("[big.count(0) for i in range(5000)]", {"big": [0] * 10**6}, budget=budget)


def test_writing_out_a_shared_structure_is_measured_before_it_is_written() -> None:
    data = {"big": [0] * 10**5, "n": 1000}
    for source in ("str([big for i in range(n)])", "f'{[big for i in range(n)]}'", "repr([big] + [big] * 20)"):
        with pytest.raises(SandboxError, match="too large"):
            evaluate(source, data)


def test_an_exhausted_budget_cannot_be_caught_and_ignored() -> None:
    script = ("keep = []\nfor i in range(100):\n    try:\n        keep.append([0] * 999_999)\n"
              "    except:\n        pass\n")
    with pytest.raises(BudgetExceeded, match="memory budget exhausted"):
        execute(script, {})


def test_ordinary_diagram_code_stays_well_inside_the_budgets() -> None:
    measures = [{"name": f"措施{i}", "progress": i % 100, "tags": ["资金", "制度"]} for i in range(2000)]
    data: dict[str, Any] = {"measures": measures, "problem_number": "1.2", "report_note": "",
                            "problem_title": "资金管理不规范"}
    title = "('【' + report_note + '】' if report_note else '') + '整改：问题 ' + problem_number + ' ' + problem_title"
    assert evaluate(title, data) == "整改：问题 1.2 资金管理不规范"
    assert evaluate("sum(m['progress'] for m in measures) // len(measures)", data) == 49
    assert evaluate("{'progress': 0, 'measures': measures}", data)["measures"] is measures
    execute("done = [m['name'] for m in measures if m['progress'] >= 90]\n"
            "summary = '；'.join(done)\ntext = f'{len(done)} 项：{summary}'\n"
            "by_tag = {}\nfor m in measures:\n    for t in m['tags']:\n        by_tag[t] = by_tag.get(t, 0) + 1\n",
            data)
    assert data["by_tag"] == {"资金": 2000, "制度": 2000} and data["text"].startswith("200 项：措施90")


def _deploy_timer_script(rt: Any, script: bytes) -> None:
    xml = divide_after_timer_xml().replace(b"quotient = 100 / divisor", script)
    with rt.sessions.begin() as s:
        deploy(s, rt, Sources(bpmn={"divide_later.bpmn": xml}, forms={}), actor="test")


def test_an_exceeded_budget_in_a_worker_becomes_an_incident(rt: Any, org: dict[str, Any]) -> None:
    _deploy_timer_script(rt, b"count = len([[0] * 999999 for i in range(divisor)])")
    due = rt.clock.now() + timedelta(days=1)
    with rt.sessions.begin() as s:
        iid = instances.start_instance(s, rt, "divide_later", {"due": due.isoformat(), "divisor": 30},
                                       unit_id=org["units"]["plant_a"]).id
    rt.clock.set(due + timedelta(seconds=2))
    report = timers.tick(rt)
    assert report.failures == 1
    with rt.reads() as s:
        [incident] = s.scalars(select(Incident)).all()
        assert incident.instance_id == iid and "memory budget exhausted" in incident.message
        assert s.get(ProcessInstance, iid).status == "error"


def _script_at_start_xml(script: str) -> bytes:
    """start → script → end: the script runs inside the request that starts the instance."""
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d_now" targetNamespace="x">'
           f'<bpmn:process id="count_now" name="立即计算" isExecutable="true"><bpmn:startEvent id="start"/>'
           f'<bpmn:scriptTask id="count" name="计算"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
           f'<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="a" sourceRef="start" targetRef="count"/>'
           f'<bpmn:sequenceFlow id="b" sourceRef="count" targetRef="end"/></bpmn:process></bpmn:definitions>')
    return layout(xml.encode())


def test_an_exceeded_budget_in_a_request_is_a_clear_refusal_that_writes_nothing(rt: Any, org: dict[str, Any]) -> None:
    xml = _script_at_start_xml("count = len([[0] * 999999 for i in range(n)])")
    with rt.sessions.begin() as s:
        deploy(s, rt, Sources(bpmn={"count_now.bpmn": xml}, forms={}), actor="test")
    with pytest.raises(EngineFailure, match="memory budget exhausted"), rt.sessions.begin() as s:
        instances.start_instance(s, rt, "count_now", {"n": 30}, unit_id=org["units"]["plant_a"])
    with rt.reads() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    with rt.sessions.begin() as s:  # the same diagram with sane data runs
        inst = instances.start_instance(s, rt, "count_now", {"n": 2}, unit_id=org["units"]["plant_a"])
        assert inst.status == "completed"


def _titled_task_xml(title: str) -> bytes:
    """start → a user task whose title is an expression over task data → end."""
    spiff = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} {spiff} id="d_title" targetNamespace="x">'
           f'<bpmn:process id="titled" name="标题" isExecutable="true"><bpmn:laneSet id="ls">'
           f'<bpmn:lane id="rectification_office" name="整改办公室"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
           f'<bpmn:flowNodeRef>work</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>'
           f'</bpmn:laneSet><bpmn:startEvent id="start"/>'
           f'<bpmn:userTask id="work" name="办理"><bpmn:extensionElements><spiffworkflow:properties>'
           f'<spiffworkflow:property name="formKey" value="note"/>'
           f'<spiffworkflow:property name="title" value="{title}"/></spiffworkflow:properties>'
           f'</bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="end"/>'
           f'<bpmn:sequenceFlow id="a" sourceRef="start" targetRef="work"/>'
           f'<bpmn:sequenceFlow id="b" sourceRef="work" targetRef="end"/></bpmn:process></bpmn:definitions>')
    return layout(xml.encode())


def test_a_title_over_its_budget_opens_the_task_with_the_fallback_and_records_an_incident(
        rt: Any, org: dict[str, Any]) -> None:
    from rectiflow.db.runtime import UserTask

    title = "'整改：' + str(sum(1 for a in items for b in items))"  # over task data: not visible at deploy
    with rt.sessions.begin() as s:
        note = json.dumps({"schema": {"type": "object", "additionalProperties": False, "properties": {
            "note": {"type": "string", "title": "说明"}}}, "ui": {}}).encode()
        deploy(s, rt, Sources(bpmn={"titled.bpmn": _titled_task_xml(title)}, forms={"note": note}), actor="test")
    with rt.sessions.begin() as s:
        iid = instances.start_instance(s, rt, "titled", {"items": list(range(900))},
                                       unit_id=org["units"]["plant_a"], title="实例标题").id
    with rt.reads() as s:
        [task] = s.scalars(select(UserTask).where(UserTask.instance_id == iid)).all()
        [incident] = s.scalars(select(Incident)).all()
        assert task.title == "实例标题" and task.status == "ready"  # the work is not blocked
        assert incident.instance_id == iid and incident.status == "open"
        assert "sum(1 for a in items" in incident.message and "step budget exhausted" in incident.message
        assert s.get(ProcessInstance, iid).status == "running"
    with rt.sessions.begin() as s:  # a small list: the title is computed, no further incident
        iid2 = instances.start_instance(s, rt, "titled", {"items": [1, 2]}, unit_id=org["units"]["plant_a"],
                                        title="实例").id
    with rt.reads() as s:
        assert s.scalar(select(UserTask.title).where(UserTask.instance_id == iid2)) == "整改：4"
        assert s.scalar(select(func.count()).select_from(Incident)) == 1
