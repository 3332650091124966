"""Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis over WSGI).

Every operation the document declares is called with generated arguments, valid and invalid, as a
logged-in user of plant A and as an administrator, against a database holding real instances. The
budget is fixed (a number of examples per operation, derandomized so CI runs the same cases every
time): a failure is reproducible. Failing checks: any 5xx, and a response whose status code the
document does not declare for that operation."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.web.conftest import ready_tasks, start
from webapp import create_app

EXAMPLES = 10  # per operation, generation mode and account: ~20 operations on each database


def _token(client: Any, username: str) -> str:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": "passw0rd!"})
    assert resp.status_code == 200, resp.get_json()
    return str(resp.get_json()["token"])


@pytest.fixture
def fuzz_target(rt: Any, org: Any, deployed: Any) -> Any:
    a_iid = start(rt, org)
    b_iid = start(rt, org, unit="plant_b")
    app = create_app(rt, testing=True)
    client = app.test_client()
    tokens = {name: _token(client, name) for name in ("a_rect", "admin")}
    # Real identifiers, so that generated bodies and queries also reach the code behind the lookup:
    # plant A's (in scope for a_rect) and plant B's (out of scope: never a 2xx for a_rect).
    real = {"task_id": [t.id for t in ready_tasks(rt, a_iid) + ready_tasks(rt, b_iid)],
            "instance_id": [a_iid, b_iid]}
    return app, tokens, real


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_the_document_declares_the_operations(fuzz_target: Any) -> None:
    """The fuzzing below is only as wide as the document: it must keep covering the API."""
    app = fuzz_target[0]
    labels = {op.label for op in _operations(app)}
    assert {"POST /api/v1/tasks/{task_id}/complete", "GET /api/v1/problems", "POST /api/v1/auth/token",
            "GET /api/v1/rounds/{round_id}", "POST /api/v1/clock/advance"} <= labels, labels


def _strategies(operations: list[Any], mode: GenerationMode, real: dict[str, list[Any]]) -> list[Any]:
    """Each operation as generated; those with an identifier in the path once more with each real one."""
    out = []
    for op in operations:
        out.append((op, op.as_strategy(generation_mode=mode)))
        names = [p.name for p in op.path_parameters]
        if mode is GenerationMode.POSITIVE and names and all(n in real for n in names):
            for i in range(max(len(real[n]) for n in names)):
                fixed = {n: real[n][i % len(real[n])] for n in names}
                out.append((op, op.as_strategy(generation_mode=mode, path_parameters=fixed)))
    return out


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_the_api_never_fails_on_generated_input(fuzz_target: Any, mode: GenerationMode) -> None:
    app, tokens, real = fuzz_target
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    for op, strategy in _strategies(_operations(app), mode, real):
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        @given(case=strategy)
        def call(case: Any) -> None:
            for account in ("a_rect", "admin"):  # a unit's office and the group's administrator
                headers = dict(case.headers or {})
                if not case.path.endswith("/auth/token"):
                    headers["Authorization"] = f"Bearer {tokens[account]}"
                response = case.call(headers=headers)
                statuses.setdefault(op.label, set()).add(response.status_code)
                case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

        try:
            call()
        except Exception as exc:  # noqa: BLE001 - collect every operation's finding, then fail once
            failures.append(f"{op.label}: {str(exc)[:1500]}")
    assert failures == [], "\n\n".join(failures)
    # Every operation was really called, and the generated input reached past authentication
    assert set(statuses) == {op.label for op in _operations(app)}
    assert any(code < 300 for codes in statuses.values() for code in codes)
    print(statuses)
