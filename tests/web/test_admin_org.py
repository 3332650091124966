"""Administration of users, the organisation tree and role assignments: admin only, validation with
field messages (422, nothing written), the effect on login and the inbox, and an audit event per change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rectiflow.db.audit import AuditEvent
from rectiflow.db.org import RoleAssignment, Unit, User
from tests.web.conftest import login, post, ready_tasks, start

pytestmark = pytest.mark.usefixtures("deployed")
STRONG = "n3wPassword"


def admin_routes(app):
    """Every admin_org rule as (method, path), with a real user and unit in the path."""
    out = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin_org."):
                continue
            values = {k: v for k, v in {"username": "a_fin", "code": "plant_a"}.items() if k in rule.arguments}
            path = app.url_for(rule.endpoint, **values)
            for method in sorted(rule.methods & {"GET", "POST"}):
                out.append((method, path))
    assert len(out) >= 10, out
    return out


def audit_actions(rt, action):
    with rt.reads() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def user_row(rt, username):
    with rt.reads() as s:
        return s.scalar(select(User).where(User.username == username))


def can_log_in(app, username, password):
    c = app.test_client()
    resp = post(c, "/login", {"username": username, "password": password}, token_from="/login")
    return resp.status_code == 302


@pytest.mark.parametrize("user", ["a_rect", "office"])
def test_every_route_is_403_for_non_admins(app, client, org, rt, user):
    login(client, user)
    for method, path in admin_routes(app):
        resp = client.get(path) if method == "GET" else post(
            client, path, {"username": "x", "display_name": "x", "password": STRONG, "role": "admin",
                           "unit": "group", "code": "x", "name": "x", "kind": "department", "active": "0"})
        assert resp.status_code == 403, (user, method, path, resp.status_code)
    assert "/admin/org/" not in client.get("/").get_data(as_text=True)
    assert user_row(rt, "x") is None and user_row(rt, "a_fin").is_active


def test_pages_render_and_are_linked(client, org):
    login(client, "admin")
    assert 'href="/admin/org/"' in client.get("/").get_data(as_text=True)
    assert 'href="/admin/org/"' in client.get("/admin/definitions").get_data(as_text=True)
    page = client.get("/admin/org/").get_data(as_text=True)
    assert "a_fin@example.test" in page and "整改责任部门@plant_a-finance" in page
    page = client.get("/admin/org/?q=B_F").get_data(as_text=True)
    assert "b_fin" in page and "a_fin" not in page
    assert client.get("/admin/org/?q=zzz").get_data(as_text=True).count('class="user-row') == 0
    assert client.get("/admin/org/user").status_code == 302
    assert client.get("/admin/org/user?username=nobody").status_code == 404
    page = client.get("/admin/org/user?username=a_fin").get_data(as_text=True)
    assert "整改责任部门" in page and 'value="plant_a_finance"' in page
    assert "\u3000\u3000plant_a-finance (plant_a_finance)" in page  # the unit select shows the tree
    assert client.get("/admin/org/users/new").status_code == 200
    assert client.get("/admin/org/units").status_code == 200
    post(client, "/language", {"locale": "en", "next": "/"})
    page = client.get("/admin/org/user?username=a_fin").get_data(as_text=True)
    assert "Department responsible for rectification (responsible_department)" in page  # the Role vocabulary's name


def test_create_user_then_log_in(app, client, org, rt):
    login(client, "admin")
    resp = post(client, "/admin/org/users/new", {"username": "newbie", "display_name": "新人",
                                                 "email": "n@example.test", "locale": "en", "password": STRONG})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/org/user?username=newbie")
    assert "newbie" in client.get("/admin/org/").get_data(as_text=True)
    assert can_log_in(app, "newbie", STRONG)
    [ev] = audit_actions(rt, "user.created")[-1:]
    assert ev.actor == "admin" and ev.payload == {"username": "newbie"}
    assert user_row(rt, "newbie").locale == "en"


def test_weak_password_and_bad_fields_are_422_and_nothing_is_created(client, org, rt):
    login(client, "admin")
    resp = post(client, "/admin/org/users/new", {"username": "weak", "display_name": "弱密码",
                                                 "email": "w@example.test", "locale": "zh_CN", "password": "short"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "至少 8 个字符" in page and 'value="弱密码"' in page and 'value="w@example.test"' in page
    assert user_row(rt, "weak") is None
    resp = post(client, "/admin/org/users/new", {"username": "a_fin", "display_name": "", "email": "nope",
                                                 "locale": "zh_CN", "password": STRONG})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "已被使用" in page and "必填" in page and "电子邮件地址无效" in page
    with rt.reads() as s:
        assert s.scalar(select(func.count(User.id))) == len(org["actors"])


def test_assign_role_shows_the_units_tasks_and_remove_hides_them(app, client, org, rt):
    iid = start(rt, org)
    [task] = ready_tasks(rt, iid)
    login(client, "admin")
    post(client, "/admin/org/users/new", {"username": "deputy", "display_name": "副主任", "locale": "zh_CN",
                                          "password": STRONG})
    deputy = app.test_client()
    login(deputy, "deputy", STRONG)
    assert f"/tasks/{task.id}" not in deputy.get("/").get_data(as_text=True)

    resp = post(client, "/admin/org/users/deputy/roles", {"role": "rectification_office", "unit": "plant_a"})
    assert resp.status_code == 302
    assert f"/tasks/{task.id}" in deputy.get("/").get_data(as_text=True)
    page = client.get("/admin/org/user?username=deputy").get_data(as_text=True)
    assert "整改办公室" in page
    [ev] = audit_actions(rt, "role.assigned")[-1:]
    assert ev.payload == {"role": "rectification_office", "unit": "plant_a"} and ev.actor == "admin"

    bad = post(client, "/admin/org/users/deputy/roles", {"role": "wizard", "unit": "nowhere"})
    assert bad.status_code == 422 and "请从列表中选择" in bad.get_data(as_text=True)

    resp = post(client, "/admin/org/users/deputy/roles/remove", {"role": "rectification_office", "unit": "plant_a"})
    assert resp.status_code == 302
    assert f"/tasks/{task.id}" not in deputy.get("/").get_data(as_text=True)
    [ev] = audit_actions(rt, "role.unassigned")
    assert ev.payload == {"role": "rectification_office", "unit": "plant_a"} and ev.actor == "admin"
    assert post(client, "/admin/org/users/deputy/roles/remove",
                {"role": "rectification_office", "unit": "plant_a"}).status_code == 404


def test_admin_cannot_remove_own_admin_role(client, org, rt):
    login(client, "admin")
    resp = post(client, "/admin/org/users/admin/roles/remove", {"role": "admin", "unit": "group"})
    assert resp.status_code == 422 and "不能移除自己的系统管理员角色" in resp.get_data(as_text=True)
    with rt.reads() as s:
        assert s.scalar(select(func.count(RoleAssignment.id)).where(RoleAssignment.role == "admin")) == 1


def test_deactivate_reactivate_and_not_self(app, client, org, rt):
    victim = app.test_client()
    login(victim, "a_fin")
    login(client, "admin")
    assert post(client, "/admin/org/users/a_fin/active", {"active": "0"}).status_code == 302
    assert not user_row(rt, "a_fin").is_active
    assert not can_log_in(app, "a_fin", "passw0rd!")
    assert victim.get("/").status_code == 302  # the open session ends too
    assert "已停用" in client.get("/admin/org/").get_data(as_text=True)
    assert [e.payload for e in audit_actions(rt, "user.deactivated")] == [{"username": "a_fin"}]

    assert post(client, "/admin/org/users/a_fin/active", {"active": "1"}).status_code == 302
    assert can_log_in(app, "a_fin", "passw0rd!")
    assert len(audit_actions(rt, "user.activated")) == 1

    resp = post(client, "/admin/org/users/admin/active", {"active": "0"})
    assert resp.status_code == 422 and "不能停用自己的账号" in resp.get_data(as_text=True)
    assert user_row(rt, "admin").is_active


def test_edit_profile_and_reset_password(app, client, org, rt):
    login(client, "admin")
    resp = post(client, "/admin/org/users/a_hr/profile", {"display_name": "人事甲", "email": "bad", "locale": "en"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'value="人事甲"' in page and 'value="bad"' in page
    assert user_row(rt, "a_hr").display_name == "a_hr"
    resp = post(client, "/admin/org/users/a_hr/profile",
                {"display_name": "人事甲", "email": "hr@example.test", "locale": "en"})
    assert resp.status_code == 302
    u = user_row(rt, "a_hr")
    assert (u.display_name, u.email, u.locale) == ("人事甲", "hr@example.test", "en")
    [ev] = audit_actions(rt, "user.updated")
    assert ev.payload["changes"]["display_name"] == ["a_hr", "人事甲"]

    resp = post(client, "/admin/org/users/a_hr/password", {"password": "12345678"})
    assert resp.status_code == 422 and "字母和数字" in resp.get_data(as_text=True)
    assert can_log_in(app, "a_hr", "passw0rd!")
    assert post(client, "/admin/org/users/a_hr/password", {"password": STRONG}).status_code == 302
    assert can_log_in(app, "a_hr", STRONG) and not can_log_in(app, "a_hr", "passw0rd!")
    assert len(audit_actions(rt, "user.password_set")) == 1
    assert post(client, "/admin/org/users/nobody/password", {"password": STRONG}).status_code == 404


def test_create_unit_under_parent_rename_and_duplicate(client, org, rt):
    login(client, "admin")
    resp = post(client, "/admin/org/units", {"parent": "plant_a_finance", "code": "plant_a_fin_tax",
                                              "name": "税务组", "name_en": "Tax", "kind": "department"})
    assert resp.status_code == 302
    with rt.reads() as s:
        new = s.scalar(select(Unit).where(Unit.code == "plant_a_fin_tax"))
        parent = s.get(Unit, org["units"]["plant_a_finance"])
        assert new.parent_id == parent.id and new.path == f"{parent.path}{new.id}/"
    page = client.get("/admin/org/units").get_data(as_text=True)
    assert 'data-code="plant_a_fin_tax"' in page and f"<code class=\"unit-path\">{new.path}</code>" in page
    assert 'class="unit depth-3" data-code="plant_a_fin_tax"' in page
    [ev] = [e for e in audit_actions(rt, "unit.created") if e.payload["code"] == "plant_a_fin_tax"]
    assert ev.actor == "admin" and ev.payload["parent"] == "plant_a_finance"

    resp = post(client, "/admin/org/units", {"parent": "group", "code": "plant_a", "name": "重复",
                                              "name_en": "", "kind": "enterprise"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "已被使用" in page and 'value="重复"' in page
    with rt.reads() as s:
        assert s.scalar(select(func.count(Unit.id)).where(Unit.name == "重复")) == 0

    resp = post(client, "/admin/org/units/plant_a_fin_tax/rename", {"name": "", "name_en": "Tax"})
    assert resp.status_code == 422 and "必填" in resp.get_data(as_text=True)
    resp = post(client, "/admin/org/units/plant_a_fin_tax/rename", {"name": "税务科", "name_en": "Tax office"})
    assert resp.status_code == 302
    assert "税务科" in client.get("/admin/org/units").get_data(as_text=True)
    [ev] = audit_actions(rt, "unit.renamed")
    assert ev.payload["name"] == ["税务组", "税务科"] and ev.actor == "admin"
    assert post(client, "/admin/org/units/nowhere/rename", {"name": "x"}).status_code == 404


def test_forms_need_csrf(client, org, rt):
    login(client, "admin")
    resp = client.post("/admin/org/users/new", data={"username": "nocsrf", "display_name": "x", "password": STRONG})
    assert resp.status_code == 400 and user_row(rt, "nocsrf") is None
