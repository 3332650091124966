"""Comments on a task: an event on its instance's audit chain, listed on the task page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rectiflow.db.audit import AuditEvent
from rectiflow.services import audit
from tests.web.conftest import login, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")


def comment_events(rt):
    with rt.reads() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "task.commented")
                              .order_by(AuditEvent.seq)))


def test_comment_shows_up_on_the_task_page(rt, org, client, app):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'action="/tasks/{task.id}/comments"' in page and 'id="comments"' in page
    resp = post(client, f"/tasks/{task.id}/comments", {"text": "  请财务部补充凭证 <b>  "})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/tasks/{task.id}#comments")
    # anyone who can view the task may comment: the leading group oversees every unit
    office = app.test_client()
    login(office, "leader")
    assert post(office, f"/tasks/{task.id}/comments", {"text": "第二条"}).status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    first, second = page.index("请财务部补充凭证 &lt;b&gt;"), page.index("第二条")
    assert first < second  # newest last, escaped
    assert "a_rect" in page and "leader" in page
    [one, two] = comment_events(rt)
    assert one.stream == f"instance:{iid}" and one.object_type == "task" and one.object_id == task.id
    assert one.payload == {"text": "请财务部补充凭证 <b>", "task_name": "起草"} and one.actor == "a_rect"
    assert two.seq == one.seq + 1
    with rt.reads() as s:
        assert audit.verify(s).ok


def test_out_of_scope_user_gets_404(rt, org, client):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "b_rect")
    assert post(client, f"/tasks/{task.id}/comments", {"text": "hello"}).status_code == 404
    assert post(client, "/tasks/nonexistent/comments", {"text": "hello"}).status_code == 404
    assert comment_events(rt) == []


def test_empty_or_too_long_comment_is_a_422_with_a_message(rt, org, client):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    resp = post(client, f"/tasks/{task.id}/comments", {"text": "   "})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert 'id="comment-error"' in body and "请填写评论" in body
    resp = post(client, f"/tasks/{task.id}/comments", {"text": "长" * 2001})
    assert resp.status_code == 422 and "2000" in resp.get_data(as_text=True)
    assert "长" * 2001 in resp.get_data(as_text=True)  # the text is kept for correcting
    assert post(client, f"/tasks/{task.id}/comments", {"text": "长" * 2000}).status_code == 302
    assert len(comment_events(rt)) == 1


def test_comment_needs_csrf(rt, org, client):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    assert client.post(f"/tasks/{task.id}/comments", data={"text": "x"}).status_code == 400
    assert comment_events(rt) == []


def test_a_form_open_while_a_colleague_comments_still_submits(rt, org, client, app):
    """Forms are checked against the process state, not the instance row: a comment (which moves the
    audit chain head on the row) must not make the person filling the form start over."""
    import re

    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "a_rect")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    leader = app.test_client()
    login(leader, "leader")
    assert post(leader, f"/tasks/{task.id}/comments", {"text": "请抓紧"}).status_code == 302
    resp = post(client, f"/tasks/{task.id}", {"action": "complete", "note": "已起草", "version": version},
                token_from=f"/tasks/{task.id}")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    [nxt] = ready_tasks(rt, iid)
    assert nxt.element_id == "review"
    # A form opened before that completion is stale now: the process moved on.
    office = app.test_client()
    login(office, "office")
    resp = post(office, f"/tasks/{nxt.id}", {"action": "complete", "decision": "approve", "version": version},
                token_from=f"/tasks/{nxt.id}")
    assert resp.status_code == 409
