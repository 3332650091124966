"""Lists page with the true total on the pages, the API and the export (SQLite and PostgreSQL); the
same filter gives the same rows on the page and the API; bad paging is a 422 naming the parameter; an id
no key can hold is a 404/422 on every route, never a 5xx (issue 15)."""

from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import load_workbook
from read_support import ledger_rows

from tests.web.conftest import login, start

MAX_ID = 2**63 - 1
PROBLEM_LINK = re.compile(r'href="/problems/(\d+)"')
TASK_LINK = re.compile(r'<a href="/tasks/([^"/]+)">')


def token(client, username="office", password="passw0rd!"):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def pagination(resp) -> dict:
    return json.loads(resp.headers["X-Pagination"])


@pytest.fixture
def big_ledger(rt, org):
    return ledger_rows(rt, org, 1200)


def test_1200_rows_page_with_the_true_total_on_page_api_and_export(big_ledger, client):
    login(client, "office")
    first = client.get("/ledger/")
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and len(PROBLEM_LINK.findall(body)) == 50
    assert "共 1200 条，第 1 / 24 页" in body and 'href="/ledger/?page=2"' in body  # the true total, not 50
    second = client.get("/ledger/?page=2").get_data(as_text=True)
    assert "第 2 / 24 页" in second and set(PROBLEM_LINK.findall(second)).isdisjoint(PROBLEM_LINK.findall(body))
    last = client.get("/ledger/?page=24").get_data(as_text=True)
    assert len(PROBLEM_LINK.findall(last)) == 50 and 'rel="next"' not in last
    past = client.get("/ledger/?page=25")  # past the end: an empty page that still tells the total
    assert past.status_code == 200 and not PROBLEM_LINK.findall(past.get_data(as_text=True))
    assert "共 1200 条" in past.get_data(as_text=True)
    assert len(PROBLEM_LINK.findall(client.get("/ledger/?per_page=500&page=3").get_data(as_text=True))) == 200

    h = token(client)
    resp = client.get("/api/v1/problems", headers=h)
    assert resp.status_code == 200 and len(resp.get_json()) == 50
    meta = pagination(resp)
    assert (meta["total"], meta["total_pages"], meta["page"], meta["next_page"]) == (1200, 24, 1, 2)
    resp = client.get("/api/v1/problems?per_page=500&page=3", headers=h)
    assert len(resp.get_json()) == 200 and pagination(resp)["total"] == 1200
    resp = client.get("/api/v1/problems?page=25", headers=h)
    assert resp.status_code == 200 and resp.get_json() == [] and pagination(resp)["total"] == 1200

    export = client.get("/ledger/export.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data))["整改台账"]
    assert sheet.max_row == 1 + 1200  # the header, then every row: no cap


def test_the_ledger_filter_gives_the_same_rows_on_page_api_and_export(big_ledger, client, org):
    login(client, "office")
    h = token(client)
    query = "colour=red&supervised=1&due_by=2025-01-20&per_page=500"
    page = client.get(f"/ledger/?{query}").get_data(as_text=True)
    page_ids = [int(i) for i in PROBLEM_LINK.findall(page)]
    api_ids = [p["id"] for p in client.get(f"/api/v1/problems?{query}", headers=h).get_json()]
    # read_support: row i is red when i % 4 == 3, supervised when i % 3 == 0, due on day 1 + i % 28
    expected = sum(1 for i in range(1200) if i % 4 == 3 and i % 3 == 0 and 1 + i % 28 <= 20)
    assert page_ids == api_ids and len(api_ids) == expected == 72
    sheet = load_workbook(io.BytesIO(client.get(f"/ledger/export.xlsx?{query}").data))["整改台账"]
    assert sheet.max_row == 1 + expected
    unit = org["units"]["plant_a_hr"]  # nothing there: the unit filter takes the subtree
    assert client.get(f"/api/v1/problems?unit={unit}", headers=h).get_json() == []
    assert not PROBLEM_LINK.findall(client.get(f"/ledger/?unit={unit}").get_data(as_text=True))


@pytest.mark.usefixtures("deployed")
def test_the_inbox_filter_gives_the_same_rows_on_page_and_api(rt, org, client):
    for n in range(3):
        start(rt, org, round_id=7 + n % 2)
    start(rt, org, unit="plant_a_finance", round_id=7)
    login(client, "a_rect")
    h = token(client, "a_rect")
    for query in ("", "round=7", f"unit={org['units']['plant_a_finance']}", "round=8&per_page=1", "due=overdue",
                  "process=review_loop&per_page=2&page=2"):
        page_ids = TASK_LINK.findall(client.get(f"/?{query}").get_data(as_text=True))
        resp = client.get(f"/api/v1/tasks?{query}", headers=h)
        assert page_ids == [t["id"] for t in resp.get_json()], query
    resp = client.get("/api/v1/tasks?per_page=1", headers=h)
    assert pagination(resp)["total"] == 4 and len(resp.get_json()) == 1
    assert "共 4 条，第 1 / 4 页" in client.get("/?per_page=1").get_data(as_text=True)


PAGED_PAGES = ("/", "/ledger/", "/rounds/", "/notices/", "/admin/instances")
PAGED_API = ("/api/v1/tasks", "/api/v1/problems", "/api/v1/rounds")


@pytest.mark.parametrize("per_page", ["0", "-1", "501", "x", "1e3", "2.5"])
def test_bad_per_page_is_a_422_naming_it(per_page, org, client):
    login(client, "admin")
    for path in PAGED_PAGES:
        resp = client.get(f"{path}?per_page={per_page}")
        assert resp.status_code == 422, path
        assert "<code>per_page</code>" in resp.get_data(as_text=True), path
    h = token(client, "admin")
    for path in PAGED_API:
        resp = client.get(f"{path}?per_page={per_page}", headers=h)
        assert resp.status_code == 422 and "per_page" in json.dumps(resp.get_json()["errors"]), path


def test_a_page_past_the_end_is_empty(org, client):
    login(client, "admin")
    for path in PAGED_PAGES:
        assert client.get(f"{path}?page=99").status_code == 200, path
    h = token(client, "admin")
    for path in PAGED_API:
        resp = client.get(f"{path}?page=99", headers=h)
        assert resp.status_code == 200 and resp.get_json() == [] and pagination(resp)["page"] == 99, path


def test_every_int_route_is_bounded(app):
    from webapp.converters import BoundedIdConverter

    int_rules = [r for r in app.url_map.iter_rules() if r._converters]
    assert int_rules
    for rule in int_rules:
        for name, conv in rule._converters.items():
            if conv.regex.startswith(r"\d"):  # an integer argument
                assert isinstance(conv, BoundedIdConverter), f"{rule.rule}: {name}"


def _urls(app, value: str) -> list[tuple[str, str]]:
    """Every route with an int argument, that argument set to ``value`` (others to "x")."""
    out = []
    for rule in app.url_map.iter_rules():
        ints = [n for n, c in rule._converters.items() if c.regex.startswith(r"\d")]
        if not ints:
            continue
        path = rule.rule
        for n, conv in rule._converters.items():
            path = re.sub(rf"<[^>]*:?{n}>", value if n in ints else "x", path)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        out.append((method, path))
    return out


@pytest.mark.parametrize("value, statuses", [(str(2**63), {404}), ("-1", {404}), ("0", {404}),
                                             ("9" * 400, {404}), (str(MAX_ID), {404, 400, 403})])
def test_huge_or_negative_route_ids_are_404_never_5xx(app, org, client, value, statuses):
    """Beyond the bound the route does not match (404); at the bound the lookup finds nothing (404), or a
    POST without its CSRF token stops first (400), or a role check does (403) — never a 5xx."""
    login(client, "admin")
    h = token(client, "admin")
    urls = _urls(app, value)
    assert len(urls) >= 15
    for method, path in urls:
        resp = client.open(path, method=method, headers=h if path.startswith("/api/") else None)
        assert resp.status_code in statuses, (method, path, resp.status_code)


HUGE = str(2**63)


@pytest.mark.parametrize("path", [
    f"/?round={HUGE}", f"/?unit={HUGE}", f"/ledger/?round={HUGE}", "/ledger/?unit=-1",
    f"/ledger/export.xlsx?round={HUGE}", f"/rounds/?year={HUGE}", "/ledger/?status=bogus",
    f"/api/v1/problems?round={HUGE}", f"/api/v1/problems?unit={HUGE}", f"/api/v1/tasks?round={HUGE}",
    "/api/v1/tasks?unit=-5", f"/api/v1/stats?round={HUGE}", f"/api/v1/rounds?year={HUGE}",
])
def test_huge_query_ids_are_422_naming_the_parameter(org, client, path):
    login(client, "admin")
    h = token(client, "admin")
    resp = client.get(path, headers=h if path.startswith("/api/") else None)
    assert resp.status_code == 422, resp.status_code
    name = re.search(r"\?(\w+)=", path).group(1)
    if path.startswith("/api/"):
        assert name in json.dumps(resp.get_json()["errors"])
    else:
        assert f"<code>{name}</code>" in resp.get_data(as_text=True)


def test_the_openapi_document_describes_paging(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/tasks", "/api/v1/problems", "/api/v1/rounds"):
        get = spec["paths"][path]["get"]
        assert {"page", "per_page"} <= {p["name"] for p in get["parameters"]}, path
        assert "X-Pagination" in get["responses"]["200"]["headers"], path
    problems = {p["name"] for p in spec["paths"]["/api/v1/problems"]["get"]["parameters"]}
    assert {"round", "unit", "category", "status", "colour", "supervised", "due_by"} <= problems
