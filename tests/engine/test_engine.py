"""Engine wrapper without a database: every step also round-trips through save and restore."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rectiflow import engine
from rectiflow.bpmn_layout import layout
from rectiflow.clock import FixedClock
from rectiflow.engine.loader import parse_bundle
from rectiflow.errors import DefinitionError
from rectiflow.services.helpers import script_helpers

START_DATA = {"subject": "s", "deadline": "2025-04-30"}
FIX = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"


@pytest.fixture
def bundle():
    return parse_bundle({p.name: p.read_bytes() for p in FIX.glob("*.bpmn")})


@pytest.fixture
def clock():
    return FixedClock(datetime(2025, 1, 31, 2, tzinfo=UTC))


def make_engine(clock, calls=None):
    def dispatch(call):
        if calls is not None:
            calls.append(call)
        if call.operation == "test.echo":
            return json.dumps({"echo": call.params})
        return None

    return engine.RectiflowScriptEngine(script_helpers(clock), dispatch)


def roundtrip(wf, proc, eng):
    ser = engine.StateSerializer()
    restored = ser.loads(ser.dumps(wf), proc.spec, proc.subprocess_specs)
    engine.attach(restored, eng)
    return restored


def test_loop_runs_with_round_trips_and_the_tree_stays_bounded(bundle, clock):
    proc = bundle.processes["review_loop"]
    eng = make_engine(clock)
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, eng, {"subject": "s", "deadline": "2025-04-30"})
    engine.run(wf, clock)
    sizes = []
    for i in range(60):
        wf = roundtrip(wf, proc, eng)
        [t] = engine.ready_user_tasks(wf)
        engine.complete_user_task(wf, t.task_id, {"note": f"n{i}"}, clock)
        wf = roundtrip(wf, proc, eng)
        [t] = engine.ready_user_tasks(wf)
        engine.complete_user_task(wf, t.task_id, {"decision": "return" if i < 59 else "approve"}, clock)
        sizes.append(engine.task_count(wf))
    assert engine.is_completed(wf)
    assert max(sizes[10:]) <= max(sizes[:10]) + 5  # pruning: no growth with the number of passes
    assert wf.last_task is None or wf.last_task.data.get("note") == "n59"


def test_spec_less_state_is_much_smaller_than_the_library_default(bundle, clock):
    proc = bundle.processes["review_loop"]
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, make_engine(clock), START_DATA)
    engine.run(wf, clock)
    ser = engine.StateSerializer()
    assert len(ser.dumps(wf)) < 0.5 * len(ser.full_json(wf))


def test_dates_and_decimals_survive_serialization(bundle, clock):
    from datetime import date
    from decimal import Decimal

    proc = bundle.processes["review_loop"]
    eng = make_engine(clock)
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, eng,
                             {"subject": "s", "deadline": date(2025, 4, 30), "amount": Decimal("12.50")})
    engine.run(wf, clock)
    wf = roundtrip(wf, proc, eng)
    [t] = engine.ready_user_tasks(wf)
    assert t.data["deadline"] == date(2025, 4, 30) and t.data["amount"] == Decimal("12.50")


def test_timer_follows_the_virtual_clock_and_async_service_waits(bundle, clock):
    proc = bundle.processes["deadline_escalation"]
    calls = []
    eng = make_engine(clock, calls)
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, eng, {"subject": "s", "deadline": "2025-04-30"})
    engine.run(wf, clock)
    [timer] = engine.waiting_timers(wf)
    assert timer.due_at == datetime(2025, 4, 30, 16, tzinfo=UTC) and type(timer.due_at) is datetime
    clock.set(timer.due_at)
    engine.fire_timers(wf, clock)
    assert engine.ready_user_tasks(wf)  # due is not yet past
    clock.advance(timedelta(seconds=1))
    wf = roundtrip(wf, proc, eng)
    engine.fire_timers(wf, clock)
    assert engine.ready_user_tasks(wf) == []
    [deferred] = engine.deferred_services(wf)
    assert (deferred.operation, deferred.params) == ("test.remote", {"subject": "s"})
    wf = roundtrip(wf, proc, eng)
    engine.complete_service_task(wf, deferred.task_id, {"ok": True}, clock)
    assert engine.is_completed(wf)


def test_completing_a_task_that_is_not_ready_is_refused(bundle, clock):
    proc = bundle.processes["review_loop"]
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, make_engine(clock), START_DATA)
    engine.run(wf, clock)
    future = [t for t in wf.get_tasks() if t.task_spec.name == "review"][0]
    with pytest.raises(engine.TaskNotReady):
        engine.complete_user_task(wf, str(future.id), {}, clock)
    with pytest.raises(engine.TaskNotReady):
        engine.complete_user_task(wf, "not-a-uuid", {}, clock)


ESCAPES = [
    "__import__('os').system('touch /tmp/rectiflow-pwned')",
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__bases__[0].__subclasses__()]",
    "getattr((), '__class__')",
    "'{0.__class__}'.format(decision)",
]


@pytest.mark.parametrize("condition", ESCAPES)
def test_escapes_in_gateway_conditions_are_refused_at_deploy_and_at_run_time(condition, clock):
    source = (FIX / "review_loop.bpmn").read_text().replace("decision == 'return'", condition.replace("'", "&apos;"))
    bundle = parse_bundle({"review_loop.bpmn": source.encode()})
    snippet = [s for s in bundle.snippets if s.element_id == "flow_return"][0]
    from rectiflow.engine import sandbox

    assert sandbox.check_expression(snippet.source)  # deploy-time finding
    proc = bundle.processes["review_loop"]
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, make_engine(clock), START_DATA)
    engine.run(wf, clock)
    [t] = engine.ready_user_tasks(wf)
    engine.complete_user_task(wf, t.task_id, {"note": "x"}, clock)
    [t] = engine.ready_user_tasks(wf)
    with pytest.raises(Exception) as err:
        engine.complete_user_task(wf, t.task_id, {"decision": "return"}, clock)
    assert engine.is_engine_error(err.value)
    assert not Path("/tmp/rectiflow-pwned").exists()


def bad(xml: str) -> list[dict[str, str]]:
    with pytest.raises(DefinitionError) as err:
        parse_bundle({"bad.bpmn": xml.encode()})
    return err.value.findings


def test_malformed_diagrams_get_findings_that_name_file_and_element():
    good = (FIX / "review_loop.bpmn").read_text()
    [f] = bad(good[:200])
    assert f["file"] == "bad.bpmn" and "malformed XML" in f["problem"]
    dangling = bad(good.replace('targetRef="review"/>', 'targetRef="nowhere"/>'))
    problem = "sequence flow targetRef points at a missing element 'nowhere'"
    assert {"file": "bad.bpmn", "element": "f2", "problem": problem} in dangling
    dtd = bad('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + good.split("?>", 1)[1])
    assert "DTD" in dtd[0]["problem"]
    stripped = layout(good.encode()).decode()
    no_di = stripped.split("<bpmndi:BPMNDiagram")[0] + "</bpmn:definitions>"
    assert any("diagram interchange" in x["problem"] for x in bad(no_di))
    not_executable = good.replace('isExecutable="true"', 'isExecutable="false"')
    assert any("no executable process" in x["problem"] for x in bad(not_executable))
