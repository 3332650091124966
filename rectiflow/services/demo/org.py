"""Demo data: an organisation, one account per role (password in README), the processes deployed,
and a round in progress. Idempotent: a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.org import User
from rectiflow.services.accounts import users as us
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow.definitions import Sources, deploy

DEMO_PASSWORD = "rectiflow2025"  # noqa: S105  (published in README for the demo accounts)

UNITS = [
    ("group", "能源集团", "Energy Group", "group", None),
    ("group_finance", "集团财务部", "Group Finance Dept.", "department", "group"),
    ("plant_a", "甲发电公司", "Plant A Power Co.", "enterprise", "group"),
    ("plant_a_finance", "甲公司财务部", "Plant A Finance", "department", "plant_a"),
    ("plant_a_hr", "甲公司人力资源部", "Plant A HR", "department", "plant_a"),
    ("plant_b", "乙发电公司", "Plant B Power Co.", "enterprise", "group"),
    ("plant_b_finance", "乙公司财务部", "Plant B Finance", "department", "plant_b"),
]

# username, display name, role, unit
ACCOUNTS = [
    ("office", "王巡察（巡察办）", "inspection_office", "group"),
    ("leader", "李组长（领导小组）", "leading_group", "group"),
    ("party", "赵书记（甲公司党委）", "party_committee", "plant_a"),
    ("boss", "钱总（甲公司主要负责人）", "principal_leader", "plant_a"),
    ("rect", "孙主任（甲公司整改办）", "rectification_office", "plant_a"),
    ("finance", "周会计（甲公司财务部）", "responsible_department", "plant_a_finance"),
    ("hr", "吴专员（甲公司人力资源部）", "responsible_department", "plant_a_hr"),
    ("jiwei", "郑书记（甲公司纪委）", "discipline_committee", "plant_a"),
    ("func", "冯处长（集团财务部）", "functional_department", "group"),
    ("designer", "陈工（流程设计）", "process_designer", "group"),
    ("admin", "系统管理员", "admin", "group"),
    ("b_rect", "褚主任（乙公司整改办）", "rectification_office", "plant_b"),
]


def load_demo(session: Session, rt: Runtime) -> bool:
    """Load everything in the caller's transaction (``rectiflow demo`` owns it: all or nothing).
    Return True when something was created."""
    from rectiflow.services.demo.round import load_demo_round

    if session.scalar(select(User.id).where(User.username == "office")) is not None:
        return False
    for code, name, name_en, kind, parent in UNITS:
        us.create_unit(session, rt.clock, code=code, name=name, name_en=name_en, kind=kind, parent_code=parent)
    for username, display, role, unit in ACCOUNTS:
        us.create_user(session, rt.clock, username=username, display_name=display, password=DEMO_PASSWORD,
                       email=f"{username}@example.test")
        us.assign(session, rt.clock, username, role, unit)
    deploy(session, rt, Sources.from_dirs(rt.settings.processes_dir, rt.settings.forms_dir), actor="demo",
           note="demo")
    load_demo_round(rt, session)
    return True
