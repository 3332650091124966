"""Deploying diagrams, DMN tables and forms as immutable versions, and loading them back.

A definition version covers its closure (own BPMN file, the files of processes it calls, DMN tables,
forms named by its user tasks); its content hash is taken over that closure, so changing a form or
a called process makes a new version of every process that uses it, and an instance always runs
with exactly the files it started with.

Deploying a closure equal to the latest version changes nothing; equal to an *older* version, it
makes that content the latest again as a new version (a rollback by redeploy: the designer deploys
v1's bytes after a bad v2). The new record points at the same stored files; its content hash
names the record (the table keeps one row per key and hash), `closure_digest(files)` the content.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow import forms as formlib
from rectiflow.db.runtime import ProcessDefinition, SourceFile
from rectiflow.engine import ParsedBundle, parse_bundle, sandbox
from rectiflow.errors import DefinitionError, NotFound
from rectiflow.i18n import N_
from rectiflow.roles import ROLES
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow.operations import OperationRegistry


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Sources:
    bpmn: dict[str, bytes] = field(default_factory=dict)
    dmn: dict[str, bytes] = field(default_factory=dict)
    forms: dict[str, bytes] = field(default_factory=dict)  # form key → JSON bytes

    @classmethod
    def from_dirs(cls, processes: Path, forms: Path) -> Sources:
        src = cls()
        for p in sorted(processes.glob("*.bpmn")):
            src.bpmn[p.name] = p.read_bytes()
        for p in sorted(processes.glob("*.dmn")):
            src.dmn[p.name] = p.read_bytes()
        for p in sorted(forms.glob("*.json")):
            src.forms[p.stem] = p.read_bytes()
        return src


@dataclass
class DeployReport:
    created: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[tuple[str, int]] = field(default_factory=list)
    restored: list[tuple[str, int, int]] = field(default_factory=list)  # (key, new version, version restored)


def closure_digest(closure: dict[str, Any]) -> str:
    """The hash of what a version runs with, whichever record holds it."""
    return sha256(json.dumps(closure, sort_keys=True).encode())


def validate(sources: Sources, operations: OperationRegistry) -> tuple[ParsedBundle, dict[str, formlib.Form]]:
    """Everything a deploy checks, without writing anything. Raises DefinitionError with all findings."""
    findings: list[dict[str, str]] = []
    parsed_forms: dict[str, formlib.Form] = {}
    for key, raw in sorted(sources.forms.items()):
        try:
            parsed_forms[key] = formlib.load_form(json.loads(raw), key)
        except json.JSONDecodeError as exc:
            findings.append({"file": f"forms/{key}.json", "element": "", "problem": f"malformed JSON: {exc}"})
        except DefinitionError as exc:
            findings.extend(exc.findings)
    try:
        bundle = parse_bundle(sources.bpmn, sources.dmn)
    except DefinitionError as exc:
        raise DefinitionError(exc.msgid, findings + exc.findings, **exc.params) from None
    findings.extend(_reference_findings(bundle, parsed_forms, sources, operations))
    # Notification templates are deployed with the code, but a template naming an unknown variable
    # must stop a deploy just like a diagram naming an unknown form.
    from rectiflow.services.notifications import validate_templates

    findings.extend(validate_templates())
    if findings:
        raise DefinitionError(N_("The diagrams cannot be deployed."), findings)
    return bundle, parsed_forms


def _reference_findings(bundle: ParsedBundle, forms: dict[str, Any], sources: Sources,
                        operations: OperationRegistry) -> list[dict[str, str]]:
    out = []
    files = {p.process_id: p.file for p in bundle.processes.values()}
    for (pid, eid), ut in bundle.user_tasks.items():
        f = files.get(pid, "")
        if ut.role is None:
            out.append({"file": f, "element": eid, "problem": "user task is not in a lane (the lane names the role)"})
        elif ut.role not in ROLES:
            out.append({"file": f, "element": eid, "problem": f"lane role '{ut.role}' is not a known role"})
        if not ut.form_key:
            out.append({"file": f, "element": eid, "problem": "user task names no form (property formKey)"})
        elif ut.form_key not in sources.forms:
            out.append({"file": f, "element": eid, "problem": f"form '{ut.form_key}' does not exist in forms/"})
    for (pid, eid), st in bundle.service_tasks.items():
        f = files.get(pid, "")
        if st.operation not in operations:
            out.append({"file": f, "element": eid, "problem": f"service operation '{st.operation}' is not registered"})
            continue
        for missing in operations.missing_params(st.operation, st.params):
            problem = f"operation '{st.operation}' needs parameter '{missing}'"
            out.append({"file": f, "element": eid, "problem": problem})
    for snip in bundle.snippets:
        check = sandbox.check_script if snip.kind == "script" else sandbox.check_expression
        for problem in check(snip.source):
            out.append({"file": snip.file, "element": snip.element_id, "problem": problem})
    return out


def deploy(session: Session, rt: Runtime, sources: Sources, *, actor: str, note: str = "") -> DeployReport:
    """All or nothing: validation first, then one new version per process whose closure changed."""
    bundle, _forms = validate(sources, rt.operations)
    from rectiflow.services import audit

    report = DeployReport()
    now = rt.clock.now()
    file_hashes = {
        "bpmn": {n: _store(session, "bpmn", n, b, now) for n, b in sources.bpmn.items()},
        "dmn": {n: _store(session, "dmn", n, b, now) for n, b in sources.dmn.items()},
        "forms": {k: _store(session, "form", k, b, now) for k, b in sources.forms.items()},
    }
    for pid, proc in sorted(bundle.processes.items()):
        closure = _closure(pid, bundle, file_hashes)
        digest = closure_digest(closure)
        latest = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == pid)
                                .order_by(ProcessDefinition.version.desc()).limit(1))
        if latest is not None and closure_digest(latest.files) == digest:
            report.unchanged.append((pid, latest.version))
            continue
        version = (latest.version if latest is not None else 0) + 1
        earlier = session.scalar(select(ProcessDefinition.version).where(
            ProcessDefinition.key == pid, ProcessDefinition.content_hash == digest))
        record_hash = digest
        if earlier is not None:  # a rollback: the same files under a new version and its own record hash
            record_hash = sha256(f"{digest}:v{version}".encode())
            report.restored.append((pid, version, earlier))
        session.add(ProcessDefinition(key=pid, name=proc.name, version=version, content_hash=record_hash,
                                      file_name=proc.file, files=closure, change_note=note,
                                      deployed_at=now, deployed_by=actor))
        report.created.append((pid, version))
    session.flush()
    if report.created:
        payload: dict[str, Any] = {"created": report.created, "note": note}
        if report.restored:
            payload["restored"] = report.restored
        audit.record(session, at=now, actor=actor, action="definitions.deployed", object_type="definition",
                     payload=payload)
    return report


def _store(session: Session, kind: str, name: str, content: bytes, now: Any) -> str:
    digest = sha256(content)
    if session.scalar(select(SourceFile.id).where(SourceFile.content_hash == digest)) is None:
        session.add(SourceFile(kind=kind, name=name, content_hash=digest, content=content.decode("utf-8"),
                               created_at=now))
        session.flush()
    return digest


def _closure(pid: str, bundle: ParsedBundle, hashes: dict[str, dict[str, str]]) -> dict[str, Any]:
    procs = {pid, *bundle.processes[pid].called}
    bpmn_files = {bundle.processes[p].file for p in procs if p in bundle.processes}
    form_keys = {ut.form_key for (p, _), ut in bundle.user_tasks.items() if p in procs and ut.form_key}
    return {
        "bpmn": {f: hashes["bpmn"][f] for f in sorted(bpmn_files)},
        "dmn": dict(sorted(hashes["dmn"].items())),
        "forms": {k: hashes["forms"][k] for k in sorted(form_keys)},
    }


def latest_definition(session: Session, key: str) -> ProcessDefinition:
    d = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key)
                       .order_by(ProcessDefinition.version.desc()).limit(1))
    if d is None:
        raise NotFound(N_("Process “%(key)s” is not deployed."), key=key)
    return d


@dataclass(frozen=True)
class DefinitionInfo:
    """The immutable facts of a deployed version, cached per process: a trigger needs them every time."""

    id: int
    key: str
    version: int
    content_hash: str
    files: dict[str, Any]


def definition_info(session: Session, rt: Runtime, definition_id: int) -> DefinitionInfo:
    info = rt.definitions.get(definition_id)
    if info is None:
        d = session.get(ProcessDefinition, definition_id)
        if d is None:
            raise NotFound(N_("Process definition %(id)s not found."), id=definition_id)
        info = rt.definitions[definition_id] = DefinitionInfo(d.id, d.key, d.version, d.content_hash, d.files)
    return info


def bundle_for(session: Session, rt: Runtime, definition: ProcessDefinition | DefinitionInfo) -> ParsedBundle:
    """Parsed specs of a definition version, from the cache or rebuilt from the stored sources."""
    cached = rt.bundles.get(definition.content_hash)
    if cached is not None:
        return cached
    files = definition.files
    contents = _contents(session, [*files["bpmn"].values(), *files["dmn"].values()])
    bundle = parse_bundle({n: contents[h] for n, h in files["bpmn"].items()},
                          {n: contents[h] for n, h in files["dmn"].items()})
    rt.bundles[definition.content_hash] = bundle
    return bundle


def form_for(session: Session, rt: Runtime, key: str, digest: str) -> formlib.Form:
    cached = rt.forms.get(digest)
    if cached is None:
        raw = _contents(session, [digest]).get(digest)
        if raw is None:
            raise NotFound(N_("Form “%(key)s” version %(version)s is missing."), key=key, version=digest[:12])
        cached = rt.forms[digest] = formlib.load_form(json.loads(raw), key)
    return cached


def _contents(session: Session, hashes: list[str]) -> dict[str, bytes]:
    rows = session.execute(select(SourceFile.content_hash, SourceFile.content)
                           .where(SourceFile.content_hash.in_(hashes)))
    return {h: c.encode("utf-8") for h, c in rows}
