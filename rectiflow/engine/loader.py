"""Parse BPMN/DMN sources into executable specs plus the metadata rectiflow needs.

Every problem becomes a *finding* ``{file, element, problem}``; all findings of a bundle are
collected before raising, so a designer sees everything at once instead of one error per deploy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from rectiflow.engine.specs import RectiflowParser
from rectiflow.engine.xmlsafe import UnsafeXml, parse_xml
from rectiflow.errors import DefinitionError
from rectiflow.i18n import N_

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}
FLOW_NODES = (
    "startEvent", "endEvent", "task", "userTask", "serviceTask", "scriptTask", "manualTask",
    "businessRuleTask", "sendTask", "receiveTask", "callActivity", "subProcess", "exclusiveGateway",
    "parallelGateway", "inclusiveGateway", "eventBasedGateway", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent", "transaction",
)
UNSUPPORTED = ("complexGateway", "adHocSubProcess")


@dataclass(frozen=True)
class UserTaskMeta:
    process_id: str
    element_id: str
    name: str
    role: str | None
    form_key: str | None
    due_expr: str | None = None
    scope_expr: str | None = None
    title_expr: str | None = None
    prefill_expr: str | None = None  # a dict of initial form values (e.g. a report drafted from the ledger)


@dataclass(frozen=True)
class ServiceTaskMeta:
    process_id: str
    element_id: str
    name: str
    operation: str
    params: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Snippet:
    """A piece of Python text in a diagram, checked by the restricted evaluator at deploy time."""

    file: str
    element_id: str
    kind: str  # "expression" or "script"
    source: str


@dataclass
class ParsedProcess:
    process_id: str
    name: str
    file: str
    spec: Any
    subprocess_specs: dict[str, Any]
    called: set[str] = field(default_factory=set)


@dataclass
class ParsedBundle:
    processes: dict[str, ParsedProcess]
    user_tasks: dict[tuple[str, str], UserTaskMeta]
    service_tasks: dict[tuple[str, str], ServiceTaskMeta]
    snippets: list[Snippet]
    element_names: dict[tuple[str, str], str]


def _finding(file: str, element: str, problem: str) -> dict[str, str]:
    return {"file": file, "element": element, "problem": problem}


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if "}" in tag else tag


def parse_bundle(bpmn: Mapping[str, bytes], dmn: Mapping[str, bytes] | None = None) -> ParsedBundle:
    """Parse every executable process in ``bpmn`` (file name → bytes), with the DMN files given."""
    findings: list[dict[str, str]] = []
    parser = RectiflowParser(validator=VALIDATOR)
    roots: dict[str, etree._Element] = {}
    for name, source in sorted(bpmn.items()):
        root = _safe_root(name, source, findings)
        if root is None:
            continue
        roots[name] = root
        findings.extend(structural_findings(name, root))
        try:
            parser.add_bpmn_xml(root, filename=name)
        except ValidationException as exc:
            findings.append(_finding(name, exc.id or exc.tag, _message(exc)))
    for name, source in sorted((dmn or {}).items()):
        root = _safe_root(name, source, findings)
        if root is None:
            continue
        tag = etree.QName(root)
        if tag.localname != "definitions" or tag.namespace not in DMN_SCHEMAS:
            # Without the DMN namespace the library fails with an XPath error (a 500 in the designer).
            findings.append(_finding(name, "", "not a DMN file: the root element must be <definitions> in the "
                                     f"DMN namespace (xmlns=\"{NS['dmn']}\")"))
            continue
        try:
            parser.add_dmn_xml(root, filename=name)
        except ValidationException as exc:
            findings.append(_finding(name, exc.id or exc.tag, _message(exc)))
        except (etree.LxmlError, ValueError, KeyError, AttributeError) as exc:  # the library's own parsing
            findings.append(_finding(name, "", f"the DMN file cannot be read: {type(exc).__name__}: {exc}"))
    if findings:
        raise DefinitionError(N_("The diagrams cannot be deployed."), findings)

    processes: dict[str, ParsedProcess] = {}
    for process_id in parser.get_process_ids():
        p = parser.get_process_parser(process_id)
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except ValidationException as exc:
            findings.append(_finding(exc.file_name or p.filename or "", exc.id or process_id, _message(exc)))
            continue
        except Exception as exc:  # the library raises plain exceptions for some DMN/expression errors
            findings.append(_finding(p.filename or "", process_id, f"{type(exc).__name__}: {exc}"))
            continue
        processes[process_id] = ParsedProcess(
            process_id, p.get_name() or process_id, p.filename or "", spec, subprocess_specs,
            called=set(subprocess_specs),
        )
    if not processes and not findings:
        findings.append(_finding(", ".join(sorted(bpmn)), "", "no executable process (isExecutable=\"true\")"))
    if findings:
        raise DefinitionError(N_("The diagrams cannot be deployed."), findings)

    bundle = ParsedBundle(processes, {}, {}, [], {})
    for name, root in roots.items():
        _collect_metadata(name, root, bundle)
    return bundle


def _message(exc: ValidationException) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if exc.line_number:
        text += f" (line {exc.line_number})"
    return text


def _safe_root(name: str, source: bytes, findings: list[dict[str, str]]) -> etree._Element | None:
    try:
        return parse_xml(source, name)
    except UnsafeXml as exc:
        findings.append(_finding(name, "", str(exc).split(": ", 1)[-1]))
    except etree.XMLSyntaxError as exc:
        findings.append(_finding(name, "", f"malformed XML: {exc.msg} (line {exc.lineno})"))
    return None


def structural_findings(file: str, root: etree._Element) -> list[dict[str, str]]:
    """Checks the library gets wrong or reports misleadingly: dangling flows, unreachable nodes,
    unsupported elements, missing diagram interchange."""
    out: list[dict[str, str]] = []
    drawn = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNShape", NS)}
    drawn |= {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    for event in root.iterfind(".//bpmn:conditionalEventDefinition", NS):
        condition = event.find("bpmn:condition", NS)
        if condition is None or not (condition.text or "").strip():
            owner = event.getparent()
            out.append(_finding(file, owner.get("id", "") if owner is not None else "",
                                "the conditional event has no condition (bpmn:condition)"))
    for process in root.iterfind(".//bpmn:process", NS):
        if process.get("isExecutable") != "true":
            continue
        nested = [*process.iterfind(".//bpmn:subProcess", NS), *process.iterfind(".//bpmn:transaction", NS)]
        for scope in [process, *nested]:
            out.extend(_scope_findings(file, scope, drawn))
    return out


def _scope_findings(file: str, scope: etree._Element, drawn: set[str | None]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    nodes = {}
    for child in scope:
        if not isinstance(child.tag, str):
            continue
        tag = _local(child.tag)
        if tag in UNSUPPORTED:
            out.append(_finding(file, child.get("id", ""), f"bpmn:{tag} is not supported by the runtime"))
        if tag in FLOW_NODES:
            nodes[child.get("id")] = tag
    incoming: dict[str, int] = dict.fromkeys(nodes, 0)
    for flow in scope.iterfind("bpmn:sequenceFlow", NS):
        fid = flow.get("id", "")
        for end in ("sourceRef", "targetRef"):
            ref = flow.get(end)
            if ref not in nodes:
                out.append(_finding(file, fid, f"sequence flow {end} points at a missing element '{ref}'"))
        if flow.get("targetRef") in incoming:
            incoming[flow.get("targetRef", "")] += 1
        if fid not in drawn:
            out.append(_finding(file, fid, "no diagram interchange (BPMNEdge) for this flow"))
    is_event_sub = scope.get("triggeredByEvent") == "true"
    event_subprocesses = {sp.get("id") for sp in scope.iterfind("bpmn:subProcess[@triggeredByEvent='true']", NS)}
    for node_id, tag in nodes.items():
        if node_id not in drawn:
            out.append(_finding(file, node_id or "", "no diagram interchange (BPMNShape) for this element"))
        if tag in ("startEvent", "boundaryEvent") or (is_event_sub and tag == "startEvent"):
            continue
        if tag == "subProcess" and node_id in event_subprocesses:
            continue
        if incoming.get(node_id, 0) == 0:
            out.append(_finding(file, node_id or "", "unreachable: no incoming sequence flow"))
    return out


def _lane_roles(process: etree._Element) -> dict[str, str]:
    roles: dict[str, str] = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        role = (lane.get("id") or "").split("__", 1)[0]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            roles[(ref.text or "").strip()] = role
    return roles


def _props(el: etree._Element) -> dict[str, str]:
    return {
        p.get("name", ""): p.get("value", "")
        for p in el.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    }


def _collect_metadata(file: str, root: etree._Element, bundle: ParsedBundle) -> None:
    for process in root.iterfind(".//bpmn:process", NS):
        pid = process.get("id", "")
        roles = _lane_roles(process)
        for el in process.iter():
            if not isinstance(el.tag, str):
                continue
            tag, eid = _local(el.tag), el.get("id", "")
            if el.get("name"):
                bundle.element_names[(pid, eid)] = el.get("name", "")
            _collect_snippets(file, el, tag, eid, bundle.snippets)
            if tag == "userTask":
                props = _props(el)
                bundle.user_tasks[(pid, eid)] = UserTaskMeta(
                    pid, eid, el.get("name") or eid, roles.get(eid), props.get("formKey") or None,
                    props.get("dueDate") or None, props.get("unitScope") or None, props.get("title") or None,
                    props.get("prefill") or None,
                )
            elif tag == "serviceTask":
                op = el.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
                params = {}
                if op is not None:
                    for prm in op.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS):
                        params[prm.get("id", "")] = {"type": prm.get("type", "any"), "value": prm.get("value", "")}
                bundle.service_tasks[(pid, eid)] = ServiceTaskMeta(
                    pid, eid, el.get("name") or eid, op.get("id", "") if op is not None else "", params
                )


# `condition` is a conditional event's: unchecked, a bad one failed only when the event was reached.
_EXPRESSION_TAGS = {"conditionExpression", "timeDate", "timeDuration", "timeCycle", "loopCardinality",
                    "completionCondition", "condition"}


_SCRIPT_TAGS = {"script", "preScript", "postScript"}
_EXPRESSION_PROPS = {"dueDate", "unitScope", "title", "prefill"}


def _collect_snippets(file: str, el: etree._Element, tag: str, eid: str, out: list[Snippet]) -> None:
    if tag in _EXPRESSION_TAGS and (el.text or "").strip():
        owner = el.getparent()
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        out.append(Snippet(file, owner.get("id", "") if owner is not None else "", "expression", el.text.strip()))
    elif tag in _SCRIPT_TAGS and (el.text or "").strip():
        out.append(Snippet(file, _owner_id(el), "script", el.text))
    elif el.get("value") and (tag == "parameter" or (tag == "property" and el.get("name") in _EXPRESSION_PROPS)):
        out.append(Snippet(file, _owner_id(el), "expression", el.get("value", "")))


def _owner_id(el: etree._Element) -> str:
    owner = el.getparent()
    while owner is not None and not owner.get("id"):
        owner = owner.getparent()
    return owner.get("id", "") if owner is not None else ""
