"""A demo round for the demo organisation, advanced mid-way through the services.

``load_demo_round(rt, session)`` opens 「演示：巡察整改」 on plant_a with three problems, issues the
feedback, gets the plan through review and approval, then leaves:

* 1.1 (finance) under rectification at 40 %;
* 1.2 (finance) overdue: its deadline has passed and its colour warnings have fired (red);
* 2.1 (HR) in acceptance: applied with evidence, verified, waiting for the higher-level opinion.

Every task is completed as a user holding the task's role in scope; a missing role holder is
created as ``demo_<role>`` (password ``Demo-passw0rd!``). Missing units are created too. Runs in the
caller's transaction; calling it again returns the existing round.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Problem, Round
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.db.runtime import ProcessDefinition, UserTask
from rectiflow.domain.vocab import AcceptanceDecision, Role, TaskStatus, UnitKind
from rectiflow.services import files
from rectiflow.services.accounts import users as us
from rectiflow.services.accounts.actors import Actor, load_actor
from rectiflow.services.chain import rounds as chain
from rectiflow.services.workflow import instances, tasks

DEMO_TITLE = "演示：巡察整改"
DEMO_PASSWORD = "Demo-passw0rd!"  # noqa: S105 (demo accounts only)
UNITS = (
    ("group", "集团", UnitKind.GROUP, None),
    ("plant_a", "电厂A", UnitKind.ENTERPRISE, "group"),
    ("plant_a_finance", "电厂A财务部", UnitKind.DEPARTMENT, "plant_a"),
    ("plant_a_hr", "电厂A人力资源部", UnitKind.DEPARTMENT, "plant_a"),
)
# Where a created role holder sits when nobody holds the role.
HOME: dict[str, str] = {Role.INSPECTION_OFFICE: "group", Role.LEADING_GROUP: "group",
                        Role.FUNCTIONAL_DEPARTMENT: "group"}
# Problem 2.1's evidence: a real stored file of the HR department, so that reviewers can open it.
EVIDENCE_NAME = "干部选拔程序整改会议纪要.txt"
EVIDENCE_TEXT = ("甲发电公司党委会会议纪要（摘要）\n"
                 "一、重新履行干部选拔程序：民主推荐、考察、讨论决定、任前公示各环节材料齐全。\n"
                 "二、修订《中层干部选拔任用工作细则》，明确动议和考察环节的责任人。\n")


def _ensure_units(session: Session, rt: Any) -> None:
    for code, name, kind, parent in UNITS:
        if session.scalar(select(Unit.id).where(Unit.code == code)) is None:
            us.create_unit(
                session, rt.clock, code=code, name=name, kind=kind, parent_code=parent, actor="demo"
            )


def _ensure_deployed(session: Session, rt: Any) -> None:
    if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == "round")) is None:
        from rectiflow.services.workflow.definitions import Sources, deploy

        deploy(
            session,
            rt,
            Sources.from_dirs(rt.settings.processes_dir, rt.settings.forms_dir),
            actor="demo",
            note="demo round",
        )


def _actor_for(session: Session, rt: Any, task: UserTask) -> Actor:
    ancestors = [int(x) for x in task.unit_path.strip("/").split("/") if x]
    uid = session.scalar(
        select(RoleAssignment.user_id)
        .where(RoleAssignment.role == task.role, RoleAssignment.unit_id.in_(ancestors))
        .order_by(RoleAssignment.id)
    )
    if uid is None:
        name = f"demo_{task.role}"
        existing = session.scalar(select(User.id).where(User.username == name))
        if existing is None:
            us.create_user(
                session,
                rt.clock,
                username=name,
                display_name=f"演示{task.role}",
                password=DEMO_PASSWORD,
                actor="demo",
            )
        unit = session.get(Unit, task.unit_id) if task.unit_id else None
        home = HOME.get(task.role) or (
            "plant_a" if task.role != Role.RESPONSIBLE_DEPARTMENT or unit is None else unit.code
        )
        us.assign(session, rt.clock, name, task.role, home, actor="demo")
        session.flush()
        uid = session.scalar(
            select(RoleAssignment.user_id)
            .where(RoleAssignment.role == task.role, RoleAssignment.unit_id.in_(ancestors))
            .order_by(RoleAssignment.id)
        )
    if uid is None:
        raise RuntimeError(f"demo: nobody holds {task.role} for {task.unit_path}")
    return load_actor(session, uid)


def _do(session: Session, rt: Any, instance_id: int | None, element: str, data: dict[str, Any]) -> None:
    task = session.scalar(
        select(UserTask).where(
            UserTask.instance_id == instance_id, UserTask.element_id == element, UserTask.status == TaskStatus.READY
        )
    )
    if task is None:
        raise RuntimeError(f"demo: no ready task {element} on instance {instance_id}")
    tasks.complete_task(session, rt, task.id, _actor_for(session, rt, task), data)


def _evidence(session: Session, rt: Any, problem: Problem) -> str:
    department = session.get(Unit, problem.department_id)
    assert department is not None
    stored = files.store_file(session, rt.clock, rt.settings, None, EVIDENCE_NAME, EVIDENCE_TEXT.encode(),
                              department.path)
    return stored.sha256


def load_demo_round(rt: Any, session: Session) -> Round:
    existing = session.scalar(select(Round).where(Round.title == DEMO_TITLE))
    if existing is not None:
        return existing
    _ensure_units(session, rt)
    _ensure_deployed(session, rt)
    today = rt.clock.today()
    feedback = today - timedelta(days=45)
    problems = [
        {
            "number": "1.1",
            "aspect": "落实全面从严治党战略部署",
            "category": "2.1",
            "domain_tag": "中央八项规定",
            "feedback_text": "公务接待超标准、超范围",
            "department_code": "plant_a_finance",
            "deadline": (today + timedelta(days=60)).isoformat(),
        },
        {
            "number": "1.2",
            "aspect": "生产经营",
            "category": "5.3",
            "domain_tag": "资金",
            "feedback_text": "大额资金支付审批不规范",
            "department_code": "plant_a_finance",
            "deadline": (today - timedelta(days=3)).isoformat(),
        },
        {
            "number": "2.1",
            "aspect": "落实新时代党的组织路线",
            "category": "3.1",
            "domain_tag": "选人用人",
            "feedback_text": "干部选拔任用程序执行不严",
            "department_code": "plant_a_hr",
            "deadline": (today + timedelta(days=30)).isoformat(),
        },
    ]
    rnd = chain.create_round(
        session,
        rt,
        actor="demo",
        unit_code="plant_a",
        year=feedback.year,
        number=1,
        title=DEMO_TITLE,
        team="第一巡察组",
        feedback_date=feedback,
        feedback_text="巡察组反馈意见（演示数据）",
        problems=problems,
    )
    iid = rnd.instance_id
    assert iid is not None
    _do(session, rt, iid, "issue", {"issued_on": feedback.isoformat(), "note": "请按期整改"})
    _do(
        session,
        rt,
        iid,
        "draft_plan",
        {
            "plan_text": "一方案三清单：针对三个问题制定整改措施、责任与时限。",
            "goals": "全部问题按期销号",
            "responsibilities_confirmed": True,
        },
    )
    _do(session, rt, iid, "review_jw", {"decision": AcceptanceDecision.APPROVE, "opinion": "同意"})
    _do(session, rt, iid, "review_io", {"decision": AcceptanceDecision.APPROVE, "opinion": "同意"})
    _do(session, rt, iid, "approve_plan", {"decision": AcceptanceDecision.APPROVE})
    session.flush()
    by_number = {p.number: p for p in session.scalars(select(Problem).where(Problem.round_id == rnd.id))}
    p11, p12, p21 = by_number["1.1"], by_number["1.2"], by_number["2.1"]
    _do(
        session,
        rt,
        p11.instance_id,
        "report",
        {
            "progress": 40,
            "narrative": "已修订公务接待管理办法，正在清退超标费用",
            "measures": [
                {"text": "修订接待管理办法", "progress": 100},
                {"text": "清退超标费用", "progress": 20},
            ],
        },
    )
    _do(session, rt, p12.instance_id, "report", {"progress": 30, "narrative": "正在梳理审批流程"})
    assert p12.instance_id is not None
    instances.fire_timers(session, rt, p12.instance_id)  # overdue: green, yellow and red are all due
    _do(session, rt, p21.instance_id, "report", {"progress": 100, "narrative": "已重新履行选拔程序"})
    _do(
        session,
        rt,
        p21.instance_id,
        "apply",
        {"summary": "整改完成，附会议纪要及公示材料", "evidence": [_evidence(session, rt, p21)]},
    )
    _do(session, rt, p21.instance_id, "verify", {"decision": AcceptanceDecision.APPROVE, "opinion": "材料齐全"})
    session.flush()
    return rnd
