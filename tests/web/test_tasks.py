"""Inbox scope, the task page, completion with validation errors, drafts, claim/release, conflicts."""

from __future__ import annotations

import pytest

from tests.web.conftest import login, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")


def test_inbox_per_role_and_unit(rt, org, client, app):
    iid = start(rt, org)
    start(rt, org, unit="plant_b")
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    page = client.get("/").get_data(as_text=True)
    assert f"/tasks/{task.id}" in page and page.count('class="row-') == 1
    assert "剩余89天" in page and "chip-none" in page
    assert 'id="nav-inbox-count">1<' in page

    other = app.test_client()
    login(other, "b_rect")
    page = other.get("/").get_data(as_text=True)
    assert f"/tasks/{task.id}" not in page
    assert other.get(f"/tasks/{task.id}").status_code == 404  # another plant's task looks missing
    assert other.get(f"/instances/{iid}").status_code == 404
    assert other.get(f"/instances/{iid}/diagram.bpmn").status_code == 404
    assert post(other, f"/tasks/{task.id}", {"action": "complete", "note": "x"}).status_code == 404

    fin = app.test_client()
    login(fin, "a_fin")
    assert "暂无待办" in fin.get("/").get_data(as_text=True)


def test_inbox_filters_and_overdue_chip(rt, org, client):
    iid = start(rt, org, deadline="2025-02-01")
    start(rt, org)
    login(client, "a_rect")
    page = client.get("/?due=week").get_data(as_text=True)
    assert page.count('class="row-') == 1 and "剩余1天" in page and "chip-yellow" in page
    assert client.get("/?process=nonexistent").get_data(as_text=True).count('class="row-') == 0
    assert client.get("/?process=review_loop").get_data(as_text=True).count('class="row-') == 2
    rt.clock.advance(__import__("datetime").timedelta(days=3))
    page = client.get("/?due=overdue").get_data(as_text=True)
    assert page.count('class="row-') == 1 and "超期2天" in page and "chip-red" in page
    assert f"/instances/{iid}" in page


def test_complete_with_error_then_success(rt, org, client, app):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "起草：资金管理" in page and 'name="note"' in page and "电厂A" in page

    long = "x" * 2001
    resp = post(client, f"/tasks/{task.id}", {"action": "complete", "note": long})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert 'class="field field-textarea has-error"' in body and 'id="f-note-error"' in body
    assert long in body  # the value is kept
    resp = post(client, f"/tasks/{task.id}", {"action": "complete", "note": ""})
    assert resp.status_code == 422 and "必填" in resp.get_data(as_text=True)

    resp = post(client, f"/tasks/{task.id}", {"action": "complete", "note": "整改方案初稿"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "已提交。工作已流转至：审核（巡察办）" in page
    [review] = ready_tasks(rt, iid)
    assert review.element_id == "review"

    office = app.test_client()
    login(office, "office")
    assert f"/tasks/{review.id}" in office.get("/").get_data(as_text=True)
    # The completed task stays readable (read-only) for the one who did it.
    done = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "整改方案初稿" in done and 'action="/tasks/' + task.id + '"' not in done
    # The instance page shows the timeline and the markers.
    inst = office.get(f"/instances/{iid}").get_data(as_text=True)
    assert "task.completed" in inst and '"done": ["draft"]' in inst and '"active": ["review"]' in inst
    xml = office.get(f"/instances/{iid}/diagram.bpmn")
    assert xml.status_code == 200 and b"bpmn:definitions" in xml.data


def test_conditional_validation_keeps_values(rt, org, client, app):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    post(client, f"/tasks/{task.id}", {"action": "complete", "note": "稿"})
    [review] = ready_tasks(rt, iid)
    office = app.test_client()
    login(office, "office")
    resp = post(office, f"/tasks/{review.id}", {"action": "complete", "decision": "return", "reason": ""})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert 'id="f-reason-error"' in body and 'value="return" checked' in body.replace(
        'checked="checked"', "checked"
    )


def test_save_draft(rt, org, client):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    resp = post(client, f"/tasks/{task.id}", {"action": "draft", "note": "半成品"})
    assert resp.status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "草稿已保存" in page and "半成品" in page


def test_stale_form_is_a_409(rt, org, client):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    resp = post(client, f"/tasks/{task.id}", {"action": "complete", "note": "x", "version": "1"})
    assert resp.status_code == 409
    assert "任务已发生变化" in resp.get_data(as_text=True)
    assert ready_tasks(rt, iid)[0].status == "ready"


def test_claim_and_release(rt, org, client, app):
    iid = start(rt, org, key="deadline_escalation", unit="plant_a_finance")
    [task] = ready_tasks(rt, iid)
    fin, fin2 = client, app.test_client()
    login(fin, "a_fin")
    login(fin2, "a_fin2")
    assert f"/tasks/{task.id}" in fin2.get("/").get_data(as_text=True)
    resp = post(fin, f"/tasks/{task.id}/claim")
    assert resp.status_code == 302
    assert "您已认领此任务" in fin.get("/").get_data(as_text=True)
    assert f"/tasks/{task.id}" not in fin2.get("/").get_data(as_text=True)
    assert post(fin2, f"/tasks/{task.id}/claim").status_code == 409
    assert post(fin2, f"/tasks/{task.id}/release").status_code == 403
    assert post(fin2, f"/tasks/{task.id}", {"action": "complete"}).status_code == 403
    assert post(fin, f"/tasks/{task.id}/release").status_code == 302
    assert f"/tasks/{task.id}" in fin2.get("/").get_data(as_text=True)


def test_wrong_role_in_scope_can_read_but_not_act(rt, org, client):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "office")  # oversees plant A but does not hold the drafting lane
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "不具备该单位的办理角色" in page
    assert post(client, f"/tasks/{task.id}", {"action": "complete", "note": "x"}).status_code == 403
