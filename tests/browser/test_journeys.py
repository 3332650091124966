"""Journeys through the real app in Chromium: every demo role's inbox, a task submitted with an error
and then correctly, the instance diagram with its markers, and the English switch. No sleeps: every
wait is Playwright's auto-waiting ``expect``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import PASSWORD, expect, login, logout  # noqa: F401

pytestmark = pytest.mark.browser
FIN_11 = "整改：问题 1.1"
FIN_12 = "整改：问题 1.2"
FUNC_21 = "上级业务部门意见：问题 2.1"
ALL = (FIN_11, FIN_12, FUNC_21)
# What each demo role finds in its inbox right after the demo data is loaded.
INBOXES: dict[str, tuple[str, ...]] = {
    "office": (),
    "leader": (),
    "party": (),
    "boss": (),
    "rect": (),
    "finance": (FIN_11, FIN_12),
    "hr": (),
    "jiwei": (),
    "func": (FUNC_21,),
    "admin": (),
}


def inbox_rows(page: Any) -> Any:
    return page.locator("table.inbox tbody tr")


def test_every_role_sees_its_own_inbox(page: Any) -> None:
    ex = expect()
    for username, wanted in INBOXES.items():
        login(page, username)
        for title in wanted:
            ex(page.get_by_role("link", name=re.compile(re.escape(title)))).to_be_visible()
        for title in ALL:
            if title not in wanted:
                ex(page.get_by_role("link", name=re.compile(re.escape(title)))).to_have_count(0)
        # The counter in the navigation agrees with the list.
        count = int(page.locator("#nav-inbox-count").inner_text())
        ex(inbox_rows(page)).to_have_count(count)
        if count == 0:
            ex(page.locator("p.empty")).to_contain_text("暂无待办")
        if username == "finance":
            page.screenshot(path="/tmp/rectiflow-inbox.png", full_page=True)
        logout(page)


def test_submit_with_error_then_fix_and_the_work_moves_on(page: Any) -> None:
    ex = expect()
    login(page, "func")
    page.get_by_role("link", name=re.compile(FUNC_21)).click()
    ex(page.locator("h1")).to_have_text(FUNC_21)
    page.locator("input[name='decision'][value='approve']").check()
    page.click("button[name='_action'][value='complete']")
    # The message sits next to the field it is about, and the choice made is kept.
    error = page.locator(".field[data-path='opinion'] .field-error")
    ex(error).to_be_visible()
    ex(error).to_contain_text("必填")
    ex(page.locator("#f-opinion")).to_have_attribute("aria-describedby", re.compile("f-opinion-error"))
    ex(page.locator("input[name='decision'][value='approve']")).to_be_checked()

    page.fill("#f-opinion", "支撑材料齐全，同意验收。")
    page.click("button[name='_action'][value='complete']")
    ex(page.locator(".flash-success")).to_contain_text("已提交。工作已流转至：党组织决策会议研究")
    ex(page.get_by_role("link", name=re.compile(FUNC_21))).to_have_count(0)
    logout(page)

    login(page, "party")
    ex(page.get_by_role("link", name=re.compile("党组织决策会议研究：问题 2.1"))).to_be_visible()


def test_instance_page_shows_the_diagram_with_markers(page: Any) -> None:
    ex = expect()
    login(page, "func")
    row = inbox_rows(page).filter(has_text=FUNC_21)
    row.locator("td:nth-child(2) a").click()
    ex(page.locator("#diagram svg").first).to_be_visible()
    # The problem's progress report is done; the acceptance it is now in (a called process, whose
    # step waits for the functional department) is active.
    ex(page.locator("#diagram g.djs-element.rf-done[data-element-id='report']")).to_have_count(1)
    ex(page.locator("#diagram g.djs-element.rf-active[data-element-id='acceptance']")).to_have_count(1)
    ex(page.locator("#diagram g.djs-element.rf-active")).to_have_count(1)
    ex(page.locator("#diagram.diagram-error")).to_have_count(0)
    page.screenshot(path="/tmp/rectiflow-instance.png", full_page=True)


def test_overdue_step_is_marked_on_the_diagram(page: Any) -> None:
    ex = expect()
    login(page, "finance")
    row = inbox_rows(page).filter(has_text=FIN_12)  # the demo's overdue problem
    ex(row.locator(".chip-red")).to_have_count(1)
    row.locator("td:nth-child(2) a").click()
    ex(page.locator("#diagram svg").first).to_be_visible()
    ex(page.locator("#diagram g.djs-element.rf-overdue[data-element-id='report']")).to_have_count(1)


def test_switch_to_english(page: Any) -> None:
    ex = expect()
    login(page, "func")
    ex(page.locator("h1")).to_have_text("我的待办")
    page.click(".lang-switch button[value='en']")
    ex(page.locator("h1")).to_have_text("My tasks")
    ex(page.locator("nav.mainnav")).to_contain_text("Inbox")
    ex(page.locator("nav.mainnav")).to_contain_text("Ledger")
    ex(page.locator("table.inbox thead")).to_contain_text("Deadline")
    page.get_by_role("link", name=re.compile(FUNC_21)).click()
    ex(page.locator("label[for='f-opinion']")).to_contain_text("Opinion")
    ex(page.locator("button[name='_action'][value='complete']")).to_have_text("Submit")
    # The choice is remembered on the next page.
    page.goto("/ledger/")
    ex(page.locator("h1")).to_have_text("Rectification ledger")
