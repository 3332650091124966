"""Small diagrams for the designer tests: one valid process and ways to break it."""

from __future__ import annotations

import json

from rectiflow.bpmn_layout import layout

FORM = {
    "schema": {
        "type": "object", "additionalProperties": False,
        "required": ["decision"],
        "properties": {"decision": {"type": "string", "title": "决定", "enum": ["ok", "return"]}},
    },
    "ui": {},
}

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_dz" targetNamespace="http://rectiflow.local/t">'
)

TASK_REVIEW = """<bpmn:userTask id="review" name="审核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="{form}"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"""

TASK_SVC = """<bpmn:serviceTask id="svc" name="登记">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="{op}" resultVariable="echoed">
        <spiffworkflow:parameters>{params}</spiffworkflow:parameters>
      </spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"""


def source(
    *,
    form: str = "dz_form",
    op: str = "test.echo",
    params: str = '<spiffworkflow:parameter id="value" type="any" value="decision"/>',
    lane: bool = True,
    condition: str = "decision == 'ok'",
    timer: str = "'P3D'",
    executable: bool = True,
    extra_nodes: str = "",
    extra_flows: str = "",
    second_task: bool = False,
    name: str = "审核",
) -> str:
    lane_xml = ""
    if lane:
        refs = "".join(
            f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>"
            for n in [
                "start",
                "review",
                *(["review2"] if second_task else []),
                "wait",
                "svc",
                "gw",
                "end_ok",
                "end_back",
            ]
        )
        lane_el = f'<bpmn:lane id="inspection_office__dz" name="巡察办">{refs}</bpmn:lane>'
        lane_xml = f'<bpmn:laneSet id="ls">{lane_el}</bpmn:laneSet>'
    review2 = ""
    flows_mid = '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="wait"/>'
    if second_task:
        review2 = TASK_REVIEW.replace('id="review" name="审核"', 'id="review2" name="复核"').format(form=form)
        flows_mid = (
            '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="review2"/>'
            '<bpmn:sequenceFlow id="f2b" sourceRef="review2" targetRef="wait"/>'
        )
    body = f"""
  <bpmn:process id="dz" name="设计器测试" isExecutable="{"true" if executable else "false"}">
    {lane_xml}
    <bpmn:startEvent id="start"/>
    {TASK_REVIEW.format(form=form).replace('name="审核"', f'name="{name}"')}
    {review2}
    <bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition id="td">
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{timer}</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    {TASK_SVC.format(op=op, params=params)}
    <bpmn:exclusiveGateway id="gw" default="back"/>
    <bpmn:endEvent id="end_ok"/>
    <bpmn:endEvent id="end_back"/>
    {extra_nodes}
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    {flows_mid}
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="svc"/>
    <bpmn:sequenceFlow id="f4" sourceRef="svc" targetRef="gw"/>
    <bpmn:sequenceFlow id="ok" sourceRef="gw" targetRef="end_ok">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="back" sourceRef="gw" targetRef="end_back"/>
    {extra_flows}
  </bpmn:process>
</bpmn:definitions>
"""
    return layout((HEAD + body).encode()).decode()


def form_bytes() -> bytes:
    return json.dumps(FORM, ensure_ascii=False).encode()
