"""The statistics page (统计分析): figures and the charts' data for the caller's units only, filters
checked against what the caller may see, the chart library served locally."""

from __future__ import annotations

import json
import re

import pytest

from rectiflow.services.demo.org import DEMO_PASSWORD, load_demo
from tests.web.conftest import login


@pytest.fixture
def demo(rt):
    with rt.sessions.begin() as s:
        load_demo(s, rt)
    return rt


def chart_data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="stats-data">(.*?)</script>', page, re.S)
    assert m, "no chart data on the page"
    return json.loads(m.group(1))


def test_office_sees_the_demo_round_in_figures_and_charts(demo, client):
    login(client, "office", DEMO_PASSWORD)
    resp = client.get("/stats/")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "统计分析" in page and "普遍性、规律性问题" in page
    data = chart_data(page)
    assert data["problems"] >= 3 and sum(data["by_status"].values()) == data["problems"]
    assert re.search(rf'id="fig-problems">{data["problems"]}<', page)
    assert [u["name"] for u in data["by_unit"]] == ["甲发电公司"]
    assert data["labels"]["status"]["closed"] == "已销号"
    assert '/static/vendor/echarts/dist/echarts.min.js' in page and "cdn" not in page.lower()
    for asset in ("/static/vendor/echarts/dist/echarts.min.js", "/static/js/stats-charts.js"):
        with client.get(asset) as served:
            assert served.status_code == 200


def test_another_unit_sees_nothing_of_it_even_naming_the_round(demo, client, app):
    office = app.test_client()
    login(office, "office", DEMO_PASSWORD)
    page = office.get("/stats/").get_data(as_text=True)
    round_id = re.search(r'name="round">.*?<option value="(\d+)"', page, re.S).group(1)
    login(client, "b_rect", DEMO_PASSWORD)
    for query in ("", f"?round={round_id}"):
        page = client.get("/stats/" + query).get_data(as_text=True)
        assert "尚未登记问题" in page and 'id="stats-data"' not in page


def test_filters_narrow_and_bad_values_are_ignored(demo, client):
    login(client, "office", DEMO_PASSWORD)
    page = client.get("/stats/").get_data(as_text=True)
    everything = chart_data(page)
    year = re.search(r'name="year">.*?<option value="(\d{4})"', page, re.S).group(1)
    assert chart_data(client.get(f"/stats/?year={year}").get_data(as_text=True)) == everything
    for query in ("?round=abc&year=x", "?round=999999", "?year=1999"):  # not a choice offered: not applied
        resp = client.get("/stats/" + query)
        assert resp.status_code == 200 and chart_data(resp.get_data(as_text=True)) == everything
    login_en = post_language(client, "en")
    assert login_en.status_code == 302
    assert ">Statistics<" in client.get("/stats/").get_data(as_text=True)


def post_language(client, locale):
    from tests.web.conftest import post

    return post(client, "/language", {"locale": locale, "next": "/stats/"})


def token(client, username):
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": "Bearer " + resp.get_json()["token"]}


def test_the_same_figures_through_the_api(demo, client):
    h = token(client, "office")
    login(client, "office", DEMO_PASSWORD)
    page_data = chart_data(client.get("/stats/").get_data(as_text=True))
    resp = client.get("/api/v1/stats", headers=h)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["problems"] == page_data["problems"] and body["by_status"] == page_data["by_status"]
    assert body["leads"] == 0  # the inspection office handles leads: the count is there, even at zero
    assert client.get("/api/v1/stats?year=abc", headers=h).status_code == 422
    assert client.get("/api/v1/stats?round=999999", headers=h).status_code == 404
    assert client.get("/api/v1/stats").status_code == 401
    other = client.get("/api/v1/stats", headers=token(client, "rect")).get_json()
    assert "leads" not in other and other["problems"] == body["problems"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/stats" in spec["paths"]
