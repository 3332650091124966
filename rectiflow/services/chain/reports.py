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
from rectiflow.domain.vocab import MeasureStatus, ProblemStatus, ReportKind, ReportStatus, Role, SupervisionStatus
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.i18n import N_, Message, default_locale, translate
from rectiflow.services.chain.rounds import REPORT_KINDS

# The documents' words are message ids: a draft is written in its reader's language (a Word download) or in
# the installation's (the form prefill, stored in process data). ``loc=None`` means the latter.
REPORT_TITLES: dict[str, str] = {
    ReportKind.RECTIFICATION_REPORT: N_("Rectification report"),
    ReportKind.LEADER_REPORT: N_("Principal leader's report on organising the rectification"),
    ReportKind.PHASED_REPORT: N_("Phased rectification report"),
    ReportKind.ANNUAL_REPORT: N_("Annual rectification report"),
}
FILL = N_("[to be completed]")
# Who hears that a report is late (the party committee already has the task in its inbox).
OPEN_SUPERVISION = (SupervisionStatus.PROPOSED, SupervisionStatus.ACTIVE)
OVERDUE_ROLES = (Role.PRINCIPAL_LEADER, Role.DISCIPLINE_COMMITTEE, Role.INSPECTION_OFFICE)


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


def _loc(loc: str | None) -> str:
    return loc or default_locale()


def _t(loc: str | None, msgid: str, **params: Any) -> str:
    return translate(_loc(loc), msgid, params)


def report_title(kind: str, loc: str | None = None) -> str:
    return _t(loc, REPORT_TITLES[kind])


def status_label(code: str, loc: str | None = None) -> str:
    return ProblemStatus.label_of(code, _loc(loc))


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
        return self.counts.get(ProblemStatus.CLOSED, 0)

    @property
    def rate(self) -> str:
        return f"{self.closed * 100 / self.total:.1f}%" if self.total else "0%"

    @property
    def supervised_count(self) -> int:
        return len({s.problem_id for s in self.supervisions} | {p.id for p in self.flagged})

    def status_rows(self, loc: str | None = None) -> list[tuple[str, int]]:
        """(label, count) in the ledger's status order, only the statuses that occur."""
        return [(status_label(s, loc), self.counts[s]) for s in ProblemStatus if self.counts.get(s)]

    def overdue_days(self, p: Problem) -> int:
        return (self.today - p.deadline).days if p.deadline else 0


def report_figures(session: Session, round_id: int, kind: str, today: date) -> ReportFigures:
    if kind not in REPORT_TITLES:
        raise InvalidInput(N_("Unknown report kind."),
                           errors={"kind": [Message(N_("Unknown report kind: %(kind)s"), kind=kind)]})
    rnd = session.get(Round, int(round_id))
    if rnd is None:
        raise NotFound(N_("Round %(id)s not found."), id=round_id)
    problems = list(rnd.problems)
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.status] = counts.get(p.status, 0) + 1
    measures = [m for p in problems for m in p.measures]
    done = sum(1 for m in measures if m.status in (MeasureStatus.DONE, MeasureStatus.ACCEPTED) or m.progress >= 100)
    overdue = [p for p in problems
               if p.status != ProblemStatus.CLOSED and p.deadline is not None and p.deadline < today]
    ids = [p.id for p in problems]
    sups = (
        list(
            session.scalars(
                select(Supervision)
                .where(Supervision.problem_id.in_(ids), Supervision.status.in_(OPEN_SUPERVISION))
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


def title(f: ReportFigures, loc: str | None = None) -> str:
    return _t(loc, N_("%(unit)s: %(report)s on %(round)s"), unit=f.unit_name, round=f.round.title,
              report=report_title(f.kind, loc))


def meta_line(f: ReportFigures, loc: str | None = None) -> str:
    kind, today = ReportKind.label_of(f.kind, _loc(loc)), f.today.isoformat()
    if f.due:
        return _t(loc, N_("Report type: %(kind)s    Due: %(due)s    Figures as of %(today)s"), kind=kind,
                  due=f.due.isoformat(), today=today)
    return _t(loc, N_("Report type: %(kind)s    Figures as of %(today)s"), kind=kind, today=today)


def opening(f: ReportFigures, loc: str | None = None) -> str:
    r = f.round
    return _t(loc, N_("Following the inspection findings %(team)s fed back on %(date)s, the party committee of "
                      "%(unit)s set rectification measures, responsible departments and deadlines for each problem "
                      "of the list. The rectification is reported as follows. %(fill)s"),
              team=r.team or _t(loc, N_("the inspection team")), date=r.feedback_date.isoformat(),
              unit=f.unit_name, fill=_t(loc, FILL))


def problem_line(session: Session, p: Problem, loc: str | None = None) -> str:
    params = {"number": p.number, "status": status_label(p.status, loc), "feedback": p.feedback_text,
              "department": unit_name(session, p.department_id) or "—",
              "deadline": p.deadline.isoformat() if p.deadline else "—"}
    if p.status == ProblemStatus.CLOSED and p.closed_at:
        return _t(loc, N_("%(number)s  [%(status)s] %(feedback)s (responsible department: %(department)s; "
                          "deadline: %(deadline)s; closed on: %(closed)s)"), closed=local_date(p.closed_at), **params)
    return _t(loc, N_("%(number)s  [%(status)s] %(feedback)s (responsible department: %(department)s; "
                      "deadline: %(deadline)s)"), **params)


def measure_line(m: Measure, loc: str | None = None) -> str:
    if m.progress_text:
        return _t(loc, N_("    Measure %(seq)s: %(text)s, progress %(progress)s%%, %(note)s"), seq=m.seq, text=m.text,
                  progress=m.progress, note=m.progress_text)
    return _t(loc, N_("    Measure %(seq)s: %(text)s, progress %(progress)s%%"), seq=m.seq, text=m.text,
              progress=m.progress)


def overdue_line(f: ReportFigures, p: Problem, loc: str | None = None) -> str:
    return _t(loc, N_("%(number)s  %(feedback)s (deadline %(deadline)s, %(days)s days overdue; reasons and next "
                      "steps: %(fill)s)"), number=p.number, feedback=p.feedback_text,
              deadline=p.deadline.isoformat() if p.deadline else "", days=f.overdue_days(p), fill=_t(loc, FILL))


def supervision_lines(session: Session, f: ReportFigures, loc: str | None = None) -> list[str]:
    by_id = {p.id: p for p in f.problems}
    out = []
    for s in f.supervisions:
        p = by_id[s.problem_id]
        out.append(_t(loc, N_("%(number)s  %(feedback)s: reason for supervision %(reason)s; deadline %(deadline)s; "
                              "supervising leader %(leader)s; condition for removal %(condition)s; current status "
                              "%(status)s."),
                      number=p.number, feedback=p.feedback_text, reason=s.reason,
                      deadline=s.hard_deadline.isoformat(), leader=user_name(session, s.leader_id) or "—",
                      condition=s.removal_condition or "—", status=status_label(p.status, loc)))
    for p in f.flagged:
        out.append(_t(loc, N_("%(number)s  %(feedback)s (listed supervision; current status %(status)s)"),
                      number=p.number, feedback=p.feedback_text, status=status_label(p.status, loc)))
    return out


# Headings and set phrases of the statutory report, shared by the form prefill and the Word draft.
ADDRESSEE = N_("To the inspection office and the inspection work leading group:")
HEADINGS = (N_("1. Overview"), N_("2. Rectification of the problems"), N_("3. Problems overdue"),
            N_("4. Matters under listed supervision"), N_("5. Shortcomings and next steps"))
NONE = N_("None.")


def by_status_line(f: ReportFigures, loc: str | None = None) -> str:
    items = [_t(loc, N_("%(status)s %(count)s"), status=label, count=n) for label, n in f.status_rows(loc)]
    counts = items[0] if items else ""
    for item in items[1:]:  # the report's own separator (，), not the list one (、)
        counts = _t(loc, N_("%(list)s, %(item)s"), list=counts, item=item)
    return _t(loc, N_("By rectification status: %(counts)s."), counts=counts)


def signature(f: ReportFigures, loc: str | None = None) -> list[str]:
    return [_t(loc, N_("The %(unit)s Committee of the Communist Party of China"), unit=f.unit_name),
            _t(loc, N_("Date: %(fill)s"), fill=_t(loc, FILL))]


# ---------------------------------------------------------------------------- the pre-filled form


def report_text(session: Session, f: ReportFigures, loc: str | None = None) -> str:
    """The report body as plain text, for the ``statutory_report`` form's textarea."""
    h = [_t(loc, msgid) for msgid in HEADINGS]
    lines = [title(f, loc), meta_line(f, loc), "", _t(loc, ADDRESSEE), opening(f, loc), "", h[0]]
    lines.append(_t(loc, N_("This round fed back %(total)s problems, %(closed)s closed, closure rate %(rate)s; "
                            "%(measures)s rectification measures, %(done)s completed; %(overdue)s problems overdue; "
                            "%(supervised)s problems under listed supervision."),
                    total=f.total, closed=f.closed, rate=f.rate, measures=len(f.measures), done=f.done_measures,
                    overdue=len(f.overdue), supervised=f.supervised_count))
    if f.status_rows(loc):
        lines.append(by_status_line(f, loc))
    lines += ["", h[1]]
    for p in f.problems:
        lines.append(problem_line(session, p, loc))
        lines.extend(measure_line(m, loc) for m in p.measures)
    lines += ["", h[2]]
    lines.extend([overdue_line(f, p, loc) for p in f.overdue] or [_t(loc, NONE)])
    lines += ["", h[3]]
    lines.extend(supervision_lines(session, f, loc) or [_t(loc, NONE)])
    lines += ["", h[4], _t(loc, FILL), "", *signature(f, loc)]
    return "\n".join(lines)


def leader_report_text(f: ReportFigures, loc: str | None = None) -> str:
    """A short template for the principal leader's report on organising the rectification."""
    fill = _t(loc, FILL)
    return "\n".join(
        [
            _t(loc, N_("Report by the principal leader of %(unit)s on organising the rectification"),
               unit=f.unit_name),
            _t(loc, N_("1. Duties as the first person responsible: chaired the party committee meetings that planned "
                       "the rectification and approved the plan; %(fill)s"), fill=fill),
            _t(loc, N_("2. Driving the rectification: of the %(total)s problems fed back, %(closed)s are closed "
                       "(closure rate %(rate)s), %(overdue)s are overdue and %(supervised)s are under listed "
                       "supervision. %(fill)s"), total=f.total, closed=f.closed, rate=f.rate,
               overdue=len(f.overdue), supervised=f.supervised_count, fill=fill),
            _t(loc, N_("3. Difficult problems resolved in person: %(fill)s"), fill=fill),
            _t(loc, N_("4. Next steps: %(fill)s"), fill=fill),
            "",
            _t(loc, N_("Principal leader (signature): %(fill)s    Date: %(fill)s"), fill=fill),
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
        raise InvalidInput(N_("Unknown report kind."),
                           errors={"kind": [Message(N_("Unknown report kind: %(kind)s"), kind=kind)]})
    f = report_figures(session, round_id, kind, today)
    ms = _milestone(session, f.round.id, kind)
    returned = ms is not None and ms.status in (ReportStatus.PENDING, ReportStatus.OVERDUE) and bool(ms.content)
    out = {"content": ms.content if returned and ms is not None else report_text(session, f)}
    if kind == ReportKind.RECTIFICATION_REPORT:
        leader = str((previous or {}).get(ReportKind.LEADER_REPORT) or "") if returned else ""
        out[ReportKind.LEADER_REPORT.value] = leader or leader_report_text(f)
    return out


# ---------------------------------------------------------------------------- escalation


def overdue_notice(session: Session, rnd: Round, kind: str, due: date) -> tuple[Message, Message]:
    """Subject and body of the notice that a report is late, rendered in each recipient's language."""
    report = Message(REPORT_TITLES[kind])
    if kind == ReportKind.RECTIFICATION_REPORT:  # the principal leader's report is due with it
        report = Message(N_("%(report)s and the principal leader's report on organising it"), report=report)
    subject = Message(N_("[Overdue] %(round)s: the %(report)s was due by %(date)s and has not been submitted"),
                      round=rnd.title, report=report, date=due.isoformat())
    body = Message(N_("The party committee of %(unit)s has not yet submitted the %(report)s (due %(date)s); "
                      "please press for it."), unit=unit_name(session, rnd.unit_id), report=report,
                   date=due.isoformat())
    return subject, body


def _milestone(session: Session, round_id: int, kind: str) -> ReportMilestone | None:
    return session.scalar(
        select(ReportMilestone).where(ReportMilestone.round_id == round_id, ReportMilestone.kind == kind)
    )


def mark_overdue(session: Session, round_id: int, kind: str) -> list[ReportMilestone]:
    """The report's milestones (with the leader's report for the 3-month one) not yet submitted
    become ``overdue``; returns the milestones concerned (the main one first)."""
    if kind not in REPORT_KINDS:
        raise InvalidInput(N_("Unknown report kind."),
                           errors={"kind": [Message(N_("Unknown report kind: %(kind)s"), kind=kind)]})
    kinds = [kind, ReportKind.LEADER_REPORT] if kind == ReportKind.RECTIFICATION_REPORT else [kind]
    out = []
    for k in kinds:
        ms = _milestone(session, int(round_id), k)
        if ms is None:
            continue
        if ms.status == ReportStatus.PENDING:
            ms.status = ReportStatus.OVERDUE
        out.append(ms)
    session.flush()
    return out
