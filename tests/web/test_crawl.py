"""Every GET route, as every demo role, with real ids: never a 5xx. Plus notices and the ledger."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select

from rectiflow.db.domain import Notice, Problem, Round
from rectiflow.db.jobs import Incident
from tests.web.conftest import login, logout, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")
USERS = [
    "office",
    "leader",
    "a_rect",
    "b_rect",
    "a_fin",
    "a_fin2",
    "a_hr",
    "b_fin",
    "a_jw",
    "a_boss",
    "admin",
]


def seed(rt, org):
    iid = start(rt, org)
    start(rt, org, unit="plant_b")
    start(rt, org, key="deadline_escalation", unit="plant_a_finance")
    [task] = ready_tasks(rt, iid)
    now = rt.clock.now()
    with rt.sessions.begin() as s:
        rnd = Round(
            year=2025,
            number=1,
            title="2025年第一轮巡察",
            unit_id=org["units"]["plant_a"],
            feedback_date=date(2025, 1, 10),
            schedule={},
            thresholds={},
            taxonomy=[],
            created_at=now,
        )
        s.add(rnd)
        s.flush()
        unit_path = task.unit_path
        p = Problem(
            round_id=rnd.id,
            number="1.1",
            sort_key="001.001",
            category="party",
            feedback_text="资金管理不规范",
            unit_id=org["units"]["plant_a"],
            unit_path=unit_path,
            status="rectifying",
            colour="yellow",
            deadline=date(2025, 3, 31),
            supervised=True,
            updated_at=now,
            instance_id=iid,
        )
        s.add(p)
        s.flush()
        for name, actor in org["actors"].items():
            s.add(
                Notice(
                    kind="warning_yellow",
                    problem_id=p.id,
                    recipient_id=actor.user_id,
                    subject="黄色预警",
                    body="距期限10天",
                    dedupe_key=f"n-{name}",
                    requires_ack=name == "a_rect",
                    created_at=now,
                )
            )
        s.add(Incident(kind="engine", instance_id=iid, message="boom", status="open", created_at=now))
        from rectiflow.services.files import store_file

        f = store_file(s, rt.clock, rt.settings, org["actors"]["a_rect"], "说明.txt", "整改说明".encode(), unit_path)
    with rt.reads() as s:
        from rectiflow.db.runtime import ProcessDefinition

        definition = s.scalar(select(ProcessDefinition).order_by(ProcessDefinition.id).limit(1))
    return {"task_id": task.id, "instance_id": iid, "problem_id": p.id, "round_id": rnd.id, "sha": f.sha256,
            "definition_id": definition.id, "key": definition.key, "name": "missing"}


def get_routes(app, ids):
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {}
        for arg in rule.arguments:
            if arg not in ids:
                break
            values[arg] = ids[arg]
        else:
            out.append(app.url_for(rule.endpoint, **values) if values else rule.rule)
            continue
        pytest.fail(f"no id to substitute for {arg} in {rule.rule}")
    return out


def test_crawl_every_get_route_as_every_role(rt, org, app):
    ids = seed(rt, org)
    with app.test_request_context():
        routes = get_routes(app, ids)
    assert "/" in routes and f"/tasks/{ids['task_id']}" in routes
    for user in USERS:
        client = app.test_client()
        login(client, user)
        for path in routes:
            resp = client.get(path)
            resp.close()  # file downloads are streamed
            assert resp.status_code < 500, (user, path, resp.status_code)
            if path.startswith("/admin"):
                assert (resp.status_code in (200, 302)) == (user == "admin"), (user, path)


def test_notices_read_and_acknowledge(rt, org, client, app):
    seed(rt, org)
    login(client, "a_rect")
    page = client.get("/notices/").get_data(as_text=True)
    assert "黄色预警" in page and "待签收" in page and 'id="nav-notice-count">1<' in page
    with rt.reads() as s:
        mine = s.scalar(select(Notice).where(Notice.recipient_id == org["actors"]["a_rect"].user_id))
        theirs = s.scalar(select(Notice).where(Notice.recipient_id == org["actors"]["b_rect"].user_id))
    assert post(client, f"/notices/{theirs.id}/read").status_code == 404
    assert post(client, f"/notices/{mine.id}/ack").status_code == 302
    page = client.get("/notices/").get_data(as_text=True)
    assert "已签收" in page and "nav-notice-count" not in page
    other = app.test_client()
    login(other, "b_rect")
    assert post(other, f"/notices/{theirs.id}/ack").status_code == 409  # no acknowledgement needed
    assert post(other, f"/notices/{theirs.id}/read").status_code == 302


def test_ledger_scope_and_filters(rt, org, app):
    ids = seed(rt, org)
    a = app.test_client()
    login(a, "a_rect")
    page = a.get("/ledger/").get_data(as_text=True)
    assert "资金管理不规范" in page and "挂牌督办" in page
    assert "资金管理不规范" not in a.get("/ledger/?colour=red").get_data(as_text=True)
    assert "资金管理不规范" in a.get("/ledger/?supervised=1&status=rectifying").get_data(as_text=True)
    assert a.get(f"/ledger/problems/{ids['problem_id']}").status_code == 302
    assert a.get(f"/problems/{ids['problem_id']}").status_code == 200
    b = app.test_client()
    login(b, "b_rect")
    assert "尚未登记问题" in b.get("/ledger/").get_data(as_text=True)
    assert b.get(f"/ledger/problems/{ids['problem_id']}").status_code == 404
    assert b.get(f"/problems/{ids['problem_id']}").status_code == 404


def count_queries(rt, fn):
    n = [0]

    def before(*_args):
        n[0] += 1

    event.listen(rt.db, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(rt.db, "before_cursor_execute", before)
    return n[0]


def test_inbox_query_count_does_not_grow_with_tasks(rt, org, client):
    login(client, "a_rect")
    for _ in range(3):
        start(rt, org)
    client.get("/")
    few = count_queries(rt, lambda: client.get("/"))
    for _ in range(27):
        start(rt, org)
    page = client.get("/").get_data(as_text=True)
    assert page.count('class="row-') == 30
    many = count_queries(rt, lambda: client.get("/"))
    assert few == many <= 8, (few, many)
    print("inbox queries:", few)


def test_ledger_filters_by_unit_and_category_and_lists_only_visible_rounds(rt, client):
    from sqlalchemy import select

    from rectiflow.db.domain import Problem, Round
    from rectiflow.services.demo.org import DEMO_PASSWORD, load_demo

    with rt.sessions.begin() as s:
        load_demo(s, rt)
    with rt.reads() as s:
        problems = list(s.scalars(select(Problem)))
        rounds = list(s.scalars(select(Round)))
    assert problems and rounds
    login(client, "b_rect", DEMO_PASSWORD)  # plant B sees none of the demo round's problems
    page = client.get("/ledger/").get_data(as_text=True)
    assert all(r.title not in page for r in rounds)
    logout(client)
    login(client, "office", DEMO_PASSWORD)
    one = problems[0]
    query = {"category": one.category, "unit": one.unit_id}  # the unit's id, as on the inbox and the API
    page = client.get("/ledger/", query_string=query).get_data(as_text=True)
    expected = [p for p in problems if p.category == one.category and p.unit_path.startswith(one.unit_path)]
    assert f"{len(expected)} " in page
    export = client.get("/ledger/export.xlsx", query_string={"category": one.category})
    assert export.status_code == 200 and export.data[:2] == b"PK"
