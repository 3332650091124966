"""A round's oversight panel: the rectification assessments (整改评估) and the accountability cases
(问责). Shown to whoever works in the round's unit or above it; the inspection office and the
leading group assess, the discipline committee starts a case by hand. A refused form comes back on
the round page with its values and a message at the field (422)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from rectiflow.db.domain import LeadReferral
from rectiflow.domain.vocab import EvaluationGrade
from rectiflow.errors import InvalidInput, NotFound
from rectiflow.i18n import N_
from rectiflow.read.rounds import visible_round
from rectiflow.services.chain import accountability as chain_accountability
from rectiflow.services.chain import evaluation as chain_evaluation
from rectiflow.services.chain import leads as chain_leads
from webapp.errors import render, render_errors
from webapp.i18n import current_locale
from webapp.round_page import round_page
from webapp.web import actor, db, runtime

bp = Blueprint("round_oversight", __name__, url_prefix="/rounds")


def _refused(round_id: int, which: str, exc: InvalidInput) -> Any:
    form = {"which": which, "values": request.form.to_dict(), "errors": render_errors(exc.errors),
            "message": render(exc)}
    return round_page(round_id, form, status=422)


@bp.route("/<int:round_id>/evaluations", methods=["POST"])
def evaluate(round_id: int) -> Any:
    a, rt = actor(), runtime()
    visible_round(db(), a, round_id)  # out of scope is a 404 before anything else
    try:  # the request commits at the edge; a refusal (422) rolls back, and nothing was written anyway
        done = chain_evaluation.evaluate(db(), rt, a, round_id, request.form.get("score", ""),
                                         request.form.get("comment", ""))
    except InvalidInput as exc:
        return _refused(round_id, "evaluation", exc)
    flash(_("Assessment recorded: %(score)d points (%(grade)s).", score=done.evaluation.score,
            grade=EvaluationGrade.label_of(done.evaluation.grade, current_locale())), "success")
    if done.accountability is not None:
        flash(_("A poor assessment starts accountability: the discipline committee has the case."), "warning")
    return redirect(url_for("rounds.show", round_id=round_id) + "#oversight")


@bp.route("/<int:round_id>/accountability", methods=["POST"])
def start_case(round_id: int) -> Any:
    a, rt = actor(), runtime()
    visible_round(db(), a, round_id)
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
    visible_round(db(), a, round_id)
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
    visible_round(db(), a, round_id)
    found = db().get(LeadReferral, lead_id)
    if found is None or found.round_id != round_id:
        raise NotFound(N_("Lead not found."))
    try:
        lead = chain_leads.follow_up(db(), rt.clock, a, lead_id, request.form.get("status", ""),
                                     request.form.get("outcome", ""))
    except InvalidInput as exc:
        return _refused(round_id, f"lead-{lead_id}", exc)
    flash(_("Follow-up of lead %(number)d recorded.", number=lead.number), "success")
    return redirect(url_for("rounds.show", round_id=round_id) + "#leads")
