"""Chain scenarios: the real processes/ and forms/ deployed, plus the extra role holders they need."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from testsupport import ROOT

from rectiflow.services.workflow.definitions import Sources, deploy


@pytest.fixture
def chain(rt: Any, org: dict[str, Any]) -> dict[str, Any]:
    from rectiflow.services.accounts import users as us
    from rectiflow.services.accounts.actors import load_actor

    with rt.sessions.begin() as s:
        deploy(s, rt, Sources.from_dirs(ROOT / "processes", ROOT / "forms"), actor="test")
        us.create_unit(
            s, rt.clock, code="group_finance", name="集团财务部", kind="department", parent_code="group"
        )
        extra = {
            "a_pc": ("party_committee", "plant_a"),
            "func": ("functional_department", "group"),
            "a_lead": ("leadership_member", "plant_a"),
        }
        for name, (role, unit) in extra.items():
            us.create_user(s, rt.clock, username=name, display_name=name, password="passw0rd!")
            us.assign(s, rt.clock, name, role, unit)
    with rt.sessions.begin() as s:  # the evidence the scenarios submit, uploaded where it is used
        from rectiflow.db.org import Unit
        from rectiflow.services.files import store_file
        from scenarios.test_round import EVIDENCE_FILES

        for unit in s.scalars(select(Unit).where(Unit.kind == "department")):
            for name, content in EVIDENCE_FILES.items():
                store_file(s, rt.clock, rt.settings, None, name, content, unit.path)
    with rt.sessions() as s:
        for name in extra:
            org["actors"][name] = load_actor(s, us.user_by_name(s, name).id)
        org["units"]["group_finance"] = us.unit_by_code(s, "group_finance").id
    return org
