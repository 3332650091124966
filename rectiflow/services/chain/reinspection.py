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
from rectiflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from rectiflow.services import audit

DEFAULT_MONTHS = 1


def reopen_problem(session: Session, rt: Any, problem_id: Any, actor: Any, reason: str,
                   deadline: Any = None) -> ProcessInstance:
    from rectiflow.services.chain.problems import mark_problem_started, problem_start_data
    from rectiflow.services.workflow import instances

    p = session.get(Problem, int(problem_id))
    if p is None or not (getattr(actor, "is_admin", False) or actor.can_see(p.unit_path)):
        raise NotFound(f"problem {problem_id} not found")
    if not actor.has_role("inspection_office", p.unit_path):
        raise Forbidden("only the inspection office may reopen a problem (回头看)")
    if p.status != "closed":
        raise Conflict(f"problem {p.number} is not closed")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", errors={"reason": ["必填"]})
    today = rt.clock.today()
    new_deadline = (deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline))) if deadline \
        else deadlines.add_months(today, DEFAULT_MONTHS)
    if new_deadline <= today:
        raise InvalidInput("the deadline must be in the future", errors={"deadline": ["整改时限必须晚于今天"]})
    now = rt.clock.now()
    previous = {"closed_at": p.closed_at, "instance_id": p.instance_id, "deadline": p.deadline,
                "colour": p.colour}
    audit.record(session, at=now, actor=actor.username, action="problem.reopened", object_type="problem",
                 object_id=str(p.id), payload={"reason": reason, "previous": previous,
                                               "deadline": new_deadline})
    p.closed_at, p.colour, p.deadline = None, "none", new_deadline
    for m in p.measures:
        m.status, m.deadline, m.colour, m.updated_at = "rectifying", new_deadline, "none", now
    session.flush()
    parent = p.round.instance_id
    inst = instances.start_instance(
        session, rt, "problem", {**problem_start_data(session, p), "reopen_reason": reason},
        actor=actor.username, business_key=f"problem:{p.id}", title=f"问题整改（回头看）{p.number}",
        unit_id=p.department_id, parent_id=parent)
    mark_problem_started(session, rt.clock, p, inst.id)
    return inst
