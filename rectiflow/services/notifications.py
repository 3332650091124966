"""Notifications for users: the in-app list (read, acknowledge = 签收), per-user channel preferences,
templates for the notice texts, the daily digest, and the outbox of deliveries an administrator
can inspect and retry. No Flask here; the web views and the worker call these functions.

Templates live in ``notifications/<kind>.txt``: the first line is the subject, the rest (after an
optional blank line) the body. They are rendered in a sandboxed Jinja2 environment with
``StrictUndefined``, from a fixed set of variables (:data:`VARIABLES`); :func:`validate_templates`
refuses any other name, so a typo is caught at deploy time instead of in a mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rectiflow.clock import BUSINESS_TZ, Clock
from rectiflow.config import PROJECT_ROOT
from rectiflow.db.domain import Delivery, Notice
from rectiflow.db.jobs import Incident, Job
from rectiflow.db.org import User
from rectiflow.errors import Conflict, InvalidInput, NotFound
from rectiflow.services import audit

log = logging.getLogger(__name__)

TEMPLATE_DIR = PROJECT_ROOT / "notifications"
KINDS = ("warning_green", "warning_yellow", "warning_red", "supervision", "reminder", "admonition",
         "report_due", "round_issued")
KIND_LABELS = {"warning_green": "绿色预警", "warning_yellow": "黄色预警", "warning_red": "红色预警",
               "supervision": "挂牌督办", "reminder": "提醒", "admonition": "告诫", "report_due": "报告到期",
               "round_issued": "巡察反馈"}
# The names a notice template may use. Every notice is rendered with all of them (empty when unknown).
VARIABLES = ("recipient", "subject", "body", "kind", "kind_label", "problem_number", "deadline",
             "round_title", "link", "system_name")
DIGEST_VARIABLES = ("recipient", "date", "count", "notices", "link", "system_name")
SYSTEM_NAME = "巡察整改系统"
WEBHOOK_FORMATS = ("generic", "wecom", "dingtalk")
DEFAULT_PREFERENCES: dict[str, Any] = {"email": True, "webhooks": [], "digest": False}


# ------------------------------------------------------------------------------------- templates

def _environment(directory: Path) -> jinja2.Environment:
    return ImmutableSandboxedEnvironment(loader=jinja2.FileSystemLoader(str(directory)),
                                         undefined=jinja2.StrictUndefined, autoescape=False,
                                         keep_trailing_newline=False)


@lru_cache(maxsize=8)
def _cached_environment(directory: str) -> jinja2.Environment:
    return _environment(Path(directory))


def template_dir(settings: Any) -> Path:
    extra = getattr(settings, "extra", None) or {}
    return Path(extra.get("notifications_dir") or TEMPLATE_DIR)


def _split(text: str) -> tuple[str, str]:
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n").rstrip() + "\n"


def render(kind: str, context: dict[str, Any], directory: Path | None = None) -> tuple[str, str] | None:
    """(subject, body) from ``<kind>.txt``, or None when there is no template for the kind."""
    directory = directory or TEMPLATE_DIR
    if not (directory / f"{kind}.txt").is_file():
        return None
    env = _cached_environment(str(directory))
    return _split(env.get_template(f"{kind}.txt").render(**context))


def notice_context(*, recipient: str, subject: str, body: str, kind: str, problem_number: str = "",
                   deadline: str = "", round_title: str = "", link: str = "") -> dict[str, Any]:
    return {"recipient": recipient, "subject": subject, "body": body, "kind": kind,
            "kind_label": KIND_LABELS.get(kind, kind), "problem_number": problem_number,
            "deadline": deadline, "round_title": round_title, "link": link, "system_name": SYSTEM_NAME}


def sample_context(kind: str) -> dict[str, Any]:
    if kind == "digest":
        return {"recipient": "张三", "date": "2025-01-31", "count": 2, "link": "http://127.0.0.1:5000/notices/",
                "system_name": SYSTEM_NAME,
                "notices": [{"subject": "【黄色预警】问题 1.1 整改时限 2025-04-30", "kind": "warning_yellow",
                             "kind_label": "黄色预警", "created_at": "2025-01-30 10:00"}] * 2}
    return notice_context(recipient="张三", subject="【黄色预警】问题 1.1 整改时限 2025-04-30",
                          body="财务审批制度不健全。\n整改时限：2025-04-30", kind=kind, problem_number="1.1",
                          deadline="2025-04-30", round_title="2025年第1轮巡察",
                          link="http://127.0.0.1:5000/notices/")


def validate_templates(directory: Path | str | None = None) -> list[dict[str, str]]:
    """Check every notification template: it parses, uses only known variables, renders with a
    sample context, and has a subject line. Findings are shaped like deploy findings
    (``{"file", "element", "problem"}``); an empty list means all is well. Every kind in
    :data:`KINDS` needs a template."""
    directory = Path(directory or TEMPLATE_DIR)
    findings: list[dict[str, str]] = []

    def finding(name: str, problem: str) -> None:
        findings.append({"file": f"notifications/{name}", "element": "", "problem": problem})

    if not directory.is_dir():
        finding("", f"template directory {directory} does not exist")
        return findings
    env = _environment(directory)
    names = sorted(p.name for p in directory.glob("*.txt"))
    for kind in KINDS:
        if f"{kind}.txt" not in names:
            finding(f"{kind}.txt", f"missing template for notice kind '{kind}'")
    for name in names:
        kind = name[:-4]
        allowed = set(DIGEST_VARIABLES if kind == "digest" else VARIABLES)
        source = (directory / name).read_text(encoding="utf-8")
        try:
            parsed = env.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            finding(name, f"syntax error on line {exc.lineno}: {exc.message}")
            continue
        unknown = sorted(meta.find_undeclared_variables(parsed) - allowed)
        if unknown:
            finding(name, f"unknown variable(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
            continue
        try:
            subject, _body = _split(env.from_string(source).render(**sample_context(kind)))
        except Exception as exc:  # StrictUndefined, a sandbox refusal, a filter error
            finding(name, f"does not render: {type(exc).__name__}: {exc}")
            continue
        if not subject:
            finding(name, "the first line (the subject) renders empty")
    return findings


# ----------------------------------------------------------------------------------- preferences

def preferences(user: User) -> dict[str, Any]:
    prefs = {**DEFAULT_PREFERENCES, **(user.preferences or {})}
    prefs["webhooks"] = [normalise_webhook(w) for w in prefs.get("webhooks") or []]
    return prefs


def normalise_webhook(entry: Any) -> dict[str, str]:
    """A webhook is a URL (generic JSON) or ``{"url", "format": generic|wecom|dingtalk, "secret"}``."""
    if isinstance(entry, str):
        return {"url": entry, "format": "generic"}
    return {"url": str(entry.get("url", "")), "format": str(entry.get("format") or "generic"),
            **({"secret": str(entry["secret"])} if entry.get("secret") else {})}


def validate_preferences(data: Any) -> dict[str, Any]:
    """Check and normalise ``{"email": bool, "webhooks": [url | {url, format, secret}], "digest": bool}``.
    Raises InvalidInput with one message per offending field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise InvalidInput("preferences must be an object", errors={"": ["expected an object"]})
    unknown = sorted(set(data) - set(DEFAULT_PREFERENCES))
    if unknown:
        errors["preferences"] = [f"unknown setting(s): {', '.join(unknown)}"]
    out: dict[str, Any] = dict(DEFAULT_PREFERENCES)
    for key in ("email", "digest"):
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = ["must be true or false"]
            else:
                out[key] = data[key]
    hooks = data.get("webhooks", [])
    if not isinstance(hooks, list):
        errors["webhooks"] = ["must be a list of URLs"]
        hooks = []
    if len(hooks) > 10:
        errors["webhooks"] = ["at most 10 webhooks"]
    normalised = []
    for i, entry in enumerate(hooks):
        where = f"webhooks.{i}"
        if not isinstance(entry, (str, dict)):
            errors[where] = ["must be a URL or {url, format}"]
            continue
        hook = normalise_webhook(entry)
        problems = []
        parts = urlsplit(hook["url"].strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{hook['url']!r} is not an http(s) URL")
        if len(hook["url"]) > 500:
            problems.append("URL longer than 500 characters")
        if hook["format"] not in WEBHOOK_FORMATS:
            problems.append(f"format must be one of {', '.join(WEBHOOK_FORMATS)}")
        if problems:
            errors[where] = problems
            continue
        hook["url"] = hook["url"].strip()
        normalised.append(hook if hook["format"] != "generic" or "secret" in hook else hook["url"])
    out["webhooks"] = normalised
    if errors:
        raise InvalidInput("invalid notification preferences", errors=errors)
    return out


def set_preferences(session: Session, clock: Clock, user_id: int, data: Any, actor: str) -> dict[str, Any]:
    prefs = validate_preferences(data)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    user.preferences = {**(user.preferences or {}), **prefs}
    audit.record(session, at=clock.now(), actor=actor, action="preferences.changed", object_type="user",
                 object_id=str(user_id), payload={"email": prefs["email"], "digest": prefs["digest"],
                                                  "webhooks": len(prefs["webhooks"])})
    return prefs


# -------------------------------------------------------------------------------------- notices

def list_notices(session: Session, user_id: int, *, unread_only: bool = False, limit: int = 500) -> list[Notice]:
    q = select(Notice).where(Notice.recipient_id == user_id)
    if unread_only:
        q = q.where(Notice.read_at.is_(None))
    return list(session.scalars(q.order_by(Notice.read_at.is_not(None), Notice.created_at.desc(),
                                           Notice.id.desc()).limit(limit)))


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count(Notice.id)).where(Notice.recipient_id == user_id,
                                                              Notice.read_at.is_(None))) or 0


def _mine(session: Session, user_id: int, notice_id: int) -> Notice:
    n = session.get(Notice, notice_id, with_for_update=True)
    if n is None or n.recipient_id != user_id:
        raise NotFound("notice not found")  # another user's notice does not exist for this one
    return n


def mark_read(session: Session, clock: Clock, user_id: int, notice_id: int) -> Notice:
    n = _mine(session, user_id, notice_id)
    if n.read_at is None:
        n.read_at = clock.now()
    return n


def mark_all_read(session: Session, clock: Clock, user_id: int) -> int:
    result = session.execute(update(Notice).where(Notice.recipient_id == user_id, Notice.read_at.is_(None))
                             .values(read_at=clock.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def acknowledge(session: Session, clock: Clock, user_id: int, notice_id: int, actor: str) -> Notice:
    """签收: only for notices that require it; once; audited."""
    n = _mine(session, user_id, notice_id)
    if not n.requires_ack:
        raise Conflict("this notice does not need acknowledgement")
    if n.acknowledged_at is None:
        now = clock.now()
        n.acknowledged_at, n.read_at = now, n.read_at or now
        audit.record(session, at=now, actor=actor, action="notice.acknowledged", object_type="notice",
                     object_id=str(n.id), payload={"kind": n.kind, "problem_id": n.problem_id})
    return n


# ---------------------------------------------------------------------------------------- digest

def digest_hour(settings: Any) -> int:
    return int((getattr(settings, "extra", None) or {}).get("digest_hour", 8))


def digest_users(session: Session) -> list[User]:
    """Active users who chose the daily digest and can receive mail."""
    users = session.scalars(select(User).where(User.is_active, User.email != "")).all()
    return [u for u in users if (u.preferences or {}).get("digest") and (u.preferences or {}).get("email", True)]


def schedule_digests(session: Session, clock: Clock, settings: Any) -> int:
    """Queue today's digest job for every digest user with unread notices, once the digest hour has
    passed (business time). Idempotent: the job's ``dedupe_key`` is ``digest:<user>:<date>`` and the
    insert does nothing on conflict, so any number of workers may call this on every tick."""
    if not settings.smtp_url:
        return 0
    now = clock.now()
    local = now.astimezone(BUSINESS_TZ)
    if local.hour < digest_hour(settings):
        return 0
    today = local.date().isoformat()
    queued = 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    for user in digest_users(session):
        key = f"digest:{user.id}:{today}"
        if session.scalar(select(Job.id).where(Job.dedupe_key == key)) is not None:
            continue
        if not unread_count(session, user.id):
            continue
        stmt = dialect_insert(Job).values(
            kind="notify.digest", payload={"params": {"user_id": user.id, "date": today}}, status="queued",
            run_after=now, attempts=0, max_attempts=8, dedupe_key=key, last_error="", created_at=now,
        ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(Job.id)
        queued += len(session.execute(stmt).all())
    return queued


def digest_notices(session: Session, user_id: int, day: str, limit: int = 100) -> list[Notice]:
    """The unread notices a digest for ``day`` summarises: created before the end of that day."""
    end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ)
    return list(session.scalars(select(Notice).where(Notice.recipient_id == user_id, Notice.read_at.is_(None),
                                                     Notice.created_at < end)
                                .order_by(Notice.created_at, Notice.id).limit(limit)))


# ------------------------------------------------------------------------------------ deliveries

@dataclass(frozen=True)
class DeliveryRow:
    id: int
    notice_id: int
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str
    sent_at: datetime | None
    subject: str
    recipient: str


def list_deliveries(session: Session, status: str | None = None, limit: int = 200) -> list[DeliveryRow]:
    q = (select(Delivery, Notice.subject, User.username).join(Notice, Notice.id == Delivery.notice_id)
         .join(User, User.id == Notice.recipient_id))
    if status:
        q = q.where(Delivery.status == status)
    rows = session.execute(q.order_by(Delivery.status != "dead", Delivery.id.desc()).limit(limit)).all()
    return [DeliveryRow(d.id, d.notice_id, d.channel, d.target, d.status, d.attempts, d.last_error, d.sent_at,
                        subject, username) for d, subject, username in rows]


def delivery_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)).all())


def retry_delivery(session: Session, clock: Clock, delivery_id: int, actor: str) -> None:
    """Re-queue a dead delivery (after fixing the address, the relay or the webhook)."""
    d = session.get(Delivery, delivery_id, with_for_update=True)
    if d is None:
        raise NotFound(f"delivery {delivery_id} not found")
    if d.status != "dead":
        raise Conflict(f"delivery {delivery_id} is {d.status}, not dead")
    now = clock.now()
    d.status, d.last_error = "pending", ""
    job = session.scalar(select(Job).where(Job.dedupe_key == f"delivery:{d.id}").with_for_update())
    if job is None:
        session.add(Job(kind="notify.deliver", payload={"params": {"delivery_id": d.id}}, status="queued",
                        run_after=now, max_attempts=8, dedupe_key=f"delivery:{d.id}", created_at=now))
    else:
        job.status, job.attempts, job.run_after, job.finished_at = "queued", 0, now, None
        job.lease_until, job.locked_by, job.last_error = None, None, ""
        session.execute(update(Incident).where(Incident.job_id == job.id, Incident.status == "open")
                        .values(status="resolved", resolved_at=now, resolved_by=actor))
    audit.record(session, at=now, actor=actor, action="delivery.retried", object_type="delivery",
                 object_id=str(d.id), payload={"channel": d.channel})
