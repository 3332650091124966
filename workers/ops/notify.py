"""Notifications: an in-app notice per recipient (inline, in the trigger's transaction) plus one
delivery job per outside channel, run after commit with the notice's idempotency key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rectiflow.db.domain import Delivery, Notice
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.services.operations import Operation, OperationContext, OperationRegistry, Param


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


def create_notices(ctx: OperationContext, *, kind: str, subject: str, body: str, users: list[User],
                   key: str, requires_ack: bool = False, problem_id: int | None = None,
                   measure_id: int | None = None, round_id: int | None = None) -> list[int]:
    """One notice per user, deduplicated by ``key`` (a re-run trigger never notifies twice)."""
    ids = []
    now = ctx.clock.now()
    for user in users:
        dedupe = f"{key}:{user.id}"
        existing = ctx.session.scalar(select(Notice.id).where(Notice.dedupe_key == dedupe))
        if existing is not None:
            ids.append(existing)
            continue
        notice = Notice(kind=kind, problem_id=problem_id, measure_id=measure_id, round_id=round_id,
                        recipient_id=user.id, subject=subject, body=body, dedupe_key=dedupe,
                        requires_ack=requires_ack, created_at=now)
        ctx.session.add(notice)
        ctx.session.flush()
        ids.append(notice.id)
        prefs = user.preferences or {}
        if user.email and prefs.get("email", True) and ctx.settings.smtp_url:
            _queue_delivery(ctx, notice, "email", user.email)
        for hook in prefs.get("webhooks", []):
            _queue_delivery(ctx, notice, "webhook", str(hook))
    return ids


def _queue_delivery(ctx: OperationContext, notice: Notice, channel: str, target: str) -> None:
    from rectiflow.db.jobs import Job

    key = f"notice:{notice.id}:{channel}:{target}"
    delivery = Delivery(notice_id=notice.id, channel=channel, target=target, idempotency_key=key)
    ctx.session.add(delivery)
    ctx.session.flush()
    now = ctx.clock.now()
    ctx.session.add(Job(kind="notify.deliver", payload={"params": {"delivery_id": delivery.id}}, status="queued",
                        run_after=now, max_attempts=8, dedupe_key=f"delivery:{delivery.id}", created_at=now))


def op_notify_roles(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    users = recipients_for_roles(ctx, list(params["roles"]), params.get("unit_id"))
    key = params.get("key") or f"i{ctx.instance_id}:t{ctx.task_id}:{params['kind']}"
    ids = create_notices(ctx, kind=params["kind"], subject=params["subject"], body=params.get("body", ""),
                         users=users, key=key, requires_ack=bool(params.get("requires_ack", False)),
                         problem_id=params.get("problem_id"), round_id=params.get("round_id"))
    return {"notices": len(ids), "recipients": [u.username for u in users]}


def op_deliver(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: send one delivery. Already sent (a crash after sending) → nothing is sent again."""
    from workers.channels import mail, webhook

    delivery = ctx.session.get(Delivery, params["delivery_id"], with_for_update=True)
    if delivery is None or delivery.status == "sent":
        return {"status": "already sent"}
    notice = ctx.session.get(Notice, delivery.notice_id)
    assert notice is not None
    delivery.attempts += 1
    if delivery.channel == "email":
        user = ctx.session.get(User, notice.recipient_id)
        settings = mail.parse_smtp_url(ctx.settings.smtp_url)
        message = mail.build_message(
            sender=ctx.settings.mail_from, sender_name="巡察整改系统",
            to=[(user.display_name if user else "", delivery.target)], subject=notice.subject, text=notice.body,
            html=None, message_id=mail.stable_message_id(delivery.idempotency_key))
        mail.send_mail(settings, message)
    else:
        payload = webhook.format_generic(notice.subject, notice.body, None, {"kind": notice.kind})
        webhook.post_json(delivery.target, payload, idempotency_key=delivery.idempotency_key)
    delivery.status, delivery.sent_at = "sent", ctx.clock.now()
    return {"status": "sent"}


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
