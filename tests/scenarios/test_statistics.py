"""统计分析 over real rounds (SQLite and PostgreSQL): figures per unit and category, recurring problems
across units and rounds, closures per month, and the caller's scope."""

from __future__ import annotations

from datetime import date

from rectiflow.read import statistics
from rectiflow.services.chain import rounds as chainsvc
from scenarios.test_round import PROBLEMS, open_round, plan_approved, problems, rectify_and_close

TODAY = date(2025, 5, 10)  # plant A's problems were due on 30 April, plant B's later


def second_round(rt, org, unit="plant_b", number=1, year=2025):
    """Plant B repeats the 中央八项规定 problem (category 2.1) and adds a new one."""
    with rt.sessions.begin() as s:
        rnd = chainsvc.create_round(
            s, rt, actor=org["actors"]["office"], unit_code=unit, year=year, number=number,
            title=f"{year}年乙公司巡察", team="第二巡察组", feedback_date="2025-02-28", feedback_text="反馈意见",
            problems=[
                {"number": "1.1", "aspect": "落实全面从严治党", "category": "2.1", "domain_tag": "中央八项规定",
                 "feedback_text": "违规发放津补贴", "department_code": f"{unit}_finance"},
                {"number": "1.2", "aspect": "落实全面从严治党", "category": "4.1", "domain_tag": "采购/招投标",
                 "feedback_text": "采购程序不规范", "department_code": f"{unit}_finance"},
            ])
        return rnd.id


def test_figures_recurring_problems_and_closures(rt, chain):
    org = chain
    round_a, iid_a = open_round(rt, org)
    plan_approved(rt, org, iid_a)
    rectify_and_close(rt, org, problems(rt, round_a)["1.1"][1], "a_fin")
    second_round(rt, org)
    with rt.reads() as s:
        ov = statistics.overview(s, org["actors"]["office"], TODAY)
    assert (ov.problems, ov.closed, ov.supervised) == (5, 1, 0)
    assert ov.by_status["closed"] == 1 and sum(ov.by_status.values()) == 5
    assert ov.overdue == 2  # plant A's two open problems were due on 30 April; plant B's are not yet
    units = {u.name: (u.total, u.closed, u.overdue) for u in ov.by_unit}
    assert units == {"电厂A": (3, 1, 2), "电厂B": (2, 0, 0)}
    recurring = {(c.kind, c.key): (c.total, c.units, c.rounds) for c in ov.recurring}
    assert recurring == {("category", "2.1"): (2, 2, 2), ("domain", "中央八项规定"): (2, 2, 2)}
    assert all(not c.recurring for c in ov.by_category if c.key in ("5.3", "资金", "4.1", "采购/招投标"))
    assert ov.recurring[0].label and ov.recurring[0].label != "2.1"  # labelled from the round's taxonomy
    assert ov.measures >= 1 and ov.measures_done >= 1
    months = dict(ov.closures_by_month)
    assert len(months) == 12 and sum(months.values()) == 1 and list(months)[-1] == "2025-05"


def test_one_unit_sees_its_own_figures_only(rt, chain):
    org = chain
    round_a, iid_a = open_round(rt, org)
    second_round(rt, org)
    with rt.reads() as s:
        mine = statistics.overview(s, org["actors"]["b_rect"], TODAY)
        hr = statistics.overview(s, org["actors"]["a_hr"], TODAY)
        one_round = statistics.overview(s, org["actors"]["office"], TODAY, round_id=round_a)
        nobody = statistics.overview(s, org["actors"]["a_fin"], TODAY, year=2019)
    assert mine.problems == 2 and [u.name for u in mine.by_unit] == ["电厂B"] and mine.recurring == []
    assert hr.problems == 1 and hr.by_category[0].key in ("3.1", "选人用人")
    assert one_round.problems == len(PROBLEMS)
    assert nobody.problems == 0 and len(nobody.closures_by_month) == 12


def test_a_category_repeated_in_two_rounds_of_one_unit_recurs(rt, chain):
    org = chain
    second_round(rt, org, number=1, year=2024)
    second_round(rt, org, number=2, year=2025)
    with rt.reads() as s:
        ov = statistics.overview(s, org["actors"]["office"], TODAY)
    recurring = {(c.kind, c.key): (c.units, c.rounds) for c in ov.recurring}
    assert recurring[("category", "2.1")] == (1, 2) and recurring[("domain", "采购/招投标")] == (1, 2)
