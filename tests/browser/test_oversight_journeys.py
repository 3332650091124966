"""The statistics page and the round's assessment card in Chromium: the charts are drawn from the
locally served ECharts without a page error, and an assessment typed in the browser is refused with
its values kept, then recorded. No sleeps: every wait is Playwright's auto-waiting ``expect``."""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import expect, login

pytestmark = pytest.mark.browser


def test_statistics_charts_are_drawn_without_errors(page: Any) -> None:
    ex = expect()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, "office")
    page.get_by_role("link", name="统计分析").click()
    ex(page.locator("h1")).to_have_text("统计分析")
    for chart in ("status", "colour", "unit", "category", "closures"):
        ex(page.locator(f'[data-chart="{chart}"] svg')).to_have_count(1)
    ex(page.locator("#fig-problems")).not_to_have_text("0")
    assert errors == []


def test_an_assessment_is_refused_with_its_values_kept_then_recorded(page: Any) -> None:
    ex = expect()
    login(page, "office")
    page.goto("/rounds/")
    page.locator("table a[href^='/rounds/']").first.click()
    form = page.locator("#evaluation-form")
    form.locator("#eval-score").fill("45")
    form.get_by_role("button").click()
    ex(page.locator("#eval-comment-error")).to_contain_text("请写明理由")
    ex(page.locator("#eval-score")).to_have_value("45")
    page.locator("#eval-score").fill("86")
    page.locator("#eval-comment").fill("整改总体到位")
    page.locator("#evaluation-form").get_by_role("button").click()
    ex(page.locator("#oversight table").first).to_contain_text("整改总体到位")
    ex(page.locator("#oversight table").first).to_contain_text("较好")
