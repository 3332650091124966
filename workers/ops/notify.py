"""Notification operations: adapters from a service task (or a queued job) to the notification
service (``rectiflow.services.notifications``), which decides who is notified, writes the notices
and queues one delivery job per outside channel, and to the channels (``workers.channels``),
which put a delivery on the wire.

Delivery is at-least-once (see docs/notifications.md): a crash between sending and recording can
send again, with the same Message-ID / Idempotency-Key, so receivers can drop the repeat.
"""

from __future__ import annotations

from typing import Any

from rectiflow.domain.vocab import DeliveryChannel, DeliveryStatus
from rectiflow.netpolicy import TargetPolicy
from rectiflow.services import notifications as notes
from rectiflow.services.workflow.operations import Operation, OperationContext, OperationRegistry, Param
from workers.channels import ChannelConfigError, DeliveryError, mail, webhook


def op_notify_roles(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    users = notes.recipients_for_roles(ctx.session, list(params["roles"]), params.get("unit_id"))
    key = params.get("key") or f"i{ctx.instance_id}:t{ctx.task_id}:{params['kind']}"
    ids = notes.create_notices(ctx.session, ctx.clock, ctx.settings, kind=params["kind"], subject=params["subject"],
                               body=params.get("body", ""), users=users, key=key,
                               requires_ack=bool(params.get("requires_ack", False)),
                               problem_id=params.get("problem_id"), round_id=params.get("round_id"))
    return {"notices": len(ids), "recipients": [u.username for u in users]}


def op_deliver(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: send one delivery. Already sent (a crash after recording) → nothing is sent again.

    A failure raises: the job runner retries with exponential backoff and, when the attempts run out
    (or the failure is permanent: a 5xx SMTP reply, an HTTP 4xx, a bad address), the failure hook
    (``notifications.delivery_failed``) marks the delivery ``dead``."""
    found = notes.delivery_to_send(ctx.session, params["delivery_id"])
    if found is None:
        return {"status": "already sent"}
    delivery, notice, user = found
    link = notes.notices_link(ctx.settings)
    try:
        if delivery.channel == DeliveryChannel.EMAIL:
            if not ctx.settings.smtp_url:
                raise DeliveryError("RECTIFLOW_SMTP_URL is not set", retryable=False)
            message = mail.build_message(
                sender=ctx.settings.mail_from, sender_name=notes.system_name(user.locale if user else None),
                to=[(user.display_name if user else "", delivery.target)], subject=notice.subject,
                text=notice.body, html=None, message_id=mail.stable_message_id(delivery.idempotency_key),
                headers={"X-Rectiflow-Notice": f"{notice.kind}:{notice.id}"})
            mail.send_mail(mail.parse_smtp_url(ctx.settings.smtp_url), message)
        else:
            url = delivery.target
            if delivery.channel == DeliveryChannel.WECOM:
                payload = webhook.format_wecom(notice.subject, notice.body, link,
                                               link_text=notes.link_text(user.locale if user else None))
            elif delivery.channel == DeliveryChannel.DINGTALK:
                payload = webhook.format_dingtalk(notice.subject, notice.body, link,
                                                  link_text=notes.link_text(user.locale if user else None))
                secret = notes.webhook_secret(user, url)
                if secret:
                    url = webhook.sign_dingtalk_url_now(url, secret)
            else:
                payload = webhook.format_generic(notice.subject, notice.body, link,
                                                 {"kind": notice.kind, "notice_id": notice.id,
                                                  "problem_id": notice.problem_id})
            webhook.post_json(url, payload, idempotency_key=delivery.idempotency_key,
                              policy=TargetPolicy.from_settings(ctx.settings))  # the administrator's allowlist
    except ChannelConfigError as exc:  # retrying cannot fix a bad address or URL
        raise DeliveryError(f"configuration: {exc}", retryable=False) from exc
    notes.mark_sent(ctx.clock, delivery)
    return {"status": DeliveryStatus.SENT}


def op_digest(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: one mail summarising a digest user's unread notices for the day. The job's key
    (``digest:<user>:<date>``) makes it one job however many workers schedule it."""
    digest = notes.digest_for(ctx.session, ctx.settings, params["user_id"], str(params["date"]))
    if digest is None:
        return {"status": "skipped"}
    if not digest.notice_ids:
        return {"status": "nothing unread", "notices": 0}
    try:
        message = mail.build_message(
            sender=ctx.settings.mail_from, sender_name=notes.system_name(digest.locale),
            to=[(digest.recipient, digest.address)],
            subject=digest.subject, text=digest.body, html=None, message_id=mail.stable_message_id(digest.key),
            headers={"X-Rectiflow-Notice": f"digest:{params['date']}"})
        mail.send_mail(mail.parse_smtp_url(ctx.settings.smtp_url), message)
    except ChannelConfigError as exc:
        raise DeliveryError(f"configuration: {exc}", retryable=False) from exc
    return {"status": DeliveryStatus.SENT, "notices": digest.notice_ids}


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
