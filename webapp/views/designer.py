"""The process designer (role process_designer or admin): the processes page with every version,
the bpmn-js editor with its side panel, validation, differences and deploy, forms beside the
diagram, import/export, DMN tables, and the deliberate migration of running instances."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from rectiflow import forms as formlib
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance
from rectiflow.errors import Conflict, DefinitionError, InvalidInput, NotFound, RectiflowError
from rectiflow.i18n import N_, Message
from rectiflow.services.designer import editor as svc
from rectiflow.services.designer import migration as mig
from webapp.errors import render, status_for
from webapp.forms_render import render_form
from webapp.i18n import current_locale
from webapp.web import actor, db, end_db, runtime

bp = Blueprint("designer", __name__, url_prefix="/designer")
DESIGNER_ROLES = ("process_designer", "admin")

BLANK_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:di="http://www.omg.org/spec/DD/20100524/DI" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_{key}" \
targetNamespace="http://rectiflow.local/bpmn">
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:startEvent id="start" name="开始"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_{key}">
    <bpmndi:BPMNPlane id="BPMNPlane_{key}" bpmnElement="{key}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

BLANK_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" \
xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" \
id="Definitions_{key}" name="{key}" namespace="http://rectiflow.local/dmn">
  <decision id="{key}" name="{key}">
    <decisionTable id="DecisionTable_{key}">
      <input id="Input_1" label="input"><inputExpression id="InputExpression_1" typeRef="string">
        <text>value</text></inputExpression></input>
      <output id="Output_1" label="result" name="result" typeRef="string"/>
    </decisionTable>
  </decision>
  <dmndi:DMNDI><dmndi:DMNDiagram id="DMNDiagram_{key}"><dmndi:DMNShape id="DMNShape_{key}" dmnElementRef="{key}">
    <dc:Bounds height="80" width="180" x="160" y="100"/></dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>
</definitions>
"""


@bp.before_request
def _designers_only() -> None:
    actor().require_role(*DESIGNER_ROLES)


def json_endpoint(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer JSON whatever happens: findings for definitions, a message for other domain errors."""

    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DefinitionError as exc:
            return jsonify({"ok": False, "message": render(exc), "findings": exc.findings}), 422
        except RectiflowError as exc:
            return jsonify({"ok": False, "message": render(exc), "findings": []}), status_for(exc)

    return inner


def _body() -> dict[str, Any]:
    """The JSON object the editor posts; anything else (not JSON, a number such as 1e999, an array)
    is a 422 naming what arrived, never an AttributeError further down."""
    body = request.get_json(silent=True)
    if body is None:
        raise DefinitionError(N_("The request is not valid."),
                              [{"file": "", "element": "", "problem": "the request body is not JSON"}])
    return svc.Submission.require_object(body)


def _submission() -> svc.Submission:
    return svc.Submission.from_json(_body())


def _catalog() -> dict[str, Any]:
    s = db()
    forms = {k: json.loads(v) for k, v in svc.form_catalog(s).items()}
    return {
        "roles": svc.role_catalog(),
        "forms": forms,
        "operations": svc.operation_catalog(runtime().operations),
        "locale": current_locale(),
    }


def _strings() -> dict[str, str]:
    return {
        "element": _("Element"),
        "id": _("Id"),
        "name": _("Name"),
        "documentation": _("Documentation"),
        "role": _("Role"),
        "lane_hint": _("The lane id starts with the role code followed by __."),
        "no_lane": _("Not in a lane: the task has no role."),
        "form": _("Form"),
        "none": _("(none)"),
        "preview": _("Preview"),
        "edit_form": _("Edit form"),
        "title": _("Title expression"),
        "due": _("Due date expression"),
        "scope": _("Unit scope expression"),
        "prefill": _("Prefill (expression)"),
        "operation": _("Operation"),
        "parameters": _("Parameters"),
        "required": _("required"),
        "result_var": _("Result variable"),
        "timer": _("Timer"),
        "timer_kind": _("Kind"),
        "time_date": _("Date (timeDate)"),
        "time_duration": _("Duration (timeDuration)"),
        "time_cycle": _("Cycle (timeCycle)"),
        "expression": _("Expression"),
        "condition": _("Condition"),
        "default_flow": _("Default flow"),
        "script": _("Script"),
        "instructions": _("Instructions for the user"),
        "validating": _("Checking…"),
        "valid": _("No problems found."),
        "problems": _("Problems"),
        "deploy_ok": _("Deployed."),
        "created": _("New versions"),
        "unchanged": _("Unchanged"),
        "added": _("Added"),
        "removed": _("Removed"),
        "changed": _("Changed"),
        "no_changes": _("No element changed (layout only)."),
        "note_required": _("Please write a change note."),
        "error": _("The request failed"),
        "select_hint": _("Select an element in the diagram to edit it."),
        "ok_element": _("No problem with this element."),
        "form_key": _("New form key"),
        "form_bad_key": _("A form key uses lowercase letters, digits and underscores."),
        "not_json": _("Not valid JSON"),
        "migrate": _("Migrate running instances"),
        "called_version": _("deployed version"),
        "new_file": _("new"),
    }


# ----------------------------------------------------------------------------- pages


@bp.route("/")
def index() -> Any:
    return render_template("designer/index.html", rows=svc.processes(db()), findings=None)


@bp.route("/versions/<int:definition_id>/source")
def download(definition_id: int) -> Any:
    d = db().get(ProcessDefinition, definition_id)
    if d is None:
        raise NotFound(N_("Process definition %(id)s not found."), id=definition_id)
    name, content = svc.version_source(db(), d)
    stem = name.rsplit(".", 1)[0]
    return Response(
        content,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{stem}-v{d.version}.bpmn"'},
    )


def _editor(xml: str, file_name: str, key: str, version: int | None, imported: bool = False) -> Any:
    return render_template(
        "designer/editor.html",
        xml=xml,
        file_name=file_name,
        key=key,
        version=version,
        catalog=_catalog(),
        strings=_strings(),
        imported=imported,
    )


@bp.route("/process/<key>")
def edit(key: str) -> Any:
    version = request.args.get("version", type=int)
    d = svc.definition(db(), key, version)
    name, content = svc.version_source(db(), d)
    return _editor(content.decode("utf-8"), name, key, d.version)


@bp.route("/new")
def new() -> Any:
    key = request.args.get("key", "").strip()
    if not key.isidentifier():
        flash(_("A process key uses letters, digits and underscores and does not start with a digit."), "info")
        return redirect(url_for("designer.index"))
    return _editor(BLANK_BPMN.format(key=key), f"{key}.bpmn", key, None)


@bp.route("/import", methods=["POST"])
def import_file() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a .bpmn file to import."), "info")
        return redirect(url_for("designer.index"))
    raw = upload.read()
    try:
        xml, laid_out = svc.import_diagram(raw, upload.filename)
    except DefinitionError as exc:
        return render_template("designer/index.html", rows=svc.processes(db()), findings=exc.findings), 422
    root_keys = svc.process_keys(xml.encode("utf-8"))
    key = root_keys[0] if root_keys else ""
    if laid_out:
        flash(_("The file had no diagram layout; it was laid out automatically."), "info")
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
    return _editor(xml, name if name.endswith(".bpmn") else f"{key}.bpmn", key, None, imported=True)


@bp.route("/dmn/")
@bp.route("/dmn/<name>")
def dmn(name: str | None = None) -> Any:
    src, _keys = svc.workspace(db())
    names = sorted(src.dmn)
    if name is None:
        new_key = request.args.get("key", "").strip()
        if new_key.isidentifier():
            return render_template(
                "designer/dmn.html",
                names=names,
                name=f"{new_key}.dmn",
                xml=BLANK_DMN.format(key=new_key),
                strings=_strings(),
            )
        return render_template("designer/dmn.html", names=names, name=None, xml=None, strings=_strings())
    if name not in src.dmn:
        raise NotFound(N_("The decision table “%(name)s” is not deployed."), name=name)
    return render_template(
        "designer/dmn.html", names=names, name=name, xml=src.dmn[name].decode("utf-8"), strings=_strings()
    )


@bp.route("/forms/<key>/preview")
def form_preview_page(key: str) -> Any:
    raw = svc.form_catalog(db()).get(key)
    if raw is None:
        raise NotFound(N_("The form “%(key)s” is not deployed."), key=key)
    form = formlib.load_form(json.loads(raw), key)
    html = render_form(form, {}, None, locale=current_locale())
    return render_template("designer/form_preview.html", key=key, form_html=html)


# ----------------------------------------------------------------------------- JSON endpoints


@bp.route("/validate", methods=["POST"])
@json_endpoint
def validate() -> Any:
    findings = svc.check(db(), runtime(), _submission())
    return jsonify({"ok": not findings, "findings": findings})


@bp.route("/diff", methods=["POST"])
@json_endpoint
def diff() -> Any:
    sub = _submission()
    findings = svc.check(db(), runtime(), sub)
    return jsonify({"ok": not findings, "findings": findings, "diff": svc.differences(db(), sub)})


@bp.route("/deploy", methods=["POST"])
@json_endpoint
def deploy() -> Any:
    body = _body()
    note = str(body.get("note") or "").strip()
    if not note:
        raise InvalidInput(N_("A change note is required."),
                           errors={"note": [Message(N_("Please write a change note."))]})
    report, changes = svc.deploy(db(), runtime(), _submission(), actor=actor().username, note=note)
    return jsonify(
        {
            "ok": True,
            "created": report.created,
            "unchanged": report.unchanged,
            "restored": report.restored,
            "diff": changes,
            "processes_url": url_for("designer.index"),
        }
    )


@bp.route("/forms/preview", methods=["POST"])
@json_endpoint
def form_preview() -> Any:
    body = _body()
    key = str(body.get("key") or "preview")
    form_data = body.get("form")
    if isinstance(form_data, str):
        try:
            form_data = json.loads(form_data)
        except json.JSONDecodeError as exc:
            raise DefinitionError(
                N_("The form is not valid JSON."),
                [{"file": f"forms/{key}.json", "element": "", "problem": f"malformed JSON: {exc}"}],
            ) from None
    form = formlib.load_form(form_data if isinstance(form_data, dict) else {}, key)
    html = render_form(form, {}, None, locale=current_locale())
    return jsonify({"ok": True, "html": str(html), "findings": []})


# ----------------------------------------------------------------------------- migration


@bp.route("/process/<key>/migrate")
def migrate_page(key: str) -> Any:
    s = db()
    latest = svc.definition(s, key)
    rows = mig.candidates(s, key)
    versions = {d.id: d.version for d in s.query(ProcessDefinition).filter(ProcessDefinition.key == key)}
    return render_template("designer/migrate.html", key=key, latest=latest, rows=rows, versions=versions)


def _chosen() -> list[int]:
    ids = []
    for raw in request.form.getlist("instance"):
        try:
            ids.append(int(raw))
        except ValueError:
            continue
    return ids


@bp.route("/process/<key>/migrate/dry-run", methods=["POST"])
def migrate_dry_run(key: str) -> Any:
    s = db()
    latest = svc.definition(s, key)
    target_id = request.form.get("target", type=int) or latest.id
    chosen = _chosen()
    if not chosen:
        flash(_("Choose at least one instance."), "info")
        return redirect(url_for("designer.migrate_page", key=key))
    results = []
    for iid in chosen:
        inst = s.get(ProcessInstance, iid)
        if inst is None or inst.process_key != key:
            continue
        try:
            results.append(mig.dry_run(s, runtime(), iid, target_id).as_dict())
        except (Conflict, NotFound) as exc:
            results.append({"instance_id": iid, "allowed": False, "reasons": [render(exc)], "error": True})
    target = s.get(ProcessDefinition, target_id)
    return render_template("designer/migrate_result.html", key=key, results=results, target=target, done=False)


@bp.route("/process/<key>/migrate", methods=["POST"])
def migrate(key: str) -> Any:
    target_id = request.form.get("target", type=int)
    chosen = _chosen()
    expected = {iid: request.form.get(f"version_{iid}", type=int) for iid in chosen}
    who = actor().username
    end_db()  # one transaction per instance: a refused instance does not undo the others
    rt = runtime()
    results = []
    for iid in chosen:
        try:
            with rt.sessions.begin() as s:
                inst = s.get(ProcessInstance, iid)
                if inst is None or inst.process_key != key:
                    raise NotFound(N_("Process instance %(id)s not found."), id=iid)
                plan = mig.migrate(s, rt, iid, int(target_id or 0), actor=who, expected_version=expected.get(iid))
            results.append({"instance_id": iid, "migrated": True, **plan.as_dict()})
        except (Conflict, NotFound) as exc:
            results.append({"instance_id": iid, "migrated": False, "allowed": False, "reasons": [render(exc)]})
    with rt.reads() as s:
        target = s.get(ProcessDefinition, target_id) if target_id else None
        return render_template("designer/migrate_result.html", key=key, results=results, target=target, done=True)


def json_script(value: Any) -> Markup:
    """JSON for a <script type="application/json"> block (no closing-tag injection)."""
    text = json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))  # noqa: S704 (escaped above)


bp.add_app_template_filter(json_script, "designer_json")
