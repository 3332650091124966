"""A round's oversight panel: the rectification assessments (整改评估) and the accountability cases
(问责). Shown to whoever works in the round's unit or above it; the inspection office and the
leading group assess, the discipline committee starts a case by hand. A refused form comes back on
the round page with its values and a message at the field (422)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from rectiflow.db.domain import LeadReferral, Round
from rectiflow.db.org import Unit, User
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.services.accounts.actors import Actor
from rectiflow.services.chain import accountability as chain_accountability
from rectiflow.services.chain import evaluation as chain_evaluation
from rectiflow.services.chain import leads as chain_leads
from webapp.views.rounds import round_page, visible_round
from webapp.web import actor, db, runtime

bp = Blueprint("round_oversight", __name__, url_prefix="/rounds")
GRADE_LABELS = {"excellent": _l("Excellent"), "good": _l("Good"), "fair": _l("Fair"), "poor": _l("Poor")}
TRIGGER_LABELS = {"repeatedly_overdue": _l("Repeatedly overdue"), "poor_evaluation": _l("Poor assessment"),
                  "manual": _l("Started by the discipline committee")}
CASE_STATUS = {"open": _l("In progress"), "closed": _l("Concluded")}
RECEIVER_LABELS = {"discipline_committee": _l("Discipline inspection and supervision"),
                   "organisation_department": _l("Organisation department"), "other": _l("Other department")}
LEAD_STATUS = {"referred": _l("Handed over"), "verifying": _l("Being verified"), "concluded": _l("Concluded")}


def oversight_panel(rnd: Round, unit: Unit, a: Actor, form: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the round page shows in its oversight card, or None for a department that only sees its
    own problems (assessments and accountability concern the unit's leadership)."""
    if not (a.is_admin or a.can_see(unit.path)):
        return None
    s = db()
    evaluations = chain_evaluation.evaluations(s, rnd.id)
    ids = {e.by_user for e in evaluations if e.by_user}
    names = dict(s.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return {
        "evaluations": evaluations,
        "names": names,
        "cases": chain_accountability.cases(s, rnd.id),
        "may_evaluate": chain_evaluation.may_evaluate(a, unit.path),
        "may_start": chain_accountability.may_start(a, unit.path),
        "grades": GRADE_LABELS,
        "triggers": TRIGGER_LABELS,
        "case_status": CASE_STATUS,
        "leads": chain_leads.leads(s, a, rnd.id),  # None: not for this viewer
        "may_refer": chain_leads.may_refer(a, unit.path),
        "may_follow_up": chain_leads.may_follow_up(a, unit.path),
        "receivers": RECEIVER_LABELS,
        "lead_status": LEAD_STATUS,
        "form": form or {},
    }


def _refused(round_id: int, which: str, exc: InvalidInput) -> Any:
    form = {"which": which, "values": request.form.to_dict(), "errors": exc.errors, "message": exc.message}
    return round_page(round_id, form, status=422)


@bp.route("/<int:round_id>/evaluations", methods=["POST"])
def evaluate(round_id: int) -> Any:
    a, rt = actor(), runtime()
    visible_round(round_id, a)  # out of scope is a 404 before anything else
    try:  # the request commits at the edge; a refusal (422) rolls back, and nothing was written anyway
        done = chain_evaluation.evaluate(db(), rt, a, round_id, request.form.get("score", ""),
                                         request.form.get("comment", ""))
    except InvalidInput as exc:
        return _refused(round_id, "evaluation", exc)
    flash(_("Assessment recorded: %(score)d points (%(grade)s).", score=done.evaluation.score,
            grade=GRADE_LABELS[done.evaluation.grade]), "success")
    if done.accountability is not None:
        flash(_("A poor assessment starts accountability: the discipline committee has the case."), "warning")
    return redirect(url_for("rounds.show", round_id=round_id) + "#oversight")


@bp.route("/<int:round_id>/accountability", methods=["POST"])
def start_case(round_id: int) -> Any:
    a, rt = actor(), runtime()
    visible_round(round_id, a)
    try:
        chain_accountability.start_accountability(db(), rt, a, round_id, request.form.get("reason", ""))
    except InvalidInput as exc:
        return _refused(round_id, "accountability", exc)
    flash(_("Accountability started: the talk with the principal leader is in the discipline committee's inbox."),
          "success")
    return redirect(url_for("rounds.show", round_id=round_id) + "#oversight")


@bp.route("/<int:round_id>/leads", methods=["POST"])
def refer(round_id: int) -> Any:
    a, rt = actor(), runtime()
    visible_round(round_id, a)
    try:
        lead = chain_leads.refer(db(), rt.clock, a, round_id, request.form.get("summary", ""),
                                 request.form.get("receiver", ""), request.form.get("referred_on", ""))
    except InvalidInput as exc:
        return _refused(round_id, "lead", exc)
    flash(_("Lead %(number)d recorded.", number=lead.number), "success")
    return redirect(url_for("rounds.show", round_id=round_id) + "#leads")


@bp.route("/<int:round_id>/leads/<int:lead_id>", methods=["POST"])
def follow_up(round_id: int, lead_id: int) -> Any:
    a, rt = actor(), runtime()
    visible_round(round_id, a)
    found = db().get(LeadReferral, lead_id)
    if found is None or found.round_id != round_id:
        raise NotFound("lead not found")
    try:
        lead = chain_leads.follow_up(db(), rt.clock, a, lead_id, request.form.get("status", ""),
                                     request.form.get("outcome", ""))
    except InvalidInput as exc:
        return _refused(round_id, f"lead-{lead_id}", exc)
    flash(_("Follow-up of lead %(number)d recorded.", number=lead.number), "success")
    return redirect(url_for("rounds.show", round_id=round_id) + "#leads")
