"""Designer input that never 5xxs: each malformed request is a 422 naming what is wrong (issue 15).

Before the fix ``files``/``forms`` given as a list or a string, a body of ``1e999`` (JSON's way to
say infinity), a DMN file without its namespace and a conditional event's condition (unchecked
until the event was reached) gave 500s or deployed what could never run."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.designer.designer_diagrams import form_bytes, source
from tests.web.conftest import csrf_token, login

FORMS = {"dz_form": form_bytes().decode()}
GOOD = source()
ENDPOINTS = ["/designer/validate", "/designer/diff", "/designer/deploy"]


@pytest.fixture
def designer(client: Any, org: dict[str, Any]) -> Any:
    login(client, "admin")
    token = csrf_token(client, "/")

    def post(path: str, body: Any = None, raw: str | None = None) -> Any:
        headers = {"X-CSRFToken": token}
        if raw is not None:
            return client.post(path, data=raw, content_type="application/json", headers=headers)
        return client.post(path, json=body, headers=headers)

    return post


def _problems(resp: Any) -> str:
    body = resp.get_json()
    return " | ".join(f"{f['file']} {f['element']} {f['problem']}" for f in body["findings"])


@pytest.mark.parametrize(("key", "value", "named"), [
    ("files", [GOOD], "'files' must be an object {name: xml}, not an array"),
    ("files", GOOD, "'files' must be an object {name: xml}, not a string"),
    ("forms", ["dz_form"], "'forms' must be an object {key: form}, not an array"),
    ("forms", "dz_form", "'forms' must be an object {key: form}, not a string"),
    ("forms", {"dz_form": [1, 2]}, "a form must be a JSON object or its text, not an array"),
])
def test_files_and_forms_must_be_objects(designer: Any, key: str, value: Any, named: str) -> None:
    body = {"files": {"dz.bpmn": GOOD}, "forms": FORMS, "note": "n", key: value}
    for path in ENDPOINTS:
        resp = designer(path, body)
        assert resp.status_code == 422, (path, resp.get_data(as_text=True)[:300])
        assert named in _problems(resp), path


@pytest.mark.parametrize("raw", ["1e999", "[1, 2]", '"text"', "null", "{"])
def test_a_body_that_is_not_an_object_is_named(designer: Any, raw: str) -> None:
    for path in [*ENDPOINTS, "/designer/forms/preview"]:
        resp = designer(path, raw=raw)
        assert resp.status_code == 422, (path, resp.get_data(as_text=True)[:300])
        assert resp.get_json()["ok"] is False
        problems = _problems(resp)
        assert "not JSON" in problems or "expected {files" in problems, (path, problems)


def test_a_number_json_cannot_hold_inside_a_form_is_named(designer: Any) -> None:
    raw = '{"files": {}, "forms": {"dz_form": {"schema": {"maximum": 1e999}}}, "note": "n"}'
    resp = designer("/designer/validate", raw=raw)
    assert resp.status_code == 422
    assert "forms/dz_form.json" in _problems(resp) and "1e999" in _problems(resp)


DMN_NO_NAMESPACE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions id="d" name="d"><decision id="grade" name="grade"><decisionTable id="t">
<input id="i" label="in"><inputExpression id="ie" typeRef="string"><text>value</text></inputExpression></input>
<output id="o" label="r" name="result" typeRef="string"/></decisionTable></decision></definitions>"""


@pytest.mark.parametrize("dmn", [DMN_NO_NAMESPACE,
                                 DMN_NO_NAMESPACE.replace('<definitions ', '<definitions xmlns="urn:not-dmn" ')])
def test_a_dmn_file_without_the_dmn_namespace_is_a_finding(designer: Any, dmn: str) -> None:
    for path in ENDPOINTS:
        resp = designer(path, {"files": {"dz.bpmn": GOOD, "grade.dmn": dmn}, "forms": FORMS, "note": "n"})
        body = resp.get_json()
        assert resp.status_code == (422 if path.endswith("deploy") else 200) and body["ok"] is False, (path, body)
        assert "grade.dmn  not a DMN file" in _problems(resp), path


def _conditional(condition: str) -> str:
    event = (f'<bpmn:conditionalEventDefinition id="cd"><bpmn:condition xsi:type="bpmn:tFormalExpression">'
             f'{condition}</bpmn:condition></bpmn:conditionalEventDefinition>')
    return re.sub(r'<bpmn:timerEventDefinition id="td">.*?</bpmn:timerEventDefinition>', event, GOOD, flags=re.S)


@pytest.mark.parametrize(("condition", "named"), [
    ("().__class__", "'__class__'"),
    ("decision ==", "syntax error"),
    ("sum(1 for i in range(1000) for j in range(1000))", "steps"),
    ("", "the conditional event has no condition"),
])
def test_conditions_of_conditional_events_are_checked_at_deploy(designer: Any, condition: str, named: str) -> None:
    resp = designer("/designer/validate", {"files": {"dz.bpmn": _conditional(condition)}, "forms": FORMS})
    body = resp.get_json()
    assert body["ok"] is False, body
    assert any(f["element"] == "wait" and named in f["problem"] for f in body["findings"]), body["findings"]
    refused = designer("/designer/deploy", {"files": {"dz.bpmn": _conditional(condition)}, "forms": FORMS,
                                            "note": "条件事件"})
    assert refused.status_code == 422


def test_a_good_conditional_event_deploys(designer: Any) -> None:
    resp = designer("/designer/deploy", {"files": {"dz.bpmn": _conditional("decision == 'ok'")}, "forms": FORMS,
                                         "note": "条件事件"})
    assert resp.status_code == 200, resp.get_json()


def test_a_title_that_would_run_a_million_steps_is_a_finding(designer: Any) -> None:
    heavy = GOOD.replace('<spiffworkflow:property name="formKey" value="dz_form"/>',
                         '<spiffworkflow:property name="formKey" value="dz_form"/><spiffworkflow:property name="title" '
                         'value="str(sum(1 for i in range(1000) for j in range(1000)))"/>')
    assert heavy != GOOD
    resp = designer("/designer/validate", {"files": {"dz.bpmn": heavy}, "forms": FORMS})
    body = resp.get_json()
    assert body["ok"] is False
    assert any(f["element"] == "review" and "an expression may run 10000" in f["problem"] for f in body["findings"])
