"""Statutory reports (整改情况报告机制): the ledger figures a report is written from, the text the
party committee starts from, and the escalation when a report is late.

``report_figures`` is the one place the figures are gathered: the Word draft
(``exchange_word.report_draft``) and the pre-filled form (``report_prefill``, run by the
``chain.report_prefill`` operation right before each ``submit_*`` task of the ``round`` process)
are both views of it, so the two never disagree. Narrative parts are marked 【请补充】.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.clock import BUSINESS_TZ
from rectiflow.db.domain import Measure, Problem, ReportMilestone, Round, Supervision
from rectiflow.db.org import Unit, User
from rectiflow.domain import schedules
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.services.chain.rounds import PROBLEM_STATUSES, REPORT_KINDS

REPORT_TITLES = {
    "rectification_report": "整改情况报告",
    "leader_report": "主要负责人组织落实整改情况报告",
    "phased_report": "阶段性整改情况报告",
    "annual_report": "年度整改情况报告",
}
FILL = "【请补充】"
# Who hears that a report is late (the party committee already has the task in its inbox).
OVERDUE_ROLES = ("principal_leader", "discipline_committee", "inspection_office")


def local_date(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(BUSINESS_TZ).date().isoformat()


def unit_name(session: Session, unit_id: int | None) -> str:
    u = session.get(Unit, unit_id) if unit_id else None
    return u.name if u else ""


def user_name(session: Session, user_id: int | None) -> str:
    u = session.get(User, user_id) if user_id else None
    return (u.display_name or u.username) if u else ""


def status_label(code: str) -> str:
    return PROBLEM_STATUSES.get(code, code)


@dataclass
class ReportFigures:
    """What the ledger says about a round on ``today`` (a business date)."""

    round: Round
    kind: str
    today: date
    unit_name: str
    due: date | None
    problems: list[Problem]
    counts: dict[str, int]  # problem status → number of problems
    measures: list[Measure]
    done_measures: int
    overdue: list[Problem]  # not closed and past their deadline
    supervisions: list[Supervision]  # proposed or active 挂牌督办
    flagged: list[Problem] = field(default_factory=list)  # supervised without a supervision row

    @property
    def total(self) -> int:
        return len(self.problems)

    @property
    def closed(self) -> int:
        return self.counts.get("closed", 0)

    @property
    def rate(self) -> str:
        return f"{self.closed * 100 / self.total:.1f}%" if self.total else "0%"

    @property
    def supervised_count(self) -> int:
        return len({s.problem_id for s in self.supervisions} | {p.id for p in self.flagged})

    def status_rows(self) -> list[tuple[str, int]]:
        """(label, count) in the ledger's status order, only the statuses that occur."""
        return [(label, self.counts[code]) for code, label in PROBLEM_STATUSES.items() if self.counts.get(code)]

    def overdue_days(self, p: Problem) -> int:
        return (self.today - p.deadline).days if p.deadline else 0


def report_figures(session: Session, round_id: int, kind: str, today: date) -> ReportFigures:
    if kind not in REPORT_TITLES:
        raise InvalidInput("unknown report kind", errors={"kind": [f"未知的报告类型：{kind}"]})
    rnd = session.get(Round, int(round_id))
    if rnd is None:
        raise NotFound(f"round {round_id} not found")
    problems = list(rnd.problems)
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.status] = counts.get(p.status, 0) + 1
    measures = [m for p in problems for m in p.measures]
    done = sum(1 for m in measures if m.status in ("done", "accepted") or m.progress >= 100)
    overdue = [p for p in problems if p.status != "closed" and p.deadline is not None and p.deadline < today]
    ids = [p.id for p in problems]
    sups = (
        list(
            session.scalars(
                select(Supervision)
                .where(Supervision.problem_id.in_(ids), Supervision.status.in_(("proposed", "active")))
                .order_by(Supervision.id)
            )
        )
        if ids
        else []
    )
    with_row = {s.problem_id for s in sups}
    due = session.scalar(
        select(ReportMilestone.due_date).where(ReportMilestone.round_id == rnd.id, ReportMilestone.kind == kind)
    )
    return ReportFigures(
        round=rnd,
        kind=kind,
        today=today,
        unit_name=unit_name(session, rnd.unit_id),
        due=due,
        problems=problems,
        counts=counts,
        measures=measures,
        done_measures=done,
        overdue=overdue,
        supervisions=sups,
        flagged=[p for p in problems if p.supervised and p.id not in with_row],
    )


# ---------------------------------------------------------------------------- lines shared by the views


def title(f: ReportFigures) -> str:
    return f"{f.unit_name}关于{f.round.title}{REPORT_TITLES[f.kind]}"


def meta_line(f: ReportFigures) -> str:
    text = f"报告类型：{schedules.MILESTONE_KIND_LABELS.get(f.kind, REPORT_TITLES[f.kind])}"
    if f.due:
        text += f"　　应报送日期：{f.due.isoformat()}"
    return text + f"　　数据截至：{f.today.isoformat()}"


def opening(f: ReportFigures) -> str:
    r = f.round
    return (
        f"根据{r.team or '巡察组'}于{r.feedback_date.isoformat()}反馈的巡察意见，{f.unit_name}党委高度重视，"
        f"对照问题清单逐项制定整改措施、明确责任部门和时限。现将整改情况报告如下。{FILL}"
    )


def problem_line(session: Session, p: Problem) -> str:
    dept = unit_name(session, p.department_id)
    line = f"{p.number}　【{status_label(p.status)}】{p.feedback_text}（责任部门：{dept or '—'}；"
    line += f"整改时限：{p.deadline.isoformat() if p.deadline else '—'}"
    if p.status == "closed" and p.closed_at:
        line += f"；销号日期：{local_date(p.closed_at)}"
    return line + "）"


def measure_line(m: Measure) -> str:
    return f"　　措施{m.seq}：{m.text}，进度 {m.progress}%" + (f"，{m.progress_text}" if m.progress_text else "")


def overdue_line(f: ReportFigures, p: Problem) -> str:
    return (
        f"{p.number}　{p.feedback_text}（整改时限 {p.deadline.isoformat() if p.deadline else ''}，"
        f"已超期 {f.overdue_days(p)} 天；原因及下一步措施：{FILL}）"
    )


def supervision_lines(session: Session, f: ReportFigures) -> list[str]:
    by_id = {p.id: p for p in f.problems}
    out = []
    for s in f.supervisions:
        p = by_id[s.problem_id]
        leader = user_name(session, s.leader_id)
        out.append(
            f"{p.number}　{p.feedback_text}：督办原因 {s.reason}；督办时限 {s.hard_deadline.isoformat()}；"
            f"督办领导 {leader or '—'}；解除条件 {s.removal_condition or '—'}；"
            f"当前状态 {status_label(p.status)}。"
        )
    for p in f.flagged:
        out.append(f"{p.number}　{p.feedback_text}（挂牌督办；当前状态 {status_label(p.status)}）")
    return out


# ---------------------------------------------------------------------------- the pre-filled form


def report_text(session: Session, f: ReportFigures) -> str:
    """The report body as plain text, for the ``statutory_report`` form's textarea."""
    lines = [title(f), meta_line(f), "", "巡察办、巡察工作领导小组：", opening(f), "", "一、总体情况"]
    lines.append(
        f"本轮巡察反馈共{f.total}个问题，已销号{f.closed}个，销号率{f.rate}；"
        f"整改措施共{len(f.measures)}项，已完成{f.done_measures}项；"
        f"超期未完成问题{len(f.overdue)}个；挂牌督办问题{f.supervised_count}个。"
    )
    rows = f.status_rows()
    if rows:
        lines.append("按整改状态：" + "，".join(f"{label}{n}个" for label, n in rows) + "。")
    lines += ["", "二、问题整改情况"]
    for p in f.problems:
        lines.append(problem_line(session, p))
        lines.extend(measure_line(m) for m in p.measures)
    lines += ["", "三、超期未完成问题"]
    lines.extend([overdue_line(f, p) for p in f.overdue] or ["无。"])
    lines += ["", "四、挂牌督办事项"]
    lines.extend(supervision_lines(session, f) or ["无。"])
    lines += ["", "五、存在的不足和下一步工作打算", FILL, "", f"中共{f.unit_name}委员会", f"{FILL}年　月　日"]
    return "\n".join(lines)


def leader_report_text(f: ReportFigures) -> str:
    """A short template for the principal leader's report on organising the rectification."""
    return "\n".join(
        [
            f"{f.unit_name}主要负责人组织落实巡察整改情况报告",
            f"一、履行整改第一责任人职责情况：主持召开党委会研究部署整改工作，审定整改方案，{FILL}",
            f"二、组织推动整改落实情况：巡察反馈的{f.total}个问题中，已销号{f.closed}个（销号率{f.rate}），"
            f"超期未完成{len(f.overdue)}个，挂牌督办{f.supervised_count}个。{FILL}",
            f"三、亲自协调解决的重点难点问题：{FILL}",
            f"四、下一步打算：{FILL}",
            "",
            f"主要负责人（签字）：{FILL}　　{FILL}年　月　日",
        ]
    )


def report_prefill(
    session: Session, round_id: int, kind: str, today: date, previous: dict[str, Any] | None = None
) -> dict[str, str]:
    """The ``statutory_report`` form's starting values for report ``kind`` of a round.

    A report the inspection office returned opens with what was submitted (the milestone keeps
    the content; ``previous`` carries the principal leader's part), not with a fresh draft.
    """
    if kind not in REPORT_KINDS:
        raise InvalidInput("unknown report kind", errors={"kind": [f"未知的报告类型：{kind}"]})
    f = report_figures(session, round_id, kind, today)
    ms = _milestone(session, f.round.id, kind)
    returned = ms is not None and ms.status in ("pending", "overdue") and bool(ms.content)
    out = {"content": ms.content if returned and ms is not None else report_text(session, f)}
    if kind == "rectification_report":
        leader = str((previous or {}).get("leader_report") or "") if returned else ""
        out["leader_report"] = leader or leader_report_text(f)
    return out


# ---------------------------------------------------------------------------- escalation


def _milestone(session: Session, round_id: int, kind: str) -> ReportMilestone | None:
    return session.scalar(
        select(ReportMilestone).where(ReportMilestone.round_id == round_id, ReportMilestone.kind == kind)
    )


def mark_overdue(session: Session, round_id: int, kind: str) -> list[ReportMilestone]:
    """The report's milestones (with the leader's report for the 3-month one) not yet submitted
    become ``overdue``; returns the milestones concerned (the main one first)."""
    if kind not in REPORT_KINDS:
        raise InvalidInput("unknown report kind", errors={"kind": [f"未知的报告类型：{kind}"]})
    kinds = [kind, "leader_report"] if kind == "rectification_report" else [kind]
    out = []
    for k in kinds:
        ms = _milestone(session, int(round_id), k)
        if ms is None:
            continue
        if ms.status == "pending":
            ms.status = "overdue"
        out.append(ms)
    session.flush()
    return out
