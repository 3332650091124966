"""Notifications: an in-app notice per recipient (inline, in the trigger's transaction) plus one
delivery job per outside channel, run after commit with the notice's idempotency key.

Texts come from the templates in ``notifications/<kind>.txt`` (see
``rectiflow.services.notifications``); the subject and body a diagram passes are available to the
template as ``subject`` and ``body`` and are used as they are when a kind has no template.

Delivery is at-least-once (see docs/notifications.md): a crash between sending and recording can
send again, with the same Message-ID / Idempotency-Key, so receivers can drop the repeat.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Delivery, Notice, Problem, Round
from rectiflow.db.jobs import Job
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.services import jobs as jobs_service
from rectiflow.services import notifications as notes
from rectiflow.services.workflow.operations import Operation, OperationContext, OperationRegistry, Param

log = logging.getLogger(__name__)
SENDER_NAME = "巡察整改系统"


def recipients_for_roles(ctx: OperationContext, roles: list[str], unit_id: int | None) -> list[User]:
    """Holders of any of ``roles`` on the unit or on a unit above it (a plant's leader, the group's office)."""
    if unit_id is None:
        return []
    unit = ctx.session.get(Unit, unit_id)
    if unit is None:
        return []
    ancestor_ids = [int(x) for x in unit.path.strip("/").split("/") if x]
    # DISTINCT over ids only: PostgreSQL cannot compare the JSON preferences column.
    ids = select(RoleAssignment.user_id).where(RoleAssignment.role.in_(roles),
                                               RoleAssignment.unit_id.in_(ancestor_ids))
    return list(ctx.session.scalars(select(User).where(User.id.in_(ids), User.is_active).order_by(User.id)))


def _facts(ctx: OperationContext, problem_id: int | None, round_id: int | None) -> dict[str, str]:
    facts = {"problem_number": "", "deadline": "", "round_title": ""}
    if problem_id is not None:
        prob = ctx.session.get(Problem, problem_id)
        if prob is not None:
            facts["problem_number"] = prob.number
            facts["deadline"] = prob.deadline.isoformat() if prob.deadline else ""
            round_id = round_id or prob.round_id
    if round_id is not None:
        rnd = ctx.session.get(Round, round_id)
        if rnd is not None:
            facts["round_title"] = rnd.title
    return facts


def _render(ctx: OperationContext, kind: str, subject: str, body: str, user: User,
            facts: dict[str, str]) -> tuple[str, str]:
    context = notes.notice_context(recipient=user.display_name or user.username, subject=subject, body=body,
                                   kind=kind, link=f"{ctx.settings.base_url.rstrip('/')}/notices/", **facts)
    try:
        rendered = notes.render(kind, context, notes.template_dir(ctx.settings))
    except Exception:  # a broken template must not stop the process: deploy validation reports it
        log.exception("notification template for %s failed; sending the plain text", kind)
        rendered = None
    return rendered if rendered is not None else (subject, body)


def create_notices(ctx: OperationContext, *, kind: str, subject: str, body: str, users: list[User],
                   key: str, requires_ack: bool = False, problem_id: int | None = None,
                   measure_id: int | None = None, round_id: int | None = None) -> list[int]:
    """One notice per user, deduplicated by ``key`` (a re-run trigger never notifies twice)."""
    ids = []
    now = ctx.clock.now()
    facts = _facts(ctx, problem_id, round_id)
    for user in users:
        dedupe = f"{key}:{user.id}"
        existing = ctx.session.scalar(select(Notice.id).where(Notice.dedupe_key == dedupe))
        if existing is not None:
            ids.append(existing)
            continue
        text_subject, text_body = _render(ctx, kind, subject, body, user, facts)
        notice = Notice(kind=kind, problem_id=problem_id, measure_id=measure_id, round_id=round_id,
                        recipient_id=user.id, subject=text_subject[:300], body=text_body, dedupe_key=dedupe,
                        requires_ack=requires_ack, created_at=now)
        ctx.session.add(notice)
        ctx.session.flush()
        ids.append(notice.id)
        prefs = notes.preferences(user)
        # Digest users get one mail a day (notify.digest) instead of one per notice.
        if user.email and prefs["email"] and not prefs["digest"] and ctx.settings.smtp_url:
            _queue_delivery(ctx, notice, "email", user.email)
        for hook in prefs["webhooks"]:
            channel = "webhook" if hook["format"] == "generic" else hook["format"]
            _queue_delivery(ctx, notice, channel, hook["url"])
    return ids


def _queue_delivery(ctx: OperationContext, notice: Notice, channel: str, target: str) -> None:
    key = f"notice:{notice.id}:{channel}:{target}"[:200]
    delivery = Delivery(notice_id=notice.id, channel=channel, target=target, idempotency_key=key)
    ctx.session.add(delivery)
    ctx.session.flush()
    now = ctx.clock.now()
    ctx.session.add(Job(kind="notify.deliver", payload={"params": {"delivery_id": delivery.id}}, status="queued",
                        run_after=now, max_attempts=8, dedupe_key=f"delivery:{delivery.id}", created_at=now))
    rt = ctx.runtime
    if rt is not None and rt.on_jobs_queued is not None:
        from rectiflow.services.uow import after_commit

        after_commit(ctx.session, rt.on_jobs_queued)


def op_notify_roles(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    users = recipients_for_roles(ctx, list(params["roles"]), params.get("unit_id"))
    key = params.get("key") or f"i{ctx.instance_id}:t{ctx.task_id}:{params['kind']}"
    ids = create_notices(ctx, kind=params["kind"], subject=params["subject"], body=params.get("body", ""),
                         users=users, key=key, requires_ack=bool(params.get("requires_ack", False)),
                         problem_id=params.get("problem_id"), round_id=params.get("round_id"))
    return {"notices": len(ids), "recipients": [u.username for u in users]}


def _webhook_secret(session: Session, notice: Notice, url: str) -> str | None:
    user = session.get(User, notice.recipient_id)
    if user is None:
        return None
    for hook in notes.preferences(user)["webhooks"]:
        if hook["url"] == url and hook.get("secret"):
            return hook["secret"]
    return None


def op_deliver(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: send one delivery. Already sent (a crash after recording) → nothing is sent again.

    A failure raises: the job runner retries with exponential backoff and, when the attempts run out
    (or the failure is permanent: a 5xx SMTP reply, an HTTP 4xx, a bad address), the failure hook
    below marks the delivery ``dead``. Nothing waits for a delivery, so a dead one never blocks a
    process instance."""
    from workers.channels import ChannelConfigError, DeliveryError, mail, webhook

    delivery = ctx.session.get(Delivery, params["delivery_id"], with_for_update=True)
    if delivery is None or delivery.status == "sent":
        return {"status": "already sent"}
    notice = ctx.session.get(Notice, delivery.notice_id)
    assert notice is not None
    link = f"{ctx.settings.base_url.rstrip('/')}/notices/"
    try:
        if delivery.channel == "email":
            if not ctx.settings.smtp_url:
                raise DeliveryError("RECTIFLOW_SMTP_URL is not set", retryable=False)
            user = ctx.session.get(User, notice.recipient_id)
            message = mail.build_message(
                sender=ctx.settings.mail_from, sender_name=SENDER_NAME,
                to=[(user.display_name if user else "", delivery.target)], subject=notice.subject,
                text=notice.body, html=None, message_id=mail.stable_message_id(delivery.idempotency_key),
                headers={"X-Rectiflow-Notice": f"{notice.kind}:{notice.id}"})
            mail.send_mail(mail.parse_smtp_url(ctx.settings.smtp_url), message)
        else:
            url = delivery.target
            if delivery.channel == "wecom":
                payload = webhook.format_wecom(notice.subject, notice.body, link)
            elif delivery.channel == "dingtalk":
                payload = webhook.format_dingtalk(notice.subject, notice.body, link)
                secret = _webhook_secret(ctx.session, notice, url)
                if secret:
                    url = webhook.sign_dingtalk_url_now(url, secret)
            else:
                payload = webhook.format_generic(notice.subject, notice.body, link,
                                                 {"kind": notice.kind, "notice_id": notice.id,
                                                  "problem_id": notice.problem_id})
            webhook.post_json(url, payload, idempotency_key=delivery.idempotency_key)
    except ChannelConfigError as exc:  # retrying cannot fix a bad address or URL
        raise DeliveryError(f"configuration: {exc}", retryable=False) from exc
    delivery.attempts += 1
    delivery.status, delivery.sent_at, delivery.last_error = "sent", ctx.clock.now(), ""
    return {"status": "sent"}


def _delivery_failed(session: Session, job: Job, error: str, final: bool) -> None:
    """Runs in the transaction that records the failed attempt (the operation's rolled back)."""
    delivery_id = (job.payload.get("params") or {}).get("delivery_id")
    delivery = session.get(Delivery, delivery_id, with_for_update=True) if delivery_id else None
    if delivery is None or delivery.status == "sent":
        return
    delivery.attempts += 1
    delivery.last_error = error[:4000]
    if final:
        delivery.status = "dead"
        log.warning("delivery %s (%s to %s) is dead: %s", delivery.id, delivery.channel, delivery.target, error)


def op_digest(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: one mail summarising a digest user's unread notices for the day. The job row's
    dedupe key (``digest:<user>:<date>``) makes it one job however many workers schedule it; the
    Message-ID is derived from the same key, so a resend after a crash is recognisable."""
    from workers.channels import ChannelConfigError, DeliveryError, mail

    user = ctx.session.get(User, params["user_id"])
    if user is None or not user.email or not ctx.settings.smtp_url:
        return {"status": "skipped"}
    day = str(params["date"])
    rows = notes.digest_notices(ctx.session, user.id, day)
    if not rows:
        return {"status": "nothing unread", "notices": 0}
    context = {"recipient": user.display_name or user.username, "date": day, "count": len(rows),
               "link": f"{ctx.settings.base_url.rstrip('/')}/notices/", "system_name": notes.SYSTEM_NAME,
               "notices": [{"subject": n.subject, "kind": n.kind, "kind_label": notes.KIND_LABELS.get(n.kind, n.kind),
                            "created_at": n.created_at.astimezone(notes.BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")}
                           for n in rows]}
    rendered = notes.render("digest", context, notes.template_dir(ctx.settings))
    subject, body = rendered or (f"{day} 未读通知 {len(rows)} 条", "\n".join(n.subject for n in rows))
    try:
        message = mail.build_message(
            sender=ctx.settings.mail_from, sender_name=SENDER_NAME, to=[(user.display_name, user.email)],
            subject=subject, text=body, html=None, message_id=mail.stable_message_id(f"digest:{user.id}:{day}"),
            headers={"X-Rectiflow-Notice": f"digest:{day}"})
        mail.send_mail(mail.parse_smtp_url(ctx.settings.smtp_url), message)
    except ChannelConfigError as exc:
        raise DeliveryError(f"configuration: {exc}", retryable=False) from exc
    return {"status": "sent", "notices": [n.id for n in rows]}


def register(registry: OperationRegistry) -> None:
    registry.register(Operation(
        "notify.roles", op_notify_roles, "inline",
        (Param("roles", "list"), Param("unit_id", "int"), Param("kind", "str"), Param("subject", "str"),
         Param("body", "str", required=False), Param("key", "str", required=False),
         Param("problem_id", "int", required=False), Param("round_id", "int", required=False),
         Param("requires_ack", "bool", required=False)),
        "在站内通知某单位（及其上级）中担任指定角色的人员，并按个人设置发送邮件/Webhook"))
    registry.register(Operation("notify.deliver", op_deliver, "job", (Param("delivery_id", "int"),),
                                "投递一条外部通知（邮件或 Webhook）", max_attempts=8))
    registry.register(Operation("notify.digest", op_digest, "job", (Param("user_id", "int"), Param("date", "str")),
                                "每日汇总邮件：未读通知一封信", max_attempts=8))
    jobs_service.on_failure("notify.deliver", _delivery_failed)
