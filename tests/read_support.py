"""Cheap ledger rows for the paging tests: one round and ``n`` problems written with one bulk INSERT
each (no process behind them: the read models read rows, they never run workflows)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert
from testsupport import START

from rectiflow.db.domain import Problem, Round
from rectiflow.db.org import Unit


def ledger_rows(rt: Any, org: dict[str, Any], n: int, *, unit: str = "plant_a_finance", title: str = "第一轮",
                number: int = 1) -> int:
    """A round of plant A with ``n`` problems in ``unit``; every third is supervised, colours rotate, the
    deadlines run over the days of 2025. Returns the round's id."""
    units = org["units"]
    with rt.sessions.begin() as s:
        plant = units["plant_a"]
        round_id = s.execute(insert(Round).values(
            year=2025, number=number, title=title, team="", unit_id=plant, feedback_date=date(2025, 1, 2),
            feedback_text="", schedule={}, thresholds={}, taxonomy=[], plan_text="", status="rectifying",
            created_at=START,
        ).returning(Round.id)).scalar_one()
        path = s.get(Unit, units[unit]).path
        colours = ("none", "green", "yellow", "red")
        s.execute(insert(Problem), [
            {"round_id": round_id, "number": f"{i + 1}", "sort_key": f"{i + 1:06d}", "aspect": "", "category": "2.1",
             "domain_tag": "", "feedback_text": f"问题 {i + 1}", "root_cause": "", "immediate": False,
             "unit_id": units[unit], "unit_path": path, "department_id": units[unit], "status": "rectifying",
             "colour": colours[i % 4], "deadline": date(2025, 1, 1 + i % 28), "supervised": i % 3 == 0,
             "long_term": False, "yellow_count": 0, "red_count": 0, "returned_count": 0, "updated_at": START}
            for i in range(n)
        ])
    return round_id
