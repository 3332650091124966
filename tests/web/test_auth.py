"""Login, logout, rate limit, CSRF, health, language switch."""

from __future__ import annotations

from tests.web.conftest import csrf_token, login, logout, post


def test_pages_need_login(client):
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_login_and_logout(client, org):
    resp = login(client, "a_rect")
    assert resp.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "a_rect" in page and "整改办公室" in page and "我的待办" in page
    logout(client)
    assert client.get("/").status_code == 302


def test_login_redirects_only_to_local_pages(client, org):
    resp = post(
        client,
        "/login",
        {"username": "a_rect", "password": "passw0rd!", "next": "https://evil.test/"},
        token_from="/login",
    )
    assert resp.headers["Location"] == "/"


def test_wrong_password_shows_a_clear_message(client, org):
    resp = post(client, "/login", {"username": "a_rect", "password": "nope"}, token_from="/login")
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    resp = post(client, "/login", {"username": "nobody", "password": "nope"}, token_from="/login")
    assert resp.status_code == 401


def test_rate_limit_after_five_failures_per_user_and_ip(client, org):
    for _ in range(5):
        assert (
            post(client, "/login", {"username": "a_fin", "password": "bad"}, token_from="/login").status_code
            == 401
        )
    resp = post(client, "/login", {"username": "a_fin", "password": "passw0rd!"}, token_from="/login")
    assert resp.status_code == 429
    assert "10 分钟" in resp.get_data(as_text=True)
    # Another user from the same address is not affected.
    login(client, "a_hr")


def test_missing_csrf_token_is_a_400_page(client, org):
    resp = client.post("/login", data={"username": "a_rect", "password": "passw0rd!"})
    assert resp.status_code == 400
    assert "表单已过期" in resp.get_data(as_text=True)
    login(client, "a_rect")
    resp = client.post("/logout", data={})
    assert resp.status_code == 400
    resp = client.post("/logout", data={"csrf_token": "forged"})
    assert resp.status_code == 400


def test_language_switch_shows_english_and_is_remembered(client, org, rt):
    login(client, "a_rect")
    post(client, "/language", {"locale": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "My tasks" in page and "Unit rectification office" in page and "我的待办" not in page
    assert 'lang="en"' in page and "Log out" in page
    logout(client)
    login(client, "a_rect")  # stored on the user
    assert "My tasks" in client.get("/").get_data(as_text=True)
    post(client, "/language", {"locale": "zh_CN", "next": "/"})
    assert "我的待办" in client.get("/").get_data(as_text=True)


def test_anonymous_language_switch(client):
    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "locale": "en", "next": "/login"})
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok", "db": True}


def test_session_cookie_flags(client, org):
    resp = post(client, "/login", {"username": "a_rect", "password": "passw0rd!"}, token_from="/login")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
