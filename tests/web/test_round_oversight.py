"""The round page's assessment and accountability card: who sees it, who may act, and a refused
form coming back with its values (422), never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rectiflow.db.domain import Accountability, Round, RoundEvaluation
from rectiflow.services.demo.org import DEMO_PASSWORD, load_demo
from tests.web.conftest import login, post


@pytest.fixture
def demo(rt):
    with rt.sessions.begin() as s:
        load_demo(s, rt)
    return rt


def round_id(rt):
    with rt.reads() as s:
        return s.scalar(select(Round.id))


def rows(rt):
    with rt.reads() as s:
        return (s.scalar(select(func.count()).select_from(RoundEvaluation)),
                s.scalar(select(func.count()).select_from(Accountability)))


def test_office_assesses_and_a_refused_form_keeps_what_was_typed(demo, client):
    rid = round_id(demo)
    login(client, "office", DEMO_PASSWORD)
    page = client.get(f"/rounds/{rid}").get_data(as_text=True)
    assert 'id="oversight"' in page and 'id="evaluation-form"' in page and 'id="accountability-form"' not in page
    resp = post(client, f"/rounds/{rid}/evaluations", {"score": "45", "comment": ""}, token_from=f"/rounds/{rid}")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "评为“差”时请写明理由" in body and 'value="45"' in body
    assert rows(demo) == (0, 0)
    resp = post(client, f"/rounds/{rid}/evaluations", {"score": "120", "comment": "保留的意见"},
                token_from=f"/rounds/{rid}")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "请输入 0 至 100 的整数" in body and "保留的意见" in body
    resp = post(client, f"/rounds/{rid}/evaluations", {"score": "88", "comment": "整改较好"},
                token_from=f"/rounds/{rid}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/rounds/{rid}#oversight")
    page = client.get(f"/rounds/{rid}").get_data(as_text=True)
    assert "已登记整改评估：88 分（较好）" in page and "整改较好" in page
    assert rows(demo) == (1, 0)


def test_discipline_committee_starts_a_case_and_others_cannot(demo, client, app):
    rid = round_id(demo)
    login(client, "jiwei", DEMO_PASSWORD)
    page = client.get(f"/rounds/{rid}").get_data(as_text=True)
    assert 'id="accountability-form"' in page and 'id="evaluation-form"' not in page
    resp = post(client, f"/rounds/{rid}/accountability", {"reason": "  "}, token_from=f"/rounds/{rid}")
    assert resp.status_code == 422 and rows(demo) == (0, 0)
    resp = post(client, f"/rounds/{rid}/accountability", {"reason": "整改不力，群众反映强烈"},
                token_from=f"/rounds/{rid}")
    assert resp.status_code == 302
    page = client.get(f"/rounds/{rid}").get_data(as_text=True)
    assert "纪委启动" in page and "办理中" in page and rows(demo) == (0, 1)
    # a department sees its problems on the round page, not the leadership's card, and cannot act
    dept = app.test_client()
    login(dept, "finance", DEMO_PASSWORD)
    page = dept.get(f"/rounds/{rid}").get_data(as_text=True)
    assert 'id="oversight"' not in page
    assert post(dept, f"/rounds/{rid}/evaluations", {"score": "90"}, token_from=f"/rounds/{rid}").status_code == 403
    assert post(dept, f"/rounds/{rid}/accountability", {"reason": "x"},
                token_from=f"/rounds/{rid}").status_code == 403
    # another unit: the round does not exist for them
    other = app.test_client()
    login(other, "b_rect", DEMO_PASSWORD)
    assert post(other, f"/rounds/{rid}/evaluations", {"score": "90"}).status_code == 404
    assert rows(demo) == (0, 1)


def test_leads_are_recorded_and_seen_only_by_those_who_handle_them(demo, client, app):
    from rectiflow.db.domain import LeadReferral

    rid = round_id(demo)
    login(client, "office", DEMO_PASSWORD)
    resp = post(client, f"/rounds/{rid}/leads", {"summary": "", "receiver": "discipline_committee",
                                                  "referred_on": "not a date"}, token_from=f"/rounds/{rid}")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "必填" in body and "请输入有效日期" in body
    today = demo.clock.today().isoformat()
    lead_form = {"summary": "某干部违规兼职取酬线索", "receiver": "discipline_committee", "referred_on": today}
    resp = post(client, f"/rounds/{rid}/leads", lead_form, token_from=f"/rounds/{rid}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#leads")
    with demo.reads() as s:
        [lead] = s.query(LeadReferral).all()
    jiwei = app.test_client()
    login(jiwei, "jiwei", DEMO_PASSWORD)
    page = jiwei.get(f"/rounds/{rid}").get_data(as_text=True)
    assert "某干部违规兼职取酬线索" in page and f'/rounds/{rid}/leads/{lead.id}' in page
    resp = post(jiwei, f"/rounds/{rid}/leads/{lead.id}", {"status": "concluded", "outcome": "已给予诫勉"},
                token_from=f"/rounds/{rid}")
    assert resp.status_code == 302
    assert "已给予诫勉" in jiwei.get(f"/rounds/{rid}").get_data(as_text=True)
    stats = client.get("/stats/").get_data(as_text=True)
    assert 'id="fig-leads">1<' in stats
    # the unit's rectification office works on the problems, not on the leads
    rect = app.test_client()
    login(rect, "rect", DEMO_PASSWORD)
    page = rect.get(f"/rounds/{rid}").get_data(as_text=True)
    assert 'id="oversight"' in page and "某干部违规兼职取酬线索" not in page and 'id="leads"' not in page
    assert 'id="fig-leads"' not in rect.get("/stats/").get_data(as_text=True)
    assert post(rect, f"/rounds/{rid}/leads", {"summary": "x", "receiver": "other", "referred_on": today},
                token_from=f"/rounds/{rid}").status_code == 403
    assert post(rect, f"/rounds/{rid}/leads/{lead.id}", {"status": "verifying"},
                token_from=f"/rounds/{rid}").status_code == 404
