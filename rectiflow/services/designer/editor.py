"""The process designer's services: the deployed workspace, checks, differences, deploy, import.

The designer edits one or a few files at a time; everything else it deploys with comes from the
*workspace*: the newest deployed version of every process key, with the DMN tables and forms those
versions use. Submitted files replace the workspace files that define the same processes, so a
deploy always validates the whole closure (called processes, forms) exactly as ``definitions.deploy``
will, and nothing is written unless all of it passes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectiflow import bpmn_layout
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, SourceFile
from rectiflow.domain.vocab import Role
from rectiflow.engine.loader import NS, structural_findings
from rectiflow.engine.xmlsafe import MAX_DIAGRAM_BYTES, UnsafeXml, parse_xml
from rectiflow.errors import DefinitionError, NotFound
from rectiflow.i18n import N_
from rectiflow.services.runtime import Runtime
from rectiflow.services.workflow import definitions
from rectiflow.services.workflow.definitions import DeployReport, Sources
from rectiflow.services.workflow.operations import OperationRegistry

BPMN_NS = NS["bpmn"]
_DI_NAMESPACES = (
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
)
_DERIVED_CHILDREN = {"incoming", "outgoing"}  # bpmn-js writes these; they repeat the sequence flows


def _finding(file: str, element: str, problem: str) -> dict[str, str]:
    return {"file": file, "element": element, "problem": problem}


# ----------------------------------------------------------------------------- reading the catalogue


@dataclass
class VersionRow:
    id: int
    key: str
    name: str
    version: int
    content_hash: str
    file_name: str
    deployed_at: Any
    deployed_by: str
    change_note: str
    running: int = 0
    total: int = 0
    restores: int | None = None  # a redeploy of this earlier version's content (a rollback)


@dataclass
class ProcessRow:
    key: str
    name: str
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def latest(self) -> VersionRow:
        return self.versions[0]


def processes(session: Session) -> list[ProcessRow]:
    """Every process key with its versions (newest first) and how many instances each runs."""
    counts: dict[int, dict[str, int]] = {}
    for def_id, status, n in session.execute(
        select(ProcessInstance.definition_id, ProcessInstance.status, func.count(ProcessInstance.id)).group_by(
            ProcessInstance.definition_id, ProcessInstance.status
        )
    ):
        counts.setdefault(def_id, {})[status] = n
    out: dict[str, ProcessRow] = {}
    first_with: dict[tuple[str, str], int] = {}  # (key, content) → the first version that had it
    for d in session.scalars(
        select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version)
    ):
        c = counts.get(d.id, {})
        content = definitions.closure_digest(d.files)  # a rollback's record hash differs, its content not
        first = first_with.setdefault((d.key, content), d.version)
        row = out.setdefault(d.key, ProcessRow(d.key, d.name))
        row.versions.insert(
            0,
            VersionRow(
                d.id,
                d.key,
                d.name,
                d.version,
                content,
                d.file_name,
                d.deployed_at,
                d.deployed_by,
                d.change_note or "",
                running=sum(c.get(s, 0) for s in ("running", "suspended", "error")),
                total=sum(c.values()),
                restores=first if first != d.version else None,
            ),
        )
        row.name = d.name  # the newest version's name
    return list(out.values())


def definition(session: Session, key: str, version: int | None = None) -> ProcessDefinition:
    if version is None:
        return definitions.latest_definition(session, key)
    d = session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version)
    )
    if d is None:
        raise NotFound(N_("Process “%(key)s” has no version %(version)s."), key=key, version=version)
    return d


def _content(session: Session, digest: str) -> bytes:
    text = session.scalar(select(SourceFile.content).where(SourceFile.content_hash == digest))
    if text is None:
        raise NotFound(N_("Source file %(digest)s is missing."), digest=digest[:12])
    return text.encode("utf-8")


def version_source(session: Session, d: ProcessDefinition) -> tuple[str, bytes]:
    """The BPMN file that defines ``d`` (file name, bytes), exactly as deployed."""
    return d.file_name, _content(session, d.files["bpmn"][d.file_name])


def workspace(session: Session) -> tuple[Sources, dict[str, set[str]]]:
    """The newest deployed sources of every process key, and which process keys each BPMN file defines."""
    src = Sources()
    keys_by_file: dict[str, set[str]] = {}
    latest = session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.id.in_(select(func.max(ProcessDefinition.id)).group_by(ProcessDefinition.key)))
        .order_by(ProcessDefinition.deployed_at, ProcessDefinition.id)
    )
    hashes: dict[str, dict[str, str]] = {"bpmn": {}, "dmn": {}, "forms": {}}
    own: dict[str, str] = {}
    for d in latest:  # oldest first, so newer versions' files win
        for kind in ("dmn", "forms"):
            hashes[kind].update(d.files.get(kind, {}))
        own[d.file_name] = d.files["bpmn"][d.file_name]
        keys_by_file.setdefault(d.file_name, set()).add(d.key)
        for name, digest in d.files["bpmn"].items():
            hashes["bpmn"].setdefault(name, digest)
    hashes["bpmn"].update(own)  # a key's own file beats an older copy in another key's closure
    every = {h for kind in hashes.values() for h in kind.values()}
    rows = dict(
        session.execute(
            select(SourceFile.content_hash, SourceFile.content).where(SourceFile.content_hash.in_(every))
        ).all()
    )
    src.bpmn = {n: rows[h].encode() for n, h in sorted(hashes["bpmn"].items()) if h in rows}
    src.dmn = {n: rows[h].encode() for n, h in sorted(hashes["dmn"].items()) if h in rows}
    src.forms = {k: rows[h].encode() for k, h in sorted(hashes["forms"].items()) if h in rows}
    return src, keys_by_file


def form_catalog(session: Session) -> dict[str, bytes]:
    return workspace(session)[0].forms


def operation_catalog(operations: OperationRegistry) -> list[dict[str, Any]]:
    return [
        {
            "name": op.name,
            "description": op.description,
            "mode": op.mode,
            "params": [
                {"name": p.name, "type": p.type, "required": p.required, "description": p.description}
                for p in op.params
            ],
        }
        for op in operations
    ]


def role_catalog() -> list[dict[str, str]]:
    return [{"code": r.value, "zh": r.label("zh_CN"), "en": r.label("en")} for r in Role]


# ----------------------------------------------------------------------------- submissions


@dataclass
class Submission:
    """What the editor sends: BPMN files (name → XML), DMN files, and edited forms (key → JSON)."""

    bpmn: dict[str, bytes] = field(default_factory=dict)
    dmn: dict[str, bytes] = field(default_factory=dict)
    forms: dict[str, bytes] = field(default_factory=dict)

    @staticmethod
    def require_object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise DefinitionError(
                N_("The request is not a JSON object."),
                [_finding("", "", f"expected {{files: {{name: xml}}, forms: {{key: form}}}}, not {_json_type(body)}")],
            )
        return body

    @classmethod
    def from_json(cls, body: Any) -> Submission:
        body = cls.require_object(body)
        sub = cls()
        files, forms = _object(body, "files", "{name: xml}"), _object(body, "forms", "{key: form}")
        for name, xml in files.items():
            if not isinstance(xml, str):
                raise DefinitionError(N_("The request is not valid."),
                                      [_finding(str(name), "", "file content must be text")])
            target = sub.dmn if str(name).endswith(".dmn") else sub.bpmn
            target[_safe_name(str(name))] = xml.encode("utf-8")
        for key, form in forms.items():
            if not isinstance(form, (str, dict)):
                raise DefinitionError(N_("The request is not valid."), [_finding(
                    f"forms/{key}.json", "", f"a form must be a JSON object or its text, not {_json_type(form)}")])
            try:  # allow_nan=False: a number like 1e999 arrives as infinity, which JSON cannot hold
                raw = form if isinstance(form, str) else json.dumps(form, ensure_ascii=False, indent=2,
                                                                    allow_nan=False)
            except ValueError:
                raise DefinitionError(N_("The request is not valid."), [_finding(
                    f"forms/{key}.json", "", "the form holds a number JSON cannot represent (such as 1e999)")]
                ) from None
            sub.forms[str(key)] = raw.encode("utf-8")
        return sub


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number",
             type(None): "null", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _object(body: dict[str, Any], key: str, shape: str) -> dict[str, Any]:
    """``body[key]`` when it is an object (absent or null: empty); anything else is named, not a 500."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DefinitionError(N_("The request is not valid."), [_finding(
            "", "", f"'{key}' must be an object {shape}, not {_json_type(value)}")])
    return value


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "diagram.bpmn"
    if not base.endswith((".bpmn", ".dmn")):
        base += ".bpmn"
    return base


def _process_ids(root: etree._Element) -> set[str]:
    return {p.get("id", "") for p in root.iterfind(f"{{{BPMN_NS}}}process")}


def _submission_findings(sub: Submission) -> tuple[list[dict[str, str]], dict[str, etree._Element]]:
    """Checks on the submitted files themselves: safe, well-formed, executable."""
    out: list[dict[str, str]] = []
    roots: dict[str, etree._Element] = {}
    for name, raw in sorted(sub.bpmn.items()):
        try:
            root = parse_xml(raw, name)
        except UnsafeXml as exc:
            out.append(_finding(name, "", str(exc).split(": ", 1)[-1]))
            continue
        except etree.XMLSyntaxError as exc:
            out.append(_finding(name, "", f"malformed XML: {exc.msg} (line {exc.lineno})"))
            continue
        if root.tag != f"{{{BPMN_NS}}}definitions":
            out.append(_finding(name, "", "not a BPMN file (the root element is not bpmn:definitions)"))
            continue
        roots[name] = root
        procs = list(root.iterfind(f"{{{BPMN_NS}}}process"))
        if not procs:
            out.append(_finding(name, "", "the file contains no process"))
        elif not any(p.get("isExecutable") == "true" for p in procs):
            out.append(_finding(name, procs[0].get("id", ""), 'the process is not executable: set isExecutable="true"'))
    for name, raw in sorted(sub.dmn.items()):
        if len(raw) > MAX_DIAGRAM_BYTES:
            out.append(_finding(name, "", f"file is larger than {MAX_DIAGRAM_BYTES // 1024} KiB"))
    return out, roots


def compose(session: Session, sub: Submission) -> tuple[Sources, list[dict[str, str]], dict[str, etree._Element]]:
    """The workspace with the submission laid over it, plus findings about the submission itself."""
    findings, roots = _submission_findings(sub)
    src, keys_by_file = workspace(session)
    replaced = {pid for root in roots.values() for pid in _process_ids(root)}
    for name in list(src.bpmn):
        if name in sub.bpmn or keys_by_file.get(name, set()) & replaced:
            del src.bpmn[name]
    for name, raw in sub.bpmn.items():
        src.bpmn[name] = raw
    src.dmn.update(sub.dmn)
    for key, raw in sub.forms.items():
        old = src.forms.get(key)
        if old is not None and _same_json(old, raw):
            continue  # unchanged content keeps the deployed bytes (and hash)
        src.forms[key] = raw
    return src, findings, roots


def _same_json(a: bytes, b: bytes) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def check(session: Session, rt: Runtime, sub: Submission) -> list[dict[str, str]]:
    """Every finding a deploy of ``sub`` would raise (empty list: it would deploy)."""
    src, findings, roots = compose(session, sub)
    if findings:
        return findings
    try:
        definitions.validate(src, rt.operations)
    except DefinitionError as exc:
        return _on_shapes(list(exc.findings) or [_finding("", "", exc.message)], roots)
    return []


def _on_shapes(findings: list[dict[str, str]], roots: dict[str, etree._Element]) -> list[dict[str, str]]:
    """Name the drawn element a finding belongs to (a timer's event, not its eventDefinition), so
    the editor can mark and select it; the inner id stays under ``detail``."""
    owners: dict[tuple[str, str], str] = {}
    for name, root in roots.items():
        drawn = {e.get("bpmnElement") for e in root.iter() if isinstance(e.tag, str) and e.get("bpmnElement")}
        for el in root.iter():
            eid = el.get("id") if isinstance(el.tag, str) else None
            if not eid or eid in drawn:
                continue
            owner = el.getparent()
            while owner is not None and owner.get("id") not in drawn:
                owner = owner.getparent()
            if owner is not None:
                owners[(name, eid)] = owner.get("id", "")
    out = []
    for f in findings:
        owner = owners.get((f.get("file", ""), f.get("element", "")))
        out.append({**f, "element": owner, "detail": f["element"]} if owner else f)
    return out


def deploy(
    session: Session, rt: Runtime, sub: Submission, *, actor: str, note: str
) -> tuple[DeployReport, list[dict[str, Any]]]:
    """All or nothing through ``definitions.deploy``; returns the report and the differences deployed."""
    src, findings, roots = compose(session, sub)
    if findings:
        raise DefinitionError(N_("The diagrams cannot be deployed."), findings)
    changes = differences(session, sub)
    try:
        report = definitions.deploy(session, rt, src, actor=actor, note=note.strip())
    except DefinitionError as exc:
        raise DefinitionError(exc.msgid, _on_shapes(exc.findings, roots), **exc.params) from None
    return report, changes


# ----------------------------------------------------------------------------- differences


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if "}" in tag else tag


def _canon(el: etree._Element) -> Any:
    attrs = sorted((_local(k), v) for k, v in el.attrib.items() if k != "id")
    kids = [_canon(c) for c in el if isinstance(c.tag, str) and c.get("id") is None]
    return [_local(el.tag), attrs, (el.text or "").strip(), kids]


def _elements(root: etree._Element) -> dict[str, etree._Element]:
    out = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or el is root or el.tag.split("}", 1)[0][1:] in _DI_NAMESPACES:
            continue
        eid = el.get("id")
        if eid:
            out[eid] = el
    return out


def _signature(el: etree._Element) -> dict[str, Any]:
    sig: dict[str, Any] = {f"@{_local(k)}": v for k, v in el.attrib.items() if k != "id"}
    for child in el:
        if not isinstance(child.tag, str) or child.get("id") is not None:
            continue
        local = _local(child.tag)
        if local in _DERIVED_CHILDREN:
            continue
        if local == "flowNodeRef":
            sig.setdefault("flowNodeRef", []).append((child.text or "").strip())
            continue
        sig.setdefault(local, []).append(json.dumps(_canon(child), ensure_ascii=False))
    if "flowNodeRef" in sig:
        sig["flowNodeRef"] = sorted(sig["flowNodeRef"])
    return sig


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def diff_xml(old: bytes | None, new: bytes) -> dict[str, Any]:
    """Added, removed and changed elements (by id) between two BPMN documents, ignoring layout."""
    new_els = _elements(parse_xml(new, "new"))
    old_els = _elements(parse_xml(old, "old")) if old else {}

    def describe(el: etree._Element) -> dict[str, str]:
        return {"id": el.get("id", ""), "type": _local(el.tag), "name": el.get("name", "")}

    added = [describe(new_els[i]) for i in new_els if i not in old_els]
    removed = [describe(old_els[i]) for i in old_els if i not in new_els]
    changed = []
    for eid, el in new_els.items():
        if eid not in old_els:
            continue
        a, b = _signature(old_els[eid]), _signature(el)
        if a == b and _local(el.tag) == _local(old_els[eid].tag):
            continue
        details = []
        if _local(el.tag) != _local(old_els[eid].tag):
            details.append({"what": "type", "old": _local(old_els[eid].tag), "new": _local(el.tag)})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                simple = key.startswith("@") or key == "flowNodeRef"
                details.append(
                    {
                        "what": key.lstrip("@"),
                        "old": _short(a.get(key, "")) if simple else "",
                        "new": _short(b.get(key, "")) if simple else "",
                    }
                )
        changed.append({**describe(el), "changes": details})
    return {"added": added, "removed": removed, "changed": changed}


def differences(session: Session, sub: Submission) -> list[dict[str, Any]]:
    """Per submitted file: its differences from the deployed file defining the same processes; and
    the forms whose content differs from the deployed one."""
    src, keys_by_file = workspace(session)
    out: list[dict[str, Any]] = []
    for name, raw in sorted(sub.bpmn.items()):
        try:
            pids = _process_ids(parse_xml(raw, name))
        except (UnsafeXml, etree.XMLSyntaxError):
            continue
        old_name = next((f for f, keys in keys_by_file.items() if keys & pids), None)
        if old_name is None and name in src.bpmn:
            old_name = name
        old = src.bpmn.get(old_name) if old_name else None
        versions = {}
        for pid in sorted(pids):
            try:
                versions[pid] = definitions.latest_definition(session, pid).version
            except NotFound:
                versions[pid] = 0
        out.append(
            {"file": name, "deployed_file": old_name, "processes": versions, "kind": "bpmn", **diff_xml(old, raw)}
        )
    for key, raw in sorted(sub.forms.items()):
        old = src.forms.get(key)
        if old is None:
            out.append(
                {
                    "file": f"forms/{key}.json",
                    "kind": "form",
                    "added": [{"id": key, "type": "form", "name": ""}],
                    "removed": [],
                    "changed": [],
                }
            )
        elif not _same_json(old, raw):
            out.append(
                {
                    "file": f"forms/{key}.json",
                    "kind": "form",
                    "added": [],
                    "removed": [],
                    "changed": [{"id": key, "type": "form", "name": "", "changes": []}],
                }
            )
    for name, raw in sorted(sub.dmn.items()):
        old = src.dmn.get(name)
        if old != raw:
            out.append(
                {
                    "file": name,
                    "kind": "dmn",
                    "added": [] if old else [{"id": name, "type": "dmn", "name": ""}],
                    "removed": [],
                    "changed": [{"id": name, "type": "dmn", "name": "", "changes": []}] if old else [],
                }
            )
    return out


# ----------------------------------------------------------------------------- import


def import_diagram(raw: bytes, name: str) -> tuple[str, bool]:
    """A .bpmn from a desktop modeler, checked and, when diagram interchange is missing, laid out.

    Returns (XML text, laid_out). Raises DefinitionError naming file and element on anything the
    designer cannot open. Deploying still runs every other check.
    """
    name = _safe_name(name)
    sub = Submission(bpmn={name: raw})
    findings, roots = _submission_findings(sub)
    if findings:
        raise DefinitionError(N_("The file cannot be imported."), findings)
    root = roots[name]
    missing_di = [f for f in structural_findings(name, root) if "diagram interchange" in f["problem"]]
    if root.find(f"{{{NS['bpmndi']}}}BPMNDiagram") is None or missing_di:
        try:
            return bpmn_layout.layout(raw).decode("utf-8"), True
        except (ValueError, etree.XMLSyntaxError) as exc:
            raise DefinitionError(
                N_("The file cannot be laid out."), [_finding(name, "", f"automatic layout failed: {exc}")]
            ) from None
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        raise DefinitionError(
            N_("The file cannot be imported."), [_finding(name, "", "the file is not UTF-8 text")]
        ) from None


def process_keys(raw: bytes) -> list[str]:
    """The executable process ids in a BPMN document, in document order (for naming an import)."""
    try:
        root = parse_xml(raw, "diagram")
    except (UnsafeXml, etree.XMLSyntaxError):
        return []
    return [p.get("id", "") for p in root.iterfind(f"{{{BPMN_NS}}}process") if p.get("isExecutable") == "true"]
