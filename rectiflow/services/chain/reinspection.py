"""回头看 (re-inspection): the inspection office reopens a closed problem.

The problem goes back to 整改中 with a new deadline and a new ``problem`` instance; the old closure
stays in the history: the acceptance steps and the completed instance are kept, and the reopening
is an audit event that names the closure it undid. Closing again needs a full new acceptance
attempt (``close_problem`` checks the latest attempt only).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from rectiflow.db.domain import Problem
from rectiflow.db.runtime import ProcessInstance
from rectiflow.domain import deadlines
from rectiflow.domain import vocab as v
from rectiflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from rectiflow.i18n import N_, Message, default_locale, translate
from rectiflow.services import audit

DEFAULT_MONTHS = 1


def reopen_problem(session: Session, rt: Any, problem_id: Any, actor: Any, reason: str,
                   deadline: Any = None) -> ProcessInstance:
    from rectiflow.services.chain.problems import mark_problem_started, problem_start_data
    from rectiflow.services.workflow import instances

    p = session.get(Problem, int(problem_id))
    if p is None or not (getattr(actor, "is_admin", False) or actor.can_see(p.unit_path)):
        raise NotFound(N_("Problem %(id)s not found."), id=problem_id)
    if not actor.has_role(v.Role.INSPECTION_OFFICE, p.unit_path):
        raise Forbidden(N_("Only the inspection office may reopen a problem (follow-up inspection)."))
    if p.status != v.ProblemStatus.CLOSED:
        raise Conflict(N_("Problem %(number)s is not closed."), number=p.number)
    if not (reason or "").strip():
        raise InvalidInput(N_("A reason is required."), errors={"reason": [Message(N_("Required."))]})
    today = rt.clock.today()
    new_deadline = (deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline))) if deadline \
        else deadlines.add_months(today, DEFAULT_MONTHS)
    if new_deadline <= today:
        raise InvalidInput(N_("The deadline must be in the future."),
                           errors={"deadline": [Message(N_("The deadline must be later than today."))]})
    now = rt.clock.now()
    previous = {"closed_at": p.closed_at, "instance_id": p.instance_id, "deadline": p.deadline,
                "colour": p.colour}
    audit.record(session, at=now, actor=actor.username, action="problem.reopened", object_type="problem",
                 object_id=str(p.id), payload={"reason": reason, "previous": previous,
                                               "deadline": new_deadline})
    p.closed_at, p.colour, p.deadline = None, v.WarningColour.NONE, new_deadline
    for m in p.measures:
        m.status, m.colour = v.MeasureStatus.RECTIFYING, v.WarningColour.NONE
        m.deadline, m.updated_at = new_deadline, now
    session.flush()
    parent = p.round.instance_id
    inst = instances.start_instance(
        session, rt, "problem", {**problem_start_data(session, p), "reopen_reason": reason},
        actor=actor.username, business_key=f"problem:{p.id}",
        title=translate(default_locale(), N_("Problem rectification (re-inspection) %(number)s"), number=p.number),
        unit_id=p.department_id, parent_id=parent)
    mark_problem_started(session, rt.clock, p, inst.id)
    return inst
