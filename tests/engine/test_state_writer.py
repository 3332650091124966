"""The incremental state writer: what it writes must equal a full serialization, step after step,
with the fragments kept warm (as the workflow cache keeps them), and it must really be incremental."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from rectiflow import engine
from rectiflow.bpmn_layout import layout
from rectiflow.clock import FixedClock
from rectiflow.engine import serializer as serializer_module
from rectiflow.engine.loader import parse_bundle
from rectiflow.services.helpers import script_helpers

START = {"subject": "s", "deadline": "2025-04-30"}
FIX = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def _nested_xml(*, change: bool) -> bytes:
    """A script fills a list of dicts and a user task sees it; optionally a later script changes
    one of the dicts. Each child task inherits a *shallow* copy of its parent's data."""
    nodes = {"start": '<bpmn:startEvent id="start"/>',
             "fill": '<bpmn:scriptTask id="fill" name="填写"><bpmn:script>items = [{"p": 0}, {"p": 1}]'
                     '</bpmn:script></bpmn:scriptTask>',
             "look": '<bpmn:userTask id="look" name="查看"/>',
             "change": '<bpmn:scriptTask id="change" name="修改"><bpmn:script>items[0]["p"] = 5</bpmn:script>'
                       '</bpmn:scriptTask>',
             "check": '<bpmn:userTask id="check" name="核对"/>', "end": '<bpmn:endEvent id="end"/>'}
    chain = [n for n in nodes if change or n != "change"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(chain, chain[1:], strict=False)))
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d" targetNamespace="x">'
           f'<bpmn:process id="nested" name="嵌套" isExecutable="true">{"".join(nodes[n] for n in chain)}{flows}'
           f'</bpmn:process></bpmn:definitions>')
    return layout(xml.encode())


@pytest.fixture
def clock():
    return FixedClock(datetime(2025, 1, 31, 2, tzinfo=UTC))


def _engine(clock):
    def dispatch(call):  # the inline operation of review_loop answers at once
        return json.dumps({"echo": call.params}) if call.operation == "test.echo" else None

    return engine.RectiflowScriptEngine(script_helpers(clock), dispatch)


def _same(ser: engine.StateSerializer, wf) -> None:
    assert json.loads(ser.dumps(wf)) == json.loads(ser.dumps_full(wf))


def test_warm_fragments_equal_a_full_serialization_through_a_loop_with_pruning(clock, monkeypatch):
    proc = parse_bundle({p.name: p.read_bytes() for p in FIX.glob("*.bpmn")}).processes["review_loop"]
    ser = engine.StateSerializer()
    ser.verify = False  # compared explicitly below
    made = []
    real = ser._task_dict
    monkeypatch.setattr(ser, "_task_dict", lambda task, parent: made.append(task.id) or real(task, parent))
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, _engine(clock), START)
    engine.run(wf, clock)
    _same(ser, wf)
    per_step = []
    for i in range(30):
        for data in ({"note": f"n{i}"}, {"decision": "return" if i < 29 else "approve"}):
            [t] = engine.ready_user_tasks(wf)
            engine.complete_user_task(wf, t.task_id, data, clock)
            made.clear()
            text = ser.dumps(wf)
            per_step.append((len(made), engine.task_count(wf)))
            assert json.loads(text) == json.loads(ser.dumps_full(wf))
            restored = ser.loads(text, proc.spec, proc.subprocess_specs)
            assert json.loads(ser.dumps_full(restored)) == json.loads(text)
    assert engine.is_completed(wf)
    # Incremental: a step re-serializes a few tasks, not the tree (the loop runs long enough to prune).
    assert sum(n for n, _ in per_step) < 0.5 * sum(total for _, total in per_step)


def _warm_after_start(clock, *, change: bool):
    proc = parse_bundle({"nested.bpmn": _nested_xml(change=change)}).processes["nested"]
    ser = engine.StateSerializer()
    ser.verify = False  # the point is what gets stored, checked by loading it
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, _engine(clock))
    engine.run(wf, clock)
    ser.dumps(wf)  # fragments warm, as after the trigger that started the instance
    return proc, ser, wf


def test_a_script_changing_a_nested_value_is_written(clock):
    proc, ser, wf = _warm_after_start(clock, change=True)
    [look] = engine.ready_user_tasks(wf)
    engine.complete_user_task(wf, look.task_id, {"seen": True}, clock)  # runs the change script
    restored = ser.loads(ser.dumps(wf), proc.spec, proc.subprocess_specs)
    [check] = engine.ready_user_tasks(restored)
    assert check.data["items"] == [{"p": 5}, {"p": 1}]


def test_a_value_changed_in_place_through_a_shared_object_is_written(clock):
    """Scripts work on copies, but anything changing a container in place (library internals) also
    changes it in the finished tasks that share it: their cached fragments must not be reused."""
    proc, ser, wf = _warm_after_start(clock, change=False)
    [look] = engine.ready_user_tasks(wf)
    live = wf.get_task_from_id(UUID(look.task_id))
    live.data["items"][1]["p"] = 7  # the same dict object as in the finished script task's data
    engine.complete_user_task(wf, look.task_id, {"seen": True}, clock)
    restored = ser.loads(ser.dumps(wf), proc.spec, proc.subprocess_specs)
    [check] = engine.ready_user_tasks(restored)
    assert check.data["items"] == [{"p": 0}, {"p": 7}]


def test_verify_catches_a_fragment_that_no_longer_matches(clock, monkeypatch):
    proc = parse_bundle({p.name: p.read_bytes() for p in FIX.glob("*.bpmn")}).processes["review_loop"]
    ser = engine.StateSerializer()
    wf = engine.new_workflow(proc.spec, proc.subprocess_specs, _engine(clock), START)
    engine.run(wf, clock)
    ser.dumps(wf)
    # A fingerprint that misses a change is exactly this: a cached fragment with stale content.
    ser.verify = True
    ser.dumps(wf)  # warm fragments that match pass
    fragments = wf.__dict__[serializer_module._FRAGMENTS]
    task, (fp, piece, *parent) = next(iter(fragments.items()))
    fragments[task] = (fp, piece.replace('"task_spec":"', '"task_spec":"stale_', 1), *parent)
    with pytest.raises(AssertionError, match="incremental state differs"):
        ser.dumps(wf)


def test_a_task_moved_onto_another_spec_is_written_again(clock):
    """A version migration gives tasks the new version's spec objects; a renamed element gives a
    finished task another spec name without any state change."""
    proc, ser, wf = _warm_after_start(clock, change=False)
    finished = next(t for t in wf.tasks.values() if t.task_spec.name == "start")  # no data: cacheable
    finished.task_spec = wf.spec.task_specs["end"]  # as if the element had been renamed
    stored = json.loads(ser.dumps(wf))["tasks"][str(finished.id)]
    assert stored["task_spec"] == "end"
