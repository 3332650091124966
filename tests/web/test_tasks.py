"""Inbox scope, the task page, completion with validation errors, drafts, claim/release, conflicts."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from rectiflow.db.audit import AuditEvent
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


# ---- evidence upload, download scope, reassign/delegate (on the demo data) -----------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"This program cannot be run in DOS mode"


@pytest.fixture
def demo(rt):
    from rectiflow.services.demo.org import load_demo

    with rt.sessions.begin() as s:
        load_demo(s, rt)
    return rt


def _report_task(rt, number="1.1"):
    from sqlalchemy import select

    from rectiflow.db.runtime import UserTask

    with rt.reads() as s:
        return s.scalar(
            select(UserTask).where(UserTask.status == "ready", UserTask.title.like(f"整改：问题 {number} %"))
        )


def _upload(client, task_id, files, **fields):
    import io

    data = {"_action": "complete", "action": "report", **fields}
    data["evidence__upload"] = [(io.BytesIO(content), name) for name, content in files]
    return post(client, f"/tasks/{task_id}", data, content_type="multipart/form-data", token_from=f"/tasks/{task_id}")


def test_upload_is_kept_through_a_failed_validation_then_submitted(demo, client):
    from rectiflow.db.domain import FileGrant, StoredFile

    task = _report_task(demo)
    login(client, "finance", "rectiflow2025")
    resp = _upload(client, task.id, [("整改台账.pdf", PDF)], narrative="已完成制度修订")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    import hashlib

    sha = hashlib.sha256(PDF).hexdigest()
    assert f'name="evidence" value="{sha}"' in body and "整改台账.pdf" in body and f"/files/{sha}" in body
    assert 'id="f-progress-error"' in body
    with demo.reads() as s:
        row = s.get(StoredFile, sha)
        assert row.media_type == "application/pdf" and row.size == len(PDF)
        [grant] = s.query(FileGrant).filter_by(sha256=sha).all()
        assert grant.unit_path == task.unit_path and grant.name == "整改台账.pdf"
    resp = post(client, f"/tasks/{task.id}", {"_action": "complete", "action": "report", "narrative": "已完成制度修订",
                                               "progress": "60", "evidence": sha}, token_from=f"/tasks/{task.id}")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with demo.reads() as s:
        from rectiflow.db.runtime import UserTask

        assert s.get(UserTask, task.id).submitted["evidence"] == [sha]
    with client.get(f"/files/{sha}") as dl:
        assert dl.status_code == 200 and dl.data == PDF
        assert dl.headers["Content-Disposition"].startswith("attachment")
        assert dl.headers["X-Content-Type-Options"] == "nosniff"
        assert dl.mimetype == "application/pdf"


def test_disguised_executable_is_refused_with_its_name(demo, client):
    task = _report_task(demo)
    login(client, "finance", "rectiflow2025")
    resp = _upload(client, task.id, [("整改报告.pdf", EXE)], narrative="x", progress="50")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "整改报告.pdf" in body and 'class="field field-file has-error"' in body
    assert _report_task(demo).id == task.id  # not completed


def test_oversized_upload_gets_a_message(demo, client, app):
    task = _report_task(demo)
    login(client, "finance", "rectiflow2025")
    # Over the request limit (MAX_CONTENT_LENGTH is the upload limit): the 413 page says so. Small
    # sizes keep the test's upload in memory.
    demo.settings = demo.settings.with_(max_upload_bytes=1000)
    app.config["MAX_CONTENT_LENGTH"] = 2000
    resp = _upload(client, task.id, [("big.txt", b"x" * 3000)], narrative="x", progress="50")
    assert resp.status_code == 413 and "上传文件过大" in resp.get_data(as_text=True)
    # Under the request limit but over the file limit: a message at the field, the form kept.
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    resp = _upload(client, task.id, [("大文件.txt", b"y" * 1001)], narrative="保留的内容", progress="50")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "大文件.txt" in body and "1000 bytes" in body and "保留的内容" in body


def test_download_out_of_scope_is_404(demo, client, app):
    from rectiflow.services.accounts.actors import load_actor
    from rectiflow.services.accounts.users import user_by_name
    from rectiflow.services.files import store_file

    with demo.sessions.begin() as s:
        fin = load_actor(s, user_by_name(s, "finance").id)
        sha = store_file(s, demo.clock, demo.settings, fin, "凭证.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
                         fin.grants[0].unit_path).sha256
    login(client, "hr", "rectiflow2025")
    assert client.get(f"/files/{sha}").status_code == 404
    assert client.get("/files/" + "0" * 64).status_code == 404
    assert client.get("/files/..%2F..%2Fetc%2Fpasswd").status_code == 404
    office = app.test_client()
    login(office, "office", "rectiflow2025")
    with office.get(f"/files/{sha}") as resp:
        assert resp.status_code == 200 and resp.mimetype == "image/png"


def test_same_bytes_from_two_units_each_keep_their_own_name_and_scope(demo, app):
    """Stored once, granted twice: each unit downloads its own evidence under its own name and never
    sees the other's name; the group office, above both, sees the file."""
    from rectiflow.services.accounts.actors import load_actor
    from rectiflow.services.accounts.users import user_by_name
    from rectiflow.services.files import store_file

    content = "整改情况说明：已完成。".encode()
    with demo.sessions.begin() as s:
        fin = load_actor(s, user_by_name(s, "finance").id)
        hr = load_actor(s, user_by_name(s, "hr").id)
        first = store_file(s, demo.clock, demo.settings, fin, "财务部说明.txt", content, fin.grants[0].unit_path)
        second = store_file(s, demo.clock, demo.settings, hr, "人力部说明.txt", content, hr.grants[0].unit_path)
        again = store_file(s, demo.clock, demo.settings, hr, "重复上传.txt", content, hr.grants[0].unit_path)
    assert first.sha256 == second.sha256 == again.sha256
    sha = first.sha256
    seen_as = (("finance", "财务部说明.txt", "人力部说明.txt"), ("hr", "人力部说明.txt", "财务部说明.txt"))
    for user, name, other in seen_as:
        client = app.test_client()
        login(client, user, "rectiflow2025")
        with client.get(f"/files/{sha}") as resp:
            assert resp.status_code == 200 and resp.data == content
            disposition = resp.headers["Content-Disposition"]
            assert quote(name) in disposition and quote(other) not in disposition
    office = app.test_client()
    login(office, "office", "rectiflow2025")
    with office.get(f"/files/{sha}") as resp:
        assert resp.status_code == 200
    with demo.reads() as s:
        uploads = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "file.uploaded", AuditEvent.object_id == sha))
    assert uploads == 2  # one per unit; the repeated upload for the same unit adds nothing


def test_store_file_checks_content(demo, tmp_path):
    import io
    import zipfile

    from rectiflow.errors import InvalidInput
    from rectiflow.services.files import store_file

    def docx(main):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("[Content_Types].xml", f'<Types><Override ContentType="{main}"/></Types>')
        return buf.getvalue()

    word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    with demo.sessions.begin() as s:
        ok = store_file(s, demo.clock, demo.settings, None, "方案.docx", docx(word), "/1/")
        assert ok.media_type.endswith("wordprocessingml.document")
        assert store_file(s, demo.clock, demo.settings, None, "说明.txt", "整改说明".encode(), "/1/").media_type \
            .startswith("text/plain")
        for name, content, needle in [
            ("a.docx", docx("application/x-other"), "neither"),
            ("b.zip", docx(word), ".zip"),
            ("c.png", PDF, "PNG"),
            ("d.txt", b"\x00\x01binary", "unknown"),
            ("e.txt", b"", "empty"),
            ("f.gif", b"GIF89a....", "GIF"),
        ]:
            with pytest.raises(InvalidInput) as err:
                store_file(s, demo.clock, demo.settings, None, name, content, "/1/")
            assert name in err.value.message and needle in err.value.message, err.value.message


def test_reassign_and_delegate_in_the_task_page(demo, client, app):
    from rectiflow.services.accounts import users as us

    with demo.sessions.begin() as s:
        us.create_user(s, demo.clock, username="finance2", display_name="林会计", password="passw0rd!",
                       email="f2@example.test")
        us.assign(s, demo.clock, "finance2", "responsible_department", "plant_a_finance")
    task = _report_task(demo)
    login(client, "finance", "rectiflow2025")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="delegate-user"' in page and "林会计" in page and 'id="reassign-user"' not in page
    rect = app.test_client()
    login(rect, "rect", "rectiflow2025")
    page = rect.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="reassign-user"' in page and "林会计" in page and "吴专员" not in page  # HR is not a candidate
    with demo.reads() as s:
        f2 = us.user_by_name(s, "finance2").id
        hr = us.user_by_name(s, "hr").id
    resp = post(rect, f"/tasks/{task.id}/reassign", {"user_id": str(hr), "note": "x"})
    assert resp.status_code == 409
    resp = post(rect, f"/tasks/{task.id}/reassign", {"user_id": str(f2), "note": "轮岗交接"})
    assert resp.status_code == 302
    assert _report_task(demo).assignee_id == f2
    # Now only finance2 can act; the task left finance's inbox.
    assert f"/tasks/{task.id}" not in client.get("/").get_data(as_text=True)
    other = app.test_client()
    login(other, "finance2", "passw0rd!")
    assert f"/tasks/{task.id}" in other.get("/").get_data(as_text=True)
    resp = post(other, f"/tasks/{task.id}/delegate", {"user_id": str(hr)})
    assert resp.status_code == 409  # HR does not work in the finance department


def test_the_reviewer_reads_what_was_submitted_before(rt, org, client, app):
    """The review step shows the earlier steps' submissions read-only, with ids of their own."""
    iid = start(rt, org)
    [draft] = ready_tasks(rt, iid)
    login(client, "a_rect")
    assert post(client, f"/tasks/{draft.id}", {"action": "complete", "note": "第一稿：资金管理制度修订"},
                token_from=f"/tasks/{draft.id}").status_code == 302
    [review] = ready_tasks(rt, iid)
    office = app.test_client()
    login(office, "office")
    page = office.get(f"/tasks/{review.id}").get_data(as_text=True)
    earlier = page[page.index('id="earlier"'):page.index('id="comments"')]
    assert "此前办理情况" in earlier and draft.name in earlier and "第一稿：资金管理制度修订" in earlier
    assert 'id="e0-f-note"' in earlier and 'name="note"' not in earlier  # read-only, no clash with the form
    # the draft's own page lists nothing before it
    page = client.get(f"/tasks/{draft.id}").get_data(as_text=True)
    assert 'id="earlier"' not in page
