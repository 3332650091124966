"""Operations for listed supervision (挂牌督办) and accountability (问责), plus the hooks the
warning, acceptance and closing operations call. All inline."""

from __future__ import annotations

from typing import Any

from rectiflow.db.domain import Problem
from rectiflow.domain.vocab import NoticeKind, Role
from rectiflow.services import notifications as notes
from rectiflow.services.chain import accountability as acc
from rectiflow.services.chain import supervision as sup
from rectiflow.services.workflow.operations import Operation, OperationContext, OperationRegistry, Param

RETURNS_FOR_SUPERVISION = 2


def _who(ctx: OperationContext) -> str:
    return str(ctx.data.get("completed_by_name") or ctx.actor)


# ---------------------------------------------------------------------------- hooks


def after_red(ctx: OperationContext, prob: Problem) -> dict[str, Any]:
    """A problem went red: propose supervision, and accountability once the unit is red twice."""
    if ctx.runtime is None:
        return {}
    proposal = sup.propose(ctx.session, ctx.runtime, prob.id, f"问题 {prob.number} 超期未完成（红色预警）")
    case = acc.maybe_start_for_red(ctx.session, ctx.runtime, prob.id)
    return {"supervision_proposed": proposal.id if proposal else None,
            "accountability_started": case.id if case else None}


def after_return(ctx: OperationContext, problem_id: int) -> int | None:
    prob = ctx.session.get(Problem, int(problem_id))
    if ctx.runtime is None or prob is None or prob.returned_count < RETURNS_FOR_SUPERVISION:
        return None
    proposal = sup.propose(ctx.session, ctx.runtime, prob.id,
                           f"问题 {prob.number} 验收中 {prob.returned_count} 次被退回")
    return proposal.id if proposal else None


def after_close(ctx: OperationContext, problem_id: int) -> list[int]:
    if ctx.runtime is None:
        return []
    return sup.remove_for_closed_problem(ctx.session, ctx.runtime, problem_id, ctx.actor)


# ---------------------------------------------------------------------------- supervision


def op_confirm_supervision(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return sup.confirm(ctx.session, ctx.clock, p["supervision_id"], p["decision"], leader=p.get("leader"),
                       hard_deadline=p.get("hard_deadline"), removal_condition=p.get("removal_condition") or "",
                       reason=p.get("reason") or "", actor=_who(ctx))


def op_notify_supervision(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    """督办通知 to the unit's principal leader and the responsible department (签收 required)."""
    text = sup.notice_text(ctx.session, p["supervision_id"])
    prob, row = text["problem"], text["supervision"]
    users = notes.recipients_for_roles(ctx.session, [Role.PRINCIPAL_LEADER, Role.RESPONSIBLE_DEPARTMENT],
                                 prob.department_id or prob.unit_id)
    ids = notes.create_notices(ctx.session, ctx.clock, ctx.settings, kind=NoticeKind.SUPERVISION,
                               subject=text["subject"], body=text["body"], users=users, key=f"supervision:{row.id}",
                               requires_ack=True, problem_id=prob.id, round_id=prob.round_id)
    return {"notices": len(ids), "recipients": [u.username for u in users], "status": row.status}


def op_acknowledge_supervision(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    by = ctx.data.get("completed_by")
    return sup.acknowledge(ctx.session, ctx.clock, p["supervision_id"], by if isinstance(by, int) else None,
                           actor=_who(ctx))


# ---------------------------------------------------------------------------- accountability


def op_record_talk(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return acc.record_talk(ctx.session, ctx.clock, p["accountability_id"], p["talk_date"], p["participants"],
                           p["record"])


def op_record_explanation(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return acc.record_explanation(ctx.session, p["accountability_id"], p["explanation"])


def op_record_outcome(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return acc.record_outcome(ctx.session, ctx.clock, p["accountability_id"], p["outcome"], p.get("note") or "",
                              actor=_who(ctx))


def register(registry: OperationRegistry) -> None:
    reg = registry.register
    reg(Operation("chain.confirm_supervision", op_confirm_supervision, "inline",
                  (Param("supervision_id", "int"), Param("decision", "str"), Param("leader", "str", required=False),
                   Param("hard_deadline", "date", required=False), Param("removal_condition", "str", required=False),
                   Param("reason", "str", required=False)),
                  "巡察办确认或不予挂牌督办（系统提议的督办）"))
    reg(Operation("chain.notify_supervision", op_notify_supervision, "inline", (Param("supervision_id", "int"),),
                  "向主要负责人和整改责任部门发出督办通知（需签收）"))
    reg(Operation("chain.acknowledge_supervision", op_acknowledge_supervision, "inline",
                  (Param("supervision_id", "int"),), "登记督办通知签收"))
    reg(Operation("chain.record_accountability_talk", op_record_talk, "inline",
                  (Param("accountability_id", "int"), Param("talk_date", "date"), Param("participants", "str"),
                   Param("record", "str")), "登记约谈记录"))
    reg(Operation("chain.record_accountability_explanation", op_record_explanation, "inline",
                  (Param("accountability_id", "int"), Param("explanation", "str")), "登记书面说明"))
    reg(Operation("chain.record_accountability_outcome", op_record_outcome, "inline",
                  (Param("accountability_id", "int"), Param("outcome", "str"), Param("note", "str", required=False)),
                  "登记问责结果（约谈、书面说明、通报），纳入年度考核"))
