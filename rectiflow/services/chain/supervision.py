"""挂牌督办 (listed supervision): a deliberate escalation with a named responsible leader, a hard
deadline and a removal condition.

Two ways in: the inspection office or the discipline committee decides it (``decide_supervision``),
or the system *proposes* it (``propose``) when a problem goes red or is sent back twice in
acceptance, and the inspection office confirms or declines. Either way a ``supervision`` instance
notifies the unit's principal leader and the responsible department, waits for the leader's
acknowledgement (签收), then waits for the removal (摘牌): ``remove_for_closed_problem`` runs when the
problem is closed, marks the row removed and sends the instance the ``supervision_removed`` message.
``Problem.supervised`` is kept current for the ledger.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow import forms as formlib
from rectiflow.db.domain import Notice, Problem, Supervision
from rectiflow.db.org import User
from rectiflow.db.runtime import ProcessInstance, SourceFile
from rectiflow.domain import vocab as v
from rectiflow.errors import Conflict, Forbidden, InvalidFormData, NotFound
from rectiflow.i18n import N_, Message, default_locale, translate
from rectiflow.services import audit
from rectiflow.services.chain.rounds import get_problem

log = logging.getLogger(__name__)
OPEN = (v.SupervisionStatus.PROPOSED, v.SupervisionStatus.ACTIVE)
DECIDING_ROLES = (v.Role.INSPECTION_OFFICE, v.Role.DISCIPLINE_COMMITTEE)
PROPOSAL_DAYS = 30  # default hard deadline of a proposal, the office sets the real one
REMOVED_MESSAGE = "supervision_removed"




def _supervision(session: Session, supervision_id: Any) -> Supervision:
    s = session.get(Supervision, int(supervision_id))
    if s is None:
        raise NotFound(N_("Supervision %(id)s not found."), id=supervision_id)
    return s


def open_supervision(session: Session, problem_id: int) -> Supervision | None:
    return session.scalar(select(Supervision).where(Supervision.problem_id == problem_id,
                                                    Supervision.status.in_(OPEN)).order_by(Supervision.id))


def _refresh_flag(session: Session, p: Problem) -> None:
    session.flush()
    p.supervised = session.scalar(select(Supervision.id).where(
        Supervision.problem_id == p.id, Supervision.status == v.SupervisionStatus.ACTIVE).limit(1)) is not None


def _leader_id(session: Session, leader: Any) -> int | None:
    if leader in (None, ""):
        return None
    if isinstance(leader, int):
        return leader
    user = session.scalar(select(User).where(User.username == str(leader)))
    if user is None:
        raise InvalidFormData(N_("The supervision has errors."),
                              errors={"leader": [Message(N_("Unknown user: %(name)s"), name=leader)]})
    return user.id


def _start(session: Session, rt: Any, sup: Supervision, p: Problem, proposed: bool, actor: str) -> int:
    from rectiflow.services.workflow import instances

    inst = instances.start_instance(
        session, rt, "supervision",
        {"supervision_id": sup.id, "problem_id": p.id, "problem_number": p.number,
         "problem_title": p.feedback_text[:60], "round_id": p.round_id, "unit_id": p.department_id or p.unit_id,
         "round_unit_id": p.round.unit_id, "proposed": proposed, "reason": sup.reason,
         "hard_deadline": sup.hard_deadline.isoformat()},
        actor=actor, business_key=f"supervision:{sup.id}",
        # Stored and shown to everyone in the instance lists: written in the installation's language.
        title=translate(default_locale(), N_("Listed supervision: problem %(number)s"), number=p.number),
        unit_id=p.round.unit_id, parent_id=p.instance_id)
    return inst.id


def propose(session: Session, rt: Any, problem_id: Any, reason: str, actor: str = "system") -> Supervision | None:
    """A proposal for the inspection office, unless one is open already or the problem is closed."""
    p = get_problem(session, problem_id)
    if p.status == v.ProblemStatus.CLOSED or open_supervision(session, p.id) is not None:
        return None
    now = rt.clock.now()
    sup = Supervision(problem_id=p.id, decided_by_role="", reason=reason, leader_id=None,
                      hard_deadline=rt.clock.today() + timedelta(days=PROPOSAL_DAYS), removal_condition="",
                      status=v.SupervisionStatus.PROPOSED, created_at=now)
    session.add(sup)
    session.flush()
    audit.record(session, at=now, actor=actor, action="supervision.proposed", object_type="problem",
                 object_id=str(p.id), payload={"supervision_id": sup.id, "reason": reason})
    _start(session, rt, sup, p, True, actor)
    return sup


def _decide_form(session: Session, rt: Any) -> formlib.Form | None:
    from rectiflow.services.workflow.definitions import form_for

    digest = session.scalar(select(SourceFile.content_hash).where(
        SourceFile.kind == "form", SourceFile.name == "supervision_decide").order_by(SourceFile.id.desc()).limit(1))
    return form_for(session, rt, "supervision_decide", digest) if digest else None


def decide_supervision(session: Session, rt: Any, actor: Any, problem_id: int, data: dict[str, Any]) -> Supervision:
    """The start form of a deliberate 挂牌督办 (inspection office or discipline committee). The problem is
    the caller's subject (a page's or route's), never a field of the submitted form."""
    actor.require_role(*DECIDING_ROLES, v.Role.ADMIN)
    form = _decide_form(session, rt)
    if form is not None:
        errors = formlib.validate_submission(form, data)
        if errors:
            raise InvalidFormData(N_("The form has errors."), errors=errors)
    p = get_problem(session, problem_id)
    roles = [r for r in DECIDING_ROLES if actor.has_role(r, p.unit_path)]
    if not roles and not actor.is_admin:
        raise Forbidden(N_("Only the inspection office or the discipline committee over this unit may decide."))
    if p.status == v.ProblemStatus.CLOSED:
        raise Conflict(N_("Problem %(number)s is closed."), number=p.number)
    now = rt.clock.now()
    sup = open_supervision(session, p.id)
    if sup is not None and sup.status == v.SupervisionStatus.ACTIVE:
        raise Conflict(N_("Problem %(number)s is already under supervision."), number=p.number)
    fields = {"decided_by_role": roles[0] if roles else v.Role.ADMIN, "reason": data.get("reason") or "",
              "leader_id": _leader_id(session, data.get("leader")),
              "hard_deadline": date.fromisoformat(str(data["hard_deadline"])),
              "removal_condition": data.get("removal_condition") or "", "status": v.SupervisionStatus.ACTIVE}
    if sup is not None:  # a pending proposal becomes this decision; its confirm task is withdrawn
        _withdraw_proposal(session, rt, sup, actor.username)
    sup = Supervision(problem_id=p.id, created_at=now, **fields)
    session.add(sup)
    _refresh_flag(session, p)
    audit.record(session, at=now, actor=actor.username, action="supervision.decided", object_type="problem",
                 object_id=str(p.id), payload={"supervision_id": sup.id, **{k: v for k, v in fields.items()}})
    _start(session, rt, sup, p, False, actor.username)
    return sup


def _withdraw_proposal(session: Session, rt: Any, sup: Supervision, actor: str) -> None:
    sup.status = v.SupervisionStatus.DECLINED
    _tell_instance(session, rt, sup, {"withdrawn": True}, actor)


def _tell_instance(session: Session, rt: Any, sup: Supervision, payload: dict[str, Any], actor: str) -> None:
    """Every wait state of a supervision instance (confirm, 签收, waiting for removal) catches the
    removal message, so a running instance always takes it and completes, in the closing transaction."""
    from rectiflow.services.workflow import instances

    inst = session.scalar(select(ProcessInstance).where(
        ProcessInstance.business_key == f"supervision:{sup.id}", ProcessInstance.status == v.InstanceStatus.RUNNING))
    if inst is None:
        return
    instances.deliver_message(session, rt, inst.id, REMOVED_MESSAGE, payload, actor)


def confirm(session: Session, clock: Any, supervision_id: Any, decision: str, *, leader: Any = None,
            hard_deadline: Any = None, removal_condition: str = "", reason: str = "",
            actor: str = "system") -> dict[str, Any]:
    """The inspection office's answer to a proposal."""
    sup = _supervision(session, supervision_id)
    p = get_problem(session, sup.problem_id)
    now = clock.now()
    if sup.status != v.SupervisionStatus.PROPOSED:  # removed meanwhile (the problem was closed): nothing to confirm
        return {"status": sup.status}
    if decision == "confirm" and p.status != v.ProblemStatus.CLOSED:
        sup.status, sup.decided_by_role = v.SupervisionStatus.ACTIVE, v.Role.INSPECTION_OFFICE
        sup.leader_id = _leader_id(session, leader)
        if hard_deadline:
            sup.hard_deadline = date.fromisoformat(str(hard_deadline))
        sup.removal_condition = removal_condition or sup.removal_condition
        if reason:
            sup.reason = reason
    else:
        sup.status = v.SupervisionStatus.DECLINED
    _refresh_flag(session, p)
    audit.record(session, at=now, actor=actor, action=f"supervision.{sup.status}", object_type="problem",
                 object_id=str(p.id), payload={"supervision_id": sup.id, "reason": reason})
    return {"status": sup.status, "hard_deadline": sup.hard_deadline.isoformat()}


def notice_text(session: Session, supervision_id: Any) -> dict[str, Any]:
    """The 督办通知's subject and body as messages: each recipient reads them in their own language (the
    notice kind's template adds the 【挂牌督办】 prefix)."""
    sup = _supervision(session, supervision_id)
    p = get_problem(session, sup.problem_id)
    leader = session.get(User, sup.leader_id) if sup.leader_id else None
    body = Message(N_("Problem %(number)s: %(feedback)s\nReason for supervision: %(reason)s\n"
                      "Responsible leader: %(leader)s\nTo be done by: %(deadline)s\n"
                      "Condition for removal: %(condition)s"),
                   number=p.number, feedback=p.feedback_text[:200], reason=sup.reason,
                   leader=leader.display_name if leader else Message(N_("(not named)")),
                   deadline=sup.hard_deadline.isoformat(), condition=sup.removal_condition)
    subject = Message(N_("Problem %(number)s to be rectified by %(deadline)s"), number=p.number,
                      deadline=sup.hard_deadline.isoformat())
    return {"subject": subject, "body": body, "problem": p, "supervision": sup}


def acknowledge(session: Session, clock: Any, supervision_id: Any, by_user: int | None,
                actor: str = "system") -> dict[str, Any]:
    sup = _supervision(session, supervision_id)
    now = clock.now()
    if sup.acknowledged_at is None:
        sup.acknowledged_at = now
    if by_user is not None:
        for n in session.scalars(select(Notice).where(Notice.dedupe_key.startswith(f"supervision:{sup.id}:"),
                                                      Notice.recipient_id == by_user)):
            n.acknowledged_at = n.acknowledged_at or now
    audit.record(session, at=now, actor=actor, action="supervision.acknowledged", object_type="problem",
                 object_id=str(sup.problem_id), payload={"supervision_id": sup.id})
    session.flush()
    return {"status": sup.status}


def remove_for_closed_problem(session: Session, rt: Any, problem_id: Any, actor: str = "system") -> list[int]:
    """摘牌 when the problem is closed: rows removed, waiting instances told by message."""
    p = get_problem(session, problem_id)
    now = rt.clock.now()
    removed = []
    for sup in session.scalars(select(Supervision).where(Supervision.problem_id == p.id,
                                                         Supervision.status.in_(OPEN))).all():
        sup.status, sup.removed_at = v.SupervisionStatus.REMOVED, now
        removed.append(sup.id)
        audit.record(session, at=now, actor=actor, action="supervision.removed", object_type="problem",
                     object_id=str(p.id), payload={"supervision_id": sup.id, "closed_at": p.closed_at})
        _tell_instance(session, rt, sup, {"problem_id": p.id, "closed_at": str(p.closed_at)}, actor)
    _refresh_flag(session, p)
    return removed


def as_dict(sup: Supervision) -> dict[str, Any]:
    return json.loads(json.dumps({c.name: getattr(sup, c.name) for c in sup.__table__.columns}, default=str))
