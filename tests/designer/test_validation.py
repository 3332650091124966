"""Each validation rule of the designer with a diagram that breaks it and the one that passes; the
same checks through POST /designer/validate, with element ids for the canvas markers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from designer_diagrams import form_bytes, source

from rectiflow.engine.xmlsafe import MAX_DIAGRAM_BYTES
from rectiflow.services.designer import editor as svc


def check(rt: Any, xml: str | bytes, forms: dict[str, bytes] | None = None) -> list[dict[str, str]]:
    raw = xml.encode() if isinstance(xml, str) else xml
    sub = svc.Submission(bpmn={"dz.bpmn": raw}, forms={"dz_form": form_bytes()} if forms is None else forms)
    with rt.sessions() as s:
        return svc.check(s, rt, sub)


def inject(xml: str, before: str, snippet: str) -> str:
    assert before in xml
    return xml.replace(before, snippet + before, 1)


def problems_for(findings: list[dict[str, str]], element: str) -> list[str]:
    return [f["problem"] for f in findings if f["element"] == element]


def test_the_base_diagram_passes(rt: Any) -> None:
    assert check(rt, source()) == []


BREAKERS: dict[str, tuple[Any, str, str]] = {
    # rule: (make the breaking xml, element named, problem pattern)
    "user task without lane/role": (lambda: source(lane=False), "review", "not in a lane"),
    "unknown form": (lambda: source(form="no_such_form"), "review", "form 'no_such_form' does not exist"),
    "unregistered operation": (lambda: source(op="nope.nothing"), "svc", "'nope.nothing' is not registered"),
    "missing parameter": (lambda: source(params=""), "svc", "needs parameter 'value'"),
    "bad timer expression": (lambda: source(timer="in 3 days"), "wait", "syntax error"),
    "condition with __import__": (lambda: source(condition="__import__('os').system('x')"), "ok", "__import__"),
    "dangling flow": (
        lambda: inject(
            source(), "</bpmn:process>", '<bpmn:sequenceFlow id="dangling" sourceRef="svc" targetRef="ghost"/>'
        ),
        "dangling",
        "missing element 'ghost'",
    ),
    "unreachable node": (
        lambda: inject(source(), "</bpmn:process>", '<bpmn:manualTask id="island" name="孤岛"/>'),
        "island",
        "unreachable",
    ),
    "missing DI": (
        lambda: re.sub(
            r'<bpmndi:BPMNShape id="[^"]*" bpmnElement="wait".*?</bpmndi:BPMNShape>', "", source(), flags=re.S
        ),
        "wait",
        "diagram interchange",
    ),
}


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_rule_breaks_and_names_the_element(rt: Any, rule: str) -> None:
    make, element, pattern = BREAKERS[rule]
    findings = check(rt, make())
    assert any(re.search(pattern, p) for p in problems_for(findings, element)), findings
    assert all(f["file"] for f in findings), findings


def test_dtd_is_refused(rt: Any) -> None:
    xml = source().replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    )
    findings = check(rt, xml)
    assert findings and findings[0]["file"] == "dz.bpmn" and "DTD" in findings[0]["problem"]
    assert check(rt, source()) == []


def test_oversized_file_is_refused(rt: Any) -> None:
    xml = source().replace("</bpmn:definitions>", "<!--" + "x" * MAX_DIAGRAM_BYTES + "--></bpmn:definitions>")
    findings = check(rt, xml)
    assert findings and "larger than" in findings[0]["problem"] and findings[0]["file"] == "dz.bpmn"


def test_non_executable_process_is_refused(rt: Any) -> None:
    findings = check(rt, source(executable=False))
    assert findings == [
        {"file": "dz.bpmn", "element": "dz", "problem": 'the process is not executable: set isExecutable="true"'}
    ]


def test_malformed_xml_names_the_file(rt: Any) -> None:
    findings = check(rt, source()[:-40])
    assert findings and findings[0]["file"] == "dz.bpmn" and "malformed XML" in findings[0]["problem"]


def test_unsupported_element(rt: Any) -> None:
    xml = inject(source(), "</bpmn:process>", '<bpmn:complexGateway id="cx"/>')
    assert any("not supported" in p for p in problems_for(check(rt, xml), "cx"))


def test_deploy_without_the_forms_is_refused_and_nothing_is_deployed(rt: Any, people: Any) -> None:
    from sqlalchemy import func, select

    from rectiflow.db.runtime import ProcessDefinition
    from rectiflow.errors import DefinitionError

    with rt.sessions() as s:
        with pytest.raises(DefinitionError) as err:
            svc.deploy(s, rt, svc.Submission(bpmn={"dz.bpmn": source().encode()}), actor="designer", note="x")
        s.rollback()
        assert s.scalar(select(func.count(ProcessDefinition.id))) == 0
    assert {
        "file": "dz.bpmn",
        "element": "review",
        "problem": "form 'dz_form' does not exist in forms/",
    } in err.value.findings


def test_bad_form_is_refused_with_its_path(rt: Any) -> None:
    findings = check(
        rt, source(), {"dz_form": b'{"schema": {"type": "object", "properties": {"a": {"type": "bogus"}}}}'}
    )
    assert findings and all(f["file"] == "forms/dz_form.json" for f in findings)


# ------------------------------------------------------------------ through the endpoint


def test_validate_endpoint_returns_findings_with_element_ids(client: Any) -> None:
    from designer_support import login, post_json

    login(client, "designer")
    resp = post_json(
        client,
        "/designer/validate",
        {"files": {"dz.bpmn": source(form="nope")}, "forms": {"dz_form": form_bytes().decode()}},
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["ok"] is False
    assert {"file": "dz.bpmn", "element": "review", "problem": "form 'nope' does not exist in forms/"} in body[
        "findings"
    ]
    ok = post_json(
        client, "/designer/validate", {"files": {"dz.bpmn": source()}, "forms": {"dz_form": form_bytes().decode()}}
    )
    assert ok.get_json() == {"ok": True, "findings": []}


def test_validate_endpoint_never_500s_on_garbage(client: Any) -> None:
    from designer_support import login, token

    login(client, "designer")
    resp = client.post(
        "/designer/validate",
        data=b"not json",
        headers={"X-CSRFToken": token(client, "/"), "Content-Type": "application/json"},
    )
    assert resp.status_code == 422 and resp.get_json()["findings"]


def test_form_preview_renders_or_reports(client: Any) -> None:
    from designer_support import login, post_json

    login(client, "designer")
    good = post_json(client, "/designer/forms/preview", {"key": "dz_form", "form": form_bytes().decode()}).get_json()
    assert good["ok"] and "决定" in good["html"] and 'name="decision"' in good["html"]
    bad = post_json(client, "/designer/forms/preview", {"key": "dz_form", "form": "{broken"})
    assert bad.status_code == 422 and "malformed JSON" in bad.get_json()["findings"][0]["problem"]


def test_import_lays_out_a_diagram_without_di(client: Any) -> None:
    import io

    from designer_support import login, post_form

    login(client, "designer")
    plain = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", source(), flags=re.S)
    resp = post_form(
        client,
        "/designer/import",
        {"file": (io.BytesIO(plain.encode()), "dz.bpmn")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200
    assert "BPMNShape" in resp.get_data(as_text=True)
    bad = post_form(
        client,
        "/designer/import",
        {"file": (io.BytesIO(b"<x><y></x>"), "bad.bpmn")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "bad.bpmn" in bad.get_data(as_text=True)
    dtd = post_form(
        client,
        "/designer/import",
        {"file": (io.BytesIO(b"<!DOCTYPE x><x/>"), "dtd.bpmn")},
        content_type="multipart/form-data",
    )
    assert dtd.status_code == 422 and "DTD" in dtd.get_data(as_text=True)
