"""Notifications for users: the in-app list (read, acknowledge = 签收), per-user channel preferences,
templates for the notice texts, who gets a notice (role holders on a unit and above it), the
outbox of deliveries an administrator can inspect and retry, and the daily digest. No Flask and no
network here: the web views and the worker's operations call these functions, and the worker's
channels put the texts on the wire.

Templates live in ``notifications/<kind>.txt``: the first line is the subject, the rest (after an
optional blank line) the body. They are rendered in a sandboxed Jinja2 environment with
``StrictUndefined``, from a fixed set of variables (:data:`VARIABLES`); :func:`validate_templates`
refuses any other name, so a typo is caught at deploy time instead of in a mail. Their words are message
ids of the one catalogue (``{{ _("Dear %(name)s,", name=recipient) }}``), so one template serves both
languages.

A notice is rendered once, when it is created, in its recipient's locale (``User.locale``): it is a
letter, and the in-app copy, the mail and every retried delivery (same Message-ID) say the same thing
as of the event. A caller passes its subject and body as :class:`~rectiflow.i18n.Message` (an id and
parameters) to have them rendered per recipient; plain text (a diagram's own words) is used as it is.
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
from rectiflow.db.domain import Delivery, Notice, Problem, Round
from rectiflow.db.jobs import Incident, Job
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.domain.vocab import DeliveryChannel, DeliveryStatus, IncidentStatus, NoticeKind
from rectiflow.errors import Conflict, InvalidInput, NotFound
from rectiflow.i18n import LOCALES, N_, Message, normalise, translate
from rectiflow.services import audit, jobs

log = logging.getLogger(__name__)

TEMPLATE_DIR = PROJECT_ROOT / "notifications"
KINDS = NoticeKind.codes()  # each needs a template (a diagram's own kind may have one too)
# The names a notice template may use. Every notice is rendered with all of them (empty when unknown).
VARIABLES = ("recipient", "subject", "body", "kind", "kind_label", "problem_number", "deadline",
             "round_title", "link", "system_name")
DIGEST_VARIABLES = ("recipient", "date", "count", "notices", "link", "system_name")
SYSTEM_NAME = N_("Inspection Rectification System")
# A user's webhook formats: generic JSON goes over the webhook channel, each robot's format is its channel.
WEBHOOK_FORMATS = ("generic", DeliveryChannel.WECOM.value, DeliveryChannel.DINGTALK.value)
DEFAULT_PREFERENCES: dict[str, Any] = {"email": True, "webhooks": [], "digest": False}
MAX_WEBHOOKS, MAX_URL = 10, 500


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


def kind_label(kind: str, locale: str | None) -> str:
    """A notice kind's label (a diagram's own kind, unknown to the vocabulary, is shown by its code)."""
    return NoticeKind.label_of(kind, locale)


def system_name(locale: str | None) -> str:
    """The system's name as a mail's sender and a template's signature, in the reader's language."""
    return translate(locale, SYSTEM_NAME)


def link_text(locale: str | None) -> str:
    """The words of a robot message's link to the notices (WeCom, DingTalk), in the reader's language."""
    return translate(locale, N_("View details"))


def text_in(locale: str | None, text: str | Message) -> str:
    return text.render(locale) if isinstance(text, Message) else text


def _gettext(locale: str | None) -> Any:
    """The templates' ``_``: a catalogue id with named parameters, in ``locale``."""
    def gettext(msgid: str, **params: Any) -> str:
        return translate(locale, msgid, params)
    return gettext


def _split(text: str) -> tuple[str, str]:
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n").rstrip() + "\n"


def render(kind: str, context: dict[str, Any], directory: Path | None = None,
           locale: str | None = None) -> tuple[str, str] | None:
    """(subject, body) from ``<kind>.txt`` in ``locale``, or None when there is no template for the kind."""
    directory = directory or TEMPLATE_DIR
    if not (directory / f"{kind}.txt").is_file():
        return None
    env = _cached_environment(str(directory))
    return _split(env.get_template(f"{kind}.txt").render(**context, _=_gettext(locale)))


def notice_context(*, recipient: str, subject: str, body: str, kind: str, problem_number: str = "",
                   deadline: str = "", round_title: str = "", link: str = "",
                   locale: str | None = None) -> dict[str, Any]:
    return {"recipient": recipient, "subject": subject, "body": body, "kind": kind,
            "kind_label": kind_label(kind, locale), "problem_number": problem_number,
            "deadline": deadline, "round_title": round_title, "link": link, "system_name": system_name(locale)}


def sample_context(kind: str, locale: str | None = None) -> dict[str, Any]:
    """Values to render a template with when it is checked (never shown to anyone)."""
    if kind == "digest":
        return {"recipient": "sample", "date": "2025-01-31", "count": 2, "link": "http://127.0.0.1:5000/notices/",
                "system_name": system_name(locale),
                "notices": [{"subject": "sample subject", "kind": NoticeKind.WARNING_YELLOW,
                             "kind_label": NoticeKind.WARNING_YELLOW.label(locale),
                             "created_at": "2025-01-30 10:00"}] * 2}
    return notice_context(recipient="sample", subject="sample subject", body="sample body", kind=kind,
                          problem_number="1.1", deadline="2025-04-30", round_title="sample round",
                          link="http://127.0.0.1:5000/notices/", locale=locale)


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
        allowed = {*(DIGEST_VARIABLES if kind == "digest" else VARIABLES), "_"}  # ``_``: the catalogue
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
        try:  # in every language: a reader of either must get a mail
            subject = min((_split(env.from_string(source).render(**sample_context(kind, loc), _=_gettext(loc)))[0]
                           for loc in LOCALES), key=len)
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
    errors: dict[str, list[Message]] = {}
    if not isinstance(data, dict):
        raise InvalidInput(N_("The preferences must be an object."), errors={"": [Message(N_("Expected an object."))]})
    unknown = sorted(set(data) - set(DEFAULT_PREFERENCES))
    if unknown:
        errors["preferences"] = [Message(N_("Unknown setting(s): %(names)s"), names=tuple(unknown))]
    out: dict[str, Any] = dict(DEFAULT_PREFERENCES)
    for key in ("email", "digest"):
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = [Message(N_("Must be true or false."))]
            else:
                out[key] = data[key]
    hooks = data.get("webhooks", [])
    if not isinstance(hooks, list):
        errors["webhooks"] = [Message(N_("Must be a list of URLs."))]
        hooks = []
    if len(hooks) > MAX_WEBHOOKS:
        errors["webhooks"] = [Message(N_("At most %(max)s webhooks."), max=MAX_WEBHOOKS)]
    normalised = []
    for i, entry in enumerate(hooks):
        where = f"webhooks.{i}"
        if not isinstance(entry, (str, dict)):
            errors[where] = [Message(N_("Must be a URL or {url, format}."))]
            continue
        hook = normalise_webhook(entry)
        problems = []
        parts = urlsplit(hook["url"].strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(Message(N_("“%(url)s” is not an http(s) URL."), url=hook["url"]))
        if len(hook["url"]) > MAX_URL:
            problems.append(Message(N_("The URL is longer than %(max)s characters."), max=MAX_URL))
        if hook["format"] not in WEBHOOK_FORMATS:
            problems.append(Message(N_("The format must be one of %(formats)s."), formats=WEBHOOK_FORMATS))
        if problems:
            errors[where] = problems
            continue
        hook["url"] = hook["url"].strip()
        normalised.append(hook if hook["format"] != "generic" or "secret" in hook else hook["url"])
    out["webhooks"] = normalised
    if errors:
        raise InvalidInput(N_("The notification preferences are not valid."), errors=errors)
    return out


def set_preferences(session: Session, clock: Clock, user_id: int, data: Any, actor: str) -> dict[str, Any]:
    prefs = validate_preferences(data)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User %(id)s not found."), id=user_id)
    user.preferences = {**(user.preferences or {}), **prefs}
    audit.record(session, at=clock.now(), actor=actor, action="preferences.changed", object_type="user",
                 object_id=str(user_id), payload={"email": prefs["email"], "digest": prefs["digest"],
                                                  "webhooks": len(prefs["webhooks"])})
    return prefs


# -------------------------------------------------------------------------------------- notices

def recipients_for_roles(session: Session, roles: list[str], unit_id: int | None) -> list[User]:
    """Active holders of any of ``roles`` on the unit or on a unit above it (a plant's leader, the
    group's office)."""
    if unit_id is None:
        return []
    unit = session.get(Unit, unit_id)
    if unit is None:
        return []
    ancestor_ids = [int(x) for x in unit.path.strip("/").split("/") if x]
    # DISTINCT over ids only: PostgreSQL cannot compare the JSON preferences column.
    ids = select(RoleAssignment.user_id).where(RoleAssignment.role.in_(roles),
                                               RoleAssignment.unit_id.in_(ancestor_ids))
    return list(session.scalars(select(User).where(User.id.in_(ids), User.is_active).order_by(User.id)))


def _facts(session: Session, problem_id: int | None, round_id: int | None) -> dict[str, str]:
    facts = {"problem_number": "", "deadline": "", "round_title": ""}
    if problem_id is not None:
        prob = session.get(Problem, problem_id)
        if prob is not None:
            facts["problem_number"] = prob.number
            facts["deadline"] = prob.deadline.isoformat() if prob.deadline else ""
            round_id = round_id or prob.round_id
    if round_id is not None:
        rnd = session.get(Round, round_id)
        if rnd is not None:
            facts["round_title"] = rnd.title
    return facts


def warning_texts(colour: str, number: str, deadline: str, feedback: str) -> tuple[Message, Message]:
    """Subject and body of a deadline warning, rendered in each recipient's language."""
    kind = Message(NoticeKind.warning(colour).msgid)
    return (Message(N_("[%(kind)s] Problem %(number)s: rectification deadline %(deadline)s"), kind=kind,
                    number=number, deadline=deadline),
            Message(N_("%(feedback)s\nRectification deadline: %(deadline)s"), feedback=feedback, deadline=deadline))


def notices_link(settings: Any) -> str:
    return f"{settings.base_url.rstrip('/')}/notices/"


def _render_notice(settings: Any, kind: str, subject: str | Message, body: str | Message, user: User,
                   facts: dict[str, str]) -> tuple[str, str]:
    locale = normalise(user.locale)
    subject_text, body_text = text_in(locale, subject), text_in(locale, body)
    context = notice_context(recipient=user.display_name or user.username, subject=subject_text, body=body_text,
                             kind=kind, link=notices_link(settings), locale=locale, **facts)
    try:
        rendered = render(kind, context, template_dir(settings), locale)
    except Exception:  # a broken template must not stop the process: deploy validation reports it
        log.exception("notification template for %s failed; sending the plain text", kind)
        rendered = None
    return rendered if rendered is not None else (subject_text, body_text)


def create_notices(session: Session, clock: Clock, settings: Any, *, kind: str, subject: str | Message,
                   body: str | Message,
                   users: list[User], key: str, requires_ack: bool = False, problem_id: int | None = None,
                   measure_id: int | None = None, round_id: int | None = None) -> list[int]:
    """One notice per user, deduplicated by ``key`` (a re-run trigger never notifies twice), and a
    delivery per outside channel the user chose, its job queued in the same transaction.

    Texts come from ``notifications/<kind>.txt`` in each recipient's locale; the given subject and body
    (rendered in that locale when they are ``Message``s) are available to the template and are used as
    they are when a kind has no template."""
    ids = []
    now = clock.now()
    facts = _facts(session, problem_id, round_id)
    for user in users:
        dedupe = f"{key}:{user.id}"
        existing = session.scalar(select(Notice.id).where(Notice.dedupe_key == dedupe))
        if existing is not None:
            ids.append(existing)
            continue
        text_subject, text_body = _render_notice(settings, kind, subject, body, user, facts)
        notice = Notice(kind=kind, problem_id=problem_id, measure_id=measure_id, round_id=round_id,
                        recipient_id=user.id, subject=text_subject[:300], body=text_body, dedupe_key=dedupe,
                        requires_ack=requires_ack, created_at=now)
        session.add(notice)
        session.flush()
        ids.append(notice.id)
        prefs = preferences(user)
        # Digest users get one mail a day (notify.digest) instead of one per notice.
        if user.email and prefs["email"] and not prefs["digest"] and settings.smtp_url:
            _queue_delivery(session, clock, notice, DeliveryChannel.EMAIL, user.email)
        for hook in prefs["webhooks"]:
            # A generic hook is the plain webhook channel; a robot's format is a channel of its own.
            channel = DeliveryChannel.WEBHOOK if hook["format"] == "generic" else DeliveryChannel(hook["format"])
            _queue_delivery(session, clock, notice, channel, hook["url"])
    return ids


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
        raise NotFound(N_("Notice not found."))  # another user's notice does not exist for this one
    return n


def mark_read(session: Session, clock: Clock, user_id: int, notice_id: int) -> Notice:
    n = _mine(session, user_id, notice_id)
    if n.read_at is None:
        n.read_at = clock.now()
    return n


def acknowledge(session: Session, clock: Clock, user_id: int, notice_id: int, actor: str) -> Notice:
    """签收: only for notices that require it; once; audited."""
    n = _mine(session, user_id, notice_id)
    if not n.requires_ack:
        raise Conflict(N_("This notice does not need acknowledgement."))
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
    for user in digest_users(session):
        if not unread_count(session, user.id):
            continue
        if jobs.enqueue(session, clock, "notify.digest", {"user_id": user.id, "date": today},
                        key=f"digest:{user.id}:{today}", max_attempts=8) is not None:
            queued += 1
    return queued


def digest_notices(session: Session, user_id: int, day: str, limit: int = 100) -> list[Notice]:
    """The unread notices a digest for ``day`` summarises: created before the end of that day."""
    end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ)
    return list(session.scalars(select(Notice).where(Notice.recipient_id == user_id, Notice.read_at.is_(None),
                                                     Notice.created_at < end)
                                .order_by(Notice.created_at, Notice.id).limit(limit)))


@dataclass(frozen=True)
class Digest:
    """One digest mail, ready for the mail channel. ``key`` is the same for every attempt, so the
    Message-ID derived from it makes a resend after a crash recognisable."""

    recipient: str
    address: str
    subject: str
    body: str
    key: str
    notice_ids: list[int]
    locale: str = "zh_CN"


def digest_for(session: Session, settings: Any, user_id: int, day: str) -> Digest | None:
    """The digest of ``user_id``'s unread notices for ``day``; None when there is no one to mail (an
    unknown user, no address, mail not configured). ``notice_ids`` is empty when nothing is unread."""
    user = session.get(User, user_id)
    if user is None or not user.email or not settings.smtp_url:
        return None
    key = f"digest:{user.id}:{day}"
    locale = normalise(user.locale)
    rows = digest_notices(session, user.id, day)
    if not rows:
        return Digest(user.display_name, user.email, "", "", key, [], locale)
    context = {"recipient": user.display_name or user.username, "date": day, "count": len(rows),
               "link": notices_link(settings), "system_name": system_name(locale),
               "notices": [{"subject": n.subject, "kind": n.kind, "kind_label": kind_label(n.kind, locale),
                            "created_at": n.created_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")}
                           for n in rows]}
    rendered = render("digest", context, template_dir(settings), locale)
    subject, body = rendered or (translate(locale, N_("%(count)s unread notices on %(date)s"), count=len(rows),
                                           date=day), "\n".join(n.subject for n in rows))
    return Digest(user.display_name, user.email, subject, body, key, [n.id for n in rows], locale)


# ------------------------------------------------------------------------------------ deliveries

def _queue_delivery(session: Session, clock: Clock, notice: Notice, channel: str, target: str) -> None:
    key = f"notice:{notice.id}:{channel}:{target}"[:200]
    delivery = Delivery(notice_id=notice.id, channel=channel, target=target, idempotency_key=key)
    session.add(delivery)
    session.flush()
    jobs.enqueue(session, clock, "notify.deliver", {"delivery_id": delivery.id}, key=f"delivery:{delivery.id}",
                 max_attempts=8)


def delivery_to_send(session: Session, delivery_id: int) -> tuple[Delivery, Notice, User | None] | None:
    """The delivery (locked), its notice and recipient; None when it is gone or already sent (a job
    re-run after a crash that followed the send)."""
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status == DeliveryStatus.SENT:
        return None
    notice = session.get(Notice, delivery.notice_id)
    assert notice is not None  # deliveries reference their notice
    return delivery, notice, session.get(User, notice.recipient_id)


def webhook_secret(user: User | None, url: str) -> str | None:
    """The signing secret the user gave for the webhook at ``url`` (DingTalk robots), if any."""
    for hook in preferences(user)["webhooks"] if user is not None else []:
        if hook["url"] == url and hook.get("secret"):
            return str(hook["secret"])
    return None


def mark_sent(clock: Clock, delivery: Delivery) -> None:
    delivery.attempts += 1
    delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, clock.now(), ""


def delivery_failed(session: Session, job: Job, error: str, final: bool) -> None:
    """The job runner's failure hook for ``notify.deliver`` (composed in ``workers.registry``): keep
    the delivery's attempts and last error current and mark it dead when its job gives up. Runs in
    the transaction that records the failed attempt (the operation's own has rolled back). Nothing
    waits for a delivery, so a dead one never blocks a process instance."""
    delivery_id = (job.payload.get("params") or {}).get("delivery_id")
    delivery = session.get(Delivery, delivery_id, with_for_update=True) if delivery_id else None
    if delivery is None or delivery.status == DeliveryStatus.SENT:
        return
    delivery.attempts += 1
    delivery.last_error = error[:4000]
    if final:
        delivery.status = DeliveryStatus.DEAD
        log.warning("delivery %s (%s to %s) is dead: %s", delivery.id, delivery.channel, delivery.target, error)


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
    rows = session.execute(q.order_by(Delivery.status != DeliveryStatus.DEAD, Delivery.id.desc()).limit(limit)).all()
    return [DeliveryRow(d.id, d.notice_id, d.channel, d.target, d.status, d.attempts, d.last_error, d.sent_at,
                        subject, username) for d, subject, username in rows]


def delivery_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)).all())


def retry_delivery(session: Session, clock: Clock, delivery_id: int, actor: str) -> None:
    """Re-queue a dead delivery (after fixing the address, the relay or the webhook)."""
    d = session.get(Delivery, delivery_id, with_for_update=True)
    if d is None:
        raise NotFound(N_("Delivery %(id)s not found."), id=delivery_id)
    if d.status != DeliveryStatus.DEAD:
        raise Conflict(N_("Delivery %(id)s is %(delivery_status)s, not dead."), id=delivery_id,
                       delivery_status=d.status)
    now = clock.now()
    d.status, d.last_error = DeliveryStatus.PENDING, ""
    job = session.scalar(select(Job).where(Job.dedupe_key == f"delivery:{d.id}").with_for_update())
    if job is None:
        jobs.enqueue(session, clock, "notify.deliver", {"delivery_id": d.id}, key=f"delivery:{d.id}", max_attempts=8)
    else:
        jobs.requeue(session, clock, job)
        session.execute(update(Incident).where(Incident.job_id == job.id, Incident.status == IncidentStatus.OPEN)
                        .values(status=IncidentStatus.RESOLVED, resolved_at=now, resolved_by=actor))
    audit.record(session, at=now, actor=actor, action="delivery.retried", object_type="delivery",
                 object_id=str(d.id), payload={"channel": d.channel})
