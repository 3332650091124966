"""Automatic BPMN diagram interchange: coverage, lanes, overlap, SpiffWorkflow round trip, idempotence."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from rectiflow.bpmn_layout import layout, main

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://bpmn.io/schema/bpmn">\n'
)

# Lanes, a user task with a non-interrupting boundary timer, an exclusive-gateway loop, a parallel
# split/join, Chinese names and spiff extension elements (properties, service operator, scripts with '<').
LANES = HEAD + """
  <bpmn:process id="rectify" name="巡察整改" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_unit" name="被巡察单位">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>submit</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>remind_timer</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>remind</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>remind_end</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_office" name="巡察办">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>split</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>notify</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>archive</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>join</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="开始"/>
    <bpmn:userTask id="submit" name="提交整改报告">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="submit.schema.json"/>
          <spiffworkflow:property name="deadline" value="P30D"/>
        </spiffworkflow:properties>
        <spiffworkflow:preScript>if round_no &lt; 3:
    late = False</spiffworkflow:preScript>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="remind_timer" name="三天提醒" attachedToRef="submit" cancelActivity="false">
      <bpmn:timerEventDefinition id="TimerDef_1">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT72H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="remind" name="发送提醒">
      <bpmn:script>reminders = 1 if 0 &lt; 1 else 0</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="remind_end"/>
    <bpmn:userTask id="review" name="审核"/>
    <bpmn:exclusiveGateway id="decide" name="通过？" default="f_ok"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:serviceTask id="notify" name="通知">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="http/PostRequest" resultVariable="resp">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="url" type="str" value="'https://example.invalid/a?b=1&amp;c=2'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:scriptTask id="archive" name="归档">
      <bpmn:script><![CDATA[if len(items) < 3 and "<tag>" != "&":
    archived = True]]></bpmn:script>
    </bpmn:scriptTask>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="end" name="结束"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="submit"/>
    <bpmn:sequenceFlow id="f2" sourceRef="submit" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="decide"/>
    <bpmn:sequenceFlow id="f_back" name="退回" sourceRef="decide" targetRef="submit">
      <bpmn:conditionExpression
        xsi:type="bpmn:tFormalExpression">approved == False and round_no &lt; 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_ok" sourceRef="decide" targetRef="split"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="notify"/>
    <bpmn:sequenceFlow id="f5" sourceRef="split" targetRef="archive"/>
    <bpmn:sequenceFlow id="f6" sourceRef="notify" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="archive" targetRef="join"/>
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="end"/>
    <bpmn:sequenceFlow id="f9" sourceRef="remind_timer" targetRef="remind"/>
    <bpmn:sequenceFlow id="f10" sourceRef="remind" targetRef="remind_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# Runnable without user tasks: loop, expanded sub-process, call activity, parallel split/join.
RUNNABLE = HEAD + """
  <bpmn:process id="main_proc" name="主流程" isExecutable="true">
    <bpmn:startEvent id="m_start"/>
    <bpmn:scriptTask id="init"><bpmn:script>counter = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="inc"><bpmn:script>counter += 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="check" default="m_exit"/>
    <bpmn:subProcess id="sub" name="子流程">
      <bpmn:startEvent id="s_start"/>
      <bpmn:scriptTask id="s_work">
        <bpmn:script><![CDATA[inside = counter if counter < 10 else -1]]></bpmn:script>
      </bpmn:scriptTask>
      <bpmn:endEvent id="s_end"/>
      <bpmn:sequenceFlow id="s_f1" sourceRef="s_start" targetRef="s_work"/>
      <bpmn:sequenceFlow id="s_f2" sourceRef="s_work" targetRef="s_end"/>
    </bpmn:subProcess>
    <bpmn:callActivity id="call" name="调用子过程" calledElement="child_proc"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:scriptTask id="pa"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="pb"><bpmn:script>b = 2</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="merge"/>
    <bpmn:endEvent id="m_end"/>
    <bpmn:sequenceFlow id="m_f1" sourceRef="m_start" targetRef="init"/>
    <bpmn:sequenceFlow id="m_f2" sourceRef="init" targetRef="inc"/>
    <bpmn:sequenceFlow id="m_f3" sourceRef="inc" targetRef="check"/>
    <bpmn:sequenceFlow id="m_loop" sourceRef="check" targetRef="inc">
      <bpmn:conditionExpression
        xsi:type="bpmn:tFormalExpression"><![CDATA[counter < 3]]></bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="m_exit" sourceRef="check" targetRef="sub"/>
    <bpmn:sequenceFlow id="m_f4" sourceRef="sub" targetRef="call"/>
    <bpmn:sequenceFlow id="m_f5" sourceRef="call" targetRef="fork"/>
    <bpmn:sequenceFlow id="m_f6" sourceRef="fork" targetRef="pa"/>
    <bpmn:sequenceFlow id="m_f7" sourceRef="fork" targetRef="pb"/>
    <bpmn:sequenceFlow id="m_f8" sourceRef="pa" targetRef="merge"/>
    <bpmn:sequenceFlow id="m_f9" sourceRef="pb" targetRef="merge"/>
    <bpmn:sequenceFlow id="m_f10" sourceRef="merge" targetRef="m_end"/>
  </bpmn:process>
  <bpmn:process id="child_proc" name="子过程" isExecutable="true">
    <bpmn:startEvent id="c_start"/>
    <bpmn:scriptTask id="c_work"><bpmn:script>child_done = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="c_end"/>
    <bpmn:sequenceFlow id="c_f1" sourceRef="c_start" targetRef="c_work"/>
    <bpmn:sequenceFlow id="c_f2" sourceRef="c_work" targetRef="c_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

# Two laned processes in one file: one collaboration, one participant each, a stale diagram to drop.
TWO_POOLS = HEAD.replace(
    "xmlns:xsi=", 'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:xsi='
) + """
  <!-- hand-written -->
  <bpmn:process id="p_one" name="甲" isExecutable="true">
    <bpmn:laneSet id="ls1">
      <bpmn:lane id="l1a" name="A"><bpmn:flowNodeRef>one_start</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l1b" name="B"><bpmn:flowNodeRef>one_end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="one_start"/>
    <bpmn:endEvent id="one_end"/>
    <bpmn:sequenceFlow id="one_f" sourceRef="one_start" targetRef="one_end"/>
  </bpmn:process>
  <bpmn:process id="p_two" isExecutable="true">
    <bpmn:laneSet id="ls2">
      <bpmn:lane id="l2a" name="C"><bpmn:flowNodeRef>two_start</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="two_start"/>
    <bpmn:endEvent id="two_end"/>
    <bpmn:sequenceFlow id="two_f" sourceRef="two_start" targetRef="two_end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Old"><bpmndi:BPMNPlane id="OldPlane" bpmnElement="p_one">
    <bpmndi:BPMNShape id="stale_di" bpmnElement="one_start">
      <dc:Bounds x="1" y="1" width="1" height="1"/>
    </bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

DIAGRAMS = {"lanes": LANES, "runnable": RUNNABLE, "two_pools": TWO_POOLS}
FLOW_NODE_TAGS = (
    "startEvent", "endEvent", "userTask", "serviceTask", "scriptTask", "callActivity", "subProcess",
    "exclusiveGateway", "parallelGateway", "boundaryEvent",
)


def _out(name: str) -> bytes:
    return layout(DIAGRAMS[name].encode())


def _root(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def _bounds(root: etree._Element) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        out[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return out


def _inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def _spec_parser(xml: bytes) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml)
    return parser


@pytest.mark.parametrize("name", DIAGRAMS)
def test_every_flow_node_and_sequence_flow_drawn_exactly_once(name: str) -> None:
    root = _root(_out(name))
    node_ids = [n.get("id") for tag in FLOW_NODE_TAGS for n in root.iterfind(f".//bpmn:{tag}", NS)]
    flow_ids = [f.get("id") for f in root.iterfind(".//bpmn:sequenceFlow", NS)]
    shapes = [s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)]
    edges = [e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)]
    assert node_ids and flow_ids
    assert all(shapes.count(n) == 1 for n in node_ids)
    assert all(edges.count(f) == 1 for f in flow_ids)
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("di:waypoint", NS)) >= 2
    assert b"stale_di" not in _out(name)


def test_lanes_are_drawn_in_a_pool_with_every_node_inside_its_lane() -> None:
    root = _root(_out("lanes"))
    collab = root.find("bpmn:collaboration", NS)
    assert collab is not None and collab.getnext() is root.find("bpmn:process", NS)
    participant = collab.find("bpmn:participant", NS)
    assert participant.attrib == {"id": "Participant_rectify", "name": "巡察整改", "processRef": "rectify"}
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == collab.get("id")
    assert len(root.findall("bpmndi:BPMNDiagram", NS)) == 1
    bounds = _bounds(root)
    pool = bounds["Participant_rectify"]
    for shape in plane.iterfind("bpmndi:BPMNShape", NS):
        if shape.get("bpmnElement") in ("Participant_rectify", "Lane_unit", "Lane_office"):
            assert shape.get("isHorizontal") == "true"
    for lane in root.iterfind(".//bpmn:lane", NS):
        lane_box = bounds[lane.get("id")]
        assert _inside(lane_box, pool) and lane_box[0] == pool[0] + 30
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert _inside(bounds[ref.text], lane_box), ref.text
    unit, office = bounds["Lane_unit"], bounds["Lane_office"]
    assert unit[1] + unit[3] <= office[1] and unit[3] >= 140


@pytest.mark.parametrize("name", DIAGRAMS)
def test_node_shapes_do_not_overlap(name: str) -> None:
    root = _root(_out(name))
    bounds = _bounds(root)
    nodes = {n.get("id"): n for tag in FLOW_NODE_TAGS for n in root.iterfind(f".//bpmn:{tag}", NS)}

    def related(a: str, b: str) -> bool:  # a boundary event sits on its host; sub-process holds children
        na, nb = nodes[a], nodes[b]
        return (na.get("attachedToRef") == b or nb.get("attachedToRef") == a
                or nb in na.iterancestors() or na in nb.iterancestors())

    planes = {s.get("bpmnElement"): s.getparent() for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    for a, b in itertools.combinations(nodes, 2):
        if related(a, b) or planes[a] is not planes[b]:  # separate diagrams may reuse coordinates
            continue
        (ax, ay, aw, ah), (bx, by, bw, bh) = bounds[a], bounds[b]
        assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)


def test_boundary_event_sits_on_host_bottom_and_subprocess_encloses_children() -> None:
    bounds = _bounds(_root(_out("lanes")))
    hx, hy, hw, hh = bounds["submit"]
    ex, ey, ew, eh = bounds["remind_timer"]
    assert ey + eh / 2 == hy + hh and hx <= ex and ex + ew <= hx + hw
    root = _root(_out("runnable"))
    bounds = _bounds(root)
    sub = root.find(".//bpmndi:BPMNShape[@bpmnElement='sub']", NS)
    assert sub.get("isExpanded") == "true"
    for child in ("s_start", "s_work", "s_end"):
        assert _inside(bounds[child], bounds["sub"])
    assert len(root.findall("bpmndi:BPMNDiagram", NS)) == 2  # one per process, no lanes, no pools


def _waypoints(root: etree._Element, flow: str) -> list[tuple[float, float]]:
    edge = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow}']", NS)
    return [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]


def test_edges_are_orthogonal_and_loops_run_below() -> None:
    for name in DIAGRAMS:
        root = _root(_out(name))
        for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
            pts = _waypoints(root, edge.get("bpmnElement"))
            assert all(a[0] == b[0] or a[1] == b[1] for a, b in itertools.pairwise(pts))
    root = _root(_out("runnable"))
    bounds = _bounds(root)
    loop = _waypoints(root, "m_loop")
    lowest = max(y + h for x, y, w, h in (bounds["inc"], bounds["check"]))
    assert loop[0][1] == bounds["check"][1] + bounds["check"][3] and min(p[1] for p in loop[1:3]) > lowest
    fwd = _waypoints(root, "m_f2")  # right middle of the source to left middle of the target
    sx, sy, sw, sh = bounds["init"]
    tx, ty, tw, th = bounds["inc"]
    assert fwd[0] == (sx + sw, sy + sh // 2) and fwd[-1] == (tx, ty + th // 2)
    root = _root(_out("lanes"))
    ex, ey, ew, eh = _bounds(root)["remind_timer"]
    assert _waypoints(root, "f9")[0] == (ex + ew // 2, ey + eh)  # boundary flows leave downwards


def test_two_laned_processes_share_one_collaboration() -> None:
    out = _out("two_pools")
    root = _root(out)
    collabs = root.findall("bpmn:collaboration", NS)
    assert len(collabs) == 1
    assert [p.get("processRef") for p in collabs[0].iterfind("bpmn:participant", NS)] == ["p_one", "p_two"]
    assert collabs[0].find("bpmn:participant[@processRef='p_two']", NS).get("name") is None
    assert len(root.findall("bpmndi:BPMNDiagram", NS)) == 1
    bounds = _bounds(root)
    one, two = bounds["Participant_p_one"], bounds["Participant_p_two"]
    assert one[1] + one[3] < two[1]
    assert "two_end" not in [r.text for r in root.iterfind(".//bpmn:flowNodeRef", NS)]
    assert _inside(bounds["two_end"], two)  # outside every lane, still inside the pool
    assert b"<!-- hand-written -->" in out
    assert b"ns0:" not in out and b"ns1:" not in out
    for pid in ("p_one", "p_two"):
        _spec_parser(out).get_spec(pid)


def test_existing_collaboration_is_reused_with_message_flows() -> None:
    xml = LANES.replace(
        '  <bpmn:process id="rectify"',
        '  <bpmn:collaboration id="Collab_x">\n'
        '    <bpmn:participant id="Pool_rectify" name="巡察" processRef="rectify"/>\n'
        '    <bpmn:participant id="Pool_ext" name="外部系统"/>\n'
        '    <bpmn:messageFlow id="mf1" sourceRef="notify" targetRef="Pool_ext"/>\n'
        '  </bpmn:collaboration>\n  <bpmn:process id="rectify"',
    ).encode()
    out = layout(xml)
    root = _root(out)
    assert [c.get("id") for c in root.iterfind("bpmn:collaboration", NS)] == ["Collab_x"]
    assert len(root.findall(".//bpmn:participant", NS)) == 2
    bounds = _bounds(root)
    assert {"Pool_rectify", "Pool_ext", "mf1"} <= set(bounds) | {
        e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert layout(out) == out
    _spec_parser(out).get_spec("rectify")


@pytest.mark.parametrize("name", DIAGRAMS)
def test_layout_is_idempotent_and_pretty_utf8(name: str) -> None:
    once = _out(name)
    assert layout(once) == once
    assert once.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions')
    assert b"\n    <bpmn:startEvent" in once or b"\n    <bpmn:laneSet" in once


def test_chinese_names_stay_characters() -> None:
    out = _out("lanes")
    assert "提交整改报告".encode() in out and "巡察整改".encode() in out
    assert b"&#" not in out


def _task_details(parser: SpiffBpmnParser, process_id: str) -> dict[str, dict[str, object]]:
    spec = parser.get_spec(process_id)
    keys = ("extensions", "script", "prescript", "postscript", "operation_name", "operation_params",
            "result_variable", "name", "bpmn_name", "lane", "cancel_activity")
    details = {}
    for name, task in spec.task_specs.items():
        details[name] = {k: repr(getattr(task, k, None)) for k in keys}
        details[name]["outputs"] = repr(sorted(t.name for t in task.outputs))
        details[name]["conditions"] = repr(sorted(
            (name, getattr(c, "args", c)) for c, name in getattr(task, "cond_task_specs", [])))
    return details


def test_extension_elements_and_scripts_survive() -> None:
    out = _out("lanes")
    assert b"<![CDATA[if len(items) < 3 and \"<tag>\" != \"&\":" in out
    before, after = _spec_parser(LANES.encode()), _spec_parser(out)
    assert _task_details(before, "rectify") == _task_details(after, "rectify")
    spec = after.get_spec("rectify")
    assert spec.task_specs["submit"].extensions["properties"]["deadline"] == "P30D"
    assert spec.task_specs["submit"].prescript.startswith("if round_no < 3:")
    assert spec.task_specs["notify"].operation_name == "http/PostRequest"
    assert "&c=2" in repr(spec.task_specs["notify"].operation_params)
    assert spec.task_specs["archive"].script.startswith('if len(items) < 3 and "<tag>"')
    assert spec.task_specs["submit"].lane == "被巡察单位"


def test_runnable_diagram_still_executes() -> None:
    out = _out("runnable")
    before = _task_details(_spec_parser(RUNNABLE.encode()), "main_proc")
    assert before == _task_details(_spec_parser(out), "main_proc")
    parser = _spec_parser(out)
    workflow = BpmnWorkflow(parser.get_spec("main_proc"), parser.get_subprocess_specs("main_proc"))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    data = workflow.data
    assert data["counter"] == 3 and data["child_done"] is True and data["a"] == 1 and data["b"] == 2


def test_cli_rewrites_in_place_and_check_reports_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh, stale = tmp_path / "fresh.bpmn", tmp_path / "stale.bpmn"
    fresh.write_bytes(_out("runnable"))
    stale.write_text(LANES, encoding="utf-8")
    assert main(["--check", str(fresh), str(stale)]) == 1
    assert str(stale) in capsys.readouterr().out
    assert stale.read_text(encoding="utf-8") == LANES  # --check never writes
    assert main([str(fresh), str(stale)]) == 0
    assert stale.read_bytes() == _out("lanes")
    assert main(["--check", str(fresh), str(stale)]) == 0
