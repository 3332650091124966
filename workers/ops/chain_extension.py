"""Operations for extension / long-term requests, long-term reviews and coordination meetings.

All inline (our own rows, in the trigger's transaction); the ones that start the next short
instance use ``ctx.runtime``.
"""

from __future__ import annotations

from typing import Any

from rectiflow.services.chain import extension as ext
from rectiflow.services.chain import meetings
from rectiflow.services.workflow.operations import Operation, OperationContext, OperationRegistry, Param
from workers.ops.context import completed_by, runtime_of


def _who(ctx: OperationContext) -> str:
    return str(ctx.data.get("completed_by_name") or ctx.actor)


def op_request_extension(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return ext.request_extension(ctx.session, ctx.clock, p["problem_id"], p["kind"], p.get("reason") or "",
                                 p.get("new_deadline"), p.get("review_cycle_months"), actor=_who(ctx))


def op_decide_extension(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return ext.decide_extension(ctx.session, ctx.clock, p["request_id"], p["level"], p["decision"],
                                p.get("reason") or "", p.get("review_cycle_months"), actor=_who(ctx))


def op_start_long_term_review(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    start = p.get("start") or ctx.clock.today().isoformat()
    iid = ext.start_review(ctx.session, runtime_of(ctx), p["problem_id"], int(p.get("review_no") or 1), start,
                           p.get("review_cycle_months"), actor=ctx.actor, parent_id=ctx.instance_id)
    return {"instance_id": iid, "start": start}


def op_long_term_open(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"open": ext.review_open(ctx.session, p["problem_id"])}


def op_record_long_term_review(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    fulfilled = bool(p.get("fulfilled"))
    prob = ext.record_review(ctx.session, ctx.clock, p["problem_id"], int(p["progress"]), p.get("narrative") or "",
                             fulfilled, p.get("evidence") or [], completed_by(ctx))
    nxt = None
    if not fulfilled:
        nxt = ext.start_review(ctx.session, runtime_of(ctx), prob.id, int(p["review_no"]) + 1, p["review_start"],
                               p["review_cycle_months"], actor=ctx.actor, parent_id=ctx.instance_id)
    return {"status": prob.status, "fulfilled": fulfilled, "next_instance": nxt}


def op_start_meetings(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return meetings.first_meeting(ctx.session, runtime_of(ctx), p["round_id"], p.get("cadence_days"))


def op_meeting_open(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"open": meetings.round_open(ctx.session, p["round_id"])}


def op_record_meeting(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return meetings.record_meeting(ctx.session, runtime_of(ctx), p["round_id"], p["held_on"], p.get("minutes") or "",
                                   p.get("decisions") or "", int(p["meeting_no"]), p["meeting_date"],
                                   p.get("cadence_days"))


def register(registry: OperationRegistry) -> None:
    reg = registry.register
    reg(Operation("chain.request_extension", op_request_extension, "inline",
                  (Param("problem_id", "int"), Param("kind", "str"), Param("reason", "str"),
                   Param("new_deadline", "date", required=False), Param("review_cycle_months", "int", required=False)),
                  "登记延期或长期坚持申请（问题状态：延期审批中）"))
    reg(Operation("chain.decide_extension", op_decide_extension, "inline",
                  (Param("request_id", "int"), Param("level", "str"), Param("decision", "str"),
                   Param("reason", "str", required=False), Param("review_cycle_months", "int", required=False)),
                  "延期/长期坚持申请的一级审批（整改办公室、巡察办）；终审通过后更新整改时限或转为长期坚持"))
    reg(Operation("chain.start_long_term_review", op_start_long_term_review, "inline",
                  (Param("problem_id", "int"), Param("review_no", "int", required=False),
                   Param("start", "date", required=False), Param("review_cycle_months", "int", required=False)),
                  "启动长期坚持事项的定期检查（每次检查一个短流程）"))
    reg(Operation("chain.long_term_open", op_long_term_open, "inline", (Param("problem_id", "int"),),
                  "长期坚持事项是否仍在持续整改"))
    reg(Operation("chain.record_long_term_review", op_record_long_term_review, "inline",
                  (Param("problem_id", "int"), Param("progress", "int"), Param("narrative", "str"),
                   Param("fulfilled", "bool"), Param("review_no", "int"), Param("review_start", "date"),
                   Param("review_cycle_months", "int"), Param("evidence", "list", required=False)),
                  "登记长期坚持定期检查情况，未完成则安排下一次检查"))
    reg(Operation("chain.start_meetings", op_start_meetings, "inline",
                  (Param("round_id", "int"), Param("cadence_days", "int", required=False)),
                  "安排第一次整改工作沟通协调会"))
    reg(Operation("chain.meeting_open", op_meeting_open, "inline", (Param("round_id", "int"),),
                  "巡察轮次是否仍在整改（决定是否召开沟通协调会）"))
    reg(Operation("chain.record_meeting", op_record_meeting, "inline",
                  (Param("round_id", "int"), Param("held_on", "date"), Param("minutes", "str"),
                   Param("decisions", "str", required=False), Param("meeting_no", "int"),
                   Param("meeting_date", "date"), Param("cadence_days", "int", required=False)),
                  "登记沟通协调会纪要和议定事项，并安排下一次会议"))
