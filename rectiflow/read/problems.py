"""One problem, as the caller may see it: out of scope is the same 404 as absent, so ids reveal nothing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rectiflow.db.domain import Problem
from rectiflow.errors import NotFound
from rectiflow.i18n import N_
from rectiflow.read.params import id_param
from rectiflow.services.accounts.actors import Actor


def visible_problem(session: Session, actor: Actor, problem_id: int) -> Problem:
    id_param("problem_id", problem_id)
    p = session.get(Problem, problem_id)
    if p is None or not (actor.is_admin or actor.can_see(p.unit_path)):
        raise NotFound(N_("Problem not found."))
    return p
