"""One problem: its ledger row, measures and progress updates, evidence, the acceptance trail with every
opinion, the timeline of its processes from the audit log, and the diagram. Out of scope is a 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import or_, select

from rectiflow.db.domain import Measure, ProgressUpdate, Round, Supervision
from rectiflow.db.org import Unit, User
from rectiflow.db.runtime import ProcessInstance
from rectiflow.read.instances import markers
from rectiflow.read.problems import visible_problem
from rectiflow.read.rounds import taxonomy_labels
from rectiflow.services import audit
from rectiflow.services import files as file_service
from rectiflow.services.chain import ledger as chain_ledger
from webapp.web import actor, db, runtime

bp = Blueprint("problems", __name__, url_prefix="/problems")


@bp.route("/<int:problem_id>")
def show(problem_id: int) -> Any:
    a, s = actor(), db()
    p = visible_problem(s, a, problem_id)
    rnd = s.get(Round, p.round_id)
    measures = list(s.scalars(select(Measure).where(Measure.problem_id == p.id).order_by(Measure.seq)))
    updates: dict[int, list[ProgressUpdate]] = {}
    if measures:
        q = select(ProgressUpdate).where(ProgressUpdate.measure_id.in_([m.id for m in measures]))
        for u in s.scalars(q.order_by(ProgressUpdate.at, ProgressUpdate.id)):
            updates.setdefault(u.measure_id, []).append(u)
    trail = chain_ledger.acceptance_history(s, p.id)
    supervisions = list(s.scalars(select(Supervision).where(Supervision.problem_id == p.id).order_by(Supervision.id)))

    # Processes of this problem: its own, and those started for it (supervision, ...) by business key.
    key = f"problem:{p.id}"
    conds = [ProcessInstance.business_key == key, ProcessInstance.business_key.startswith(key + ":")]
    if p.instance_id:
        conds.append(ProcessInstance.id == p.instance_id)
    instances = list(s.scalars(select(ProcessInstance).where(or_(*conds)).order_by(ProcessInstance.id)))
    if supervisions:
        sup_keys = [f"supervision:{x.id}" for x in supervisions]
        instances += [i for i in s.scalars(select(ProcessInstance).where(ProcessInstance.business_key.in_(sup_keys)))
                      if i not in instances]
    events = audit.timeline(s, instance_ids=[i.id for i in instances]) if instances else []
    main = next((i for i in instances if i.id == p.instance_id), None)

    evidence_ids = [e for us in updates.values() for u in us for e in (u.evidence or [])]
    evidence_ids += [e for step in trail for e in step["attachments"]]
    files = file_service.visible(s, a, evidence_ids)
    user_ids = {m.leader_id for m in measures} | {m.owner_id for m in measures} | {t["by_user"] for t in trail}
    user_ids |= {u.by_user for us in updates.values() for u in us}
    user_ids.discard(None)
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    unit_ids = {m.department_id for m in measures} | {p.department_id, p.functional_department_id}
    unit_ids.discard(None)
    units = {u.id: u for u in s.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    return render_template(
        "problem.html",
        p=p,
        rnd=rnd,
        measures=measures,
        updates=updates,
        trail=trail,
        supervisions=supervisions,
        instances=instances,
        events=events,
        main=main,
        markers=markers(s, main, runtime().clock.now()) if main is not None else None,
        files=files,
        users=users,
        units=units,
        categories=taxonomy_labels(rnd.taxonomy if rnd else None),
        evidence=list(dict.fromkeys(evidence_ids)),
    )
