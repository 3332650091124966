"""Operations of the rectification chain (rounds, problems, measures, acceptance, reports).

All inline: they change our own rows inside the trigger's transaction (see rectiflow.services.chain.rounds).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rectiflow.db.domain import Problem
from rectiflow.domain.vocab import AcceptanceDecision, NoticeKind, ReportKind, RoundStatus, WarningColour
from rectiflow.services import notifications as notes
from rectiflow.services.chain import problems as lifecycle
from rectiflow.services.chain import reports
from rectiflow.services.chain import rounds as svc
from rectiflow.services.workflow.operations import Operation, OperationContext, OperationRegistry, Param
from workers.ops import chain_escalation as escalation
from workers.ops import chain_extension as extension
from workers.ops.context import completed_by, runtime_of


def op_set_round_status(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    r = svc.set_round_status(ctx.session, ctx.clock, p["round_id"], p["status"])
    return {"status": r.status}


def op_check_plan(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    missing = svc.check_plan(
        ctx.session,
        p["round_id"],
        p.get("plan_text") or "",
        p.get("goals", ctx.data.get("goals")) or "",
        bool(p.get("responsibilities_confirmed", ctx.data.get("responsibilities_confirmed"))),
    )
    return {"missing": missing, "complete": not missing}


def op_start_problem_instances(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    """One ``problem`` instance per problem of the round (idempotent), and the report schedule."""
    from rectiflow.services.workflow import instances

    session = ctx.session
    dues = svc.schedule_reports(session, p["round_id"])
    svc.set_round_status(session, ctx.clock, p["round_id"], RoundStatus.RECTIFYING)
    rt = None
    started = []
    problems = session.scalars(
        select(Problem).where(Problem.round_id == int(p["round_id"])).order_by(Problem.sort_key)
    ).all()
    for prob in problems:
        if prob.instance_id is not None:
            continue
        rt = rt or runtime_of(ctx)
        inst = instances.start_instance(
            session,
            rt,
            "problem",
            lifecycle.problem_start_data(session, prob),
            actor=ctx.actor,
            business_key=f"problem:{prob.id}",
            title=f"问题整改 {prob.number}",
            unit_id=prob.department_id,
            parent_id=ctx.instance_id,
        )
        lifecycle.mark_problem_started(session, ctx.clock, prob, inst.id)
        started.append(inst.id)
    return {
        "instances": started,
        "report_due": dues.get(ReportKind.RECTIFICATION_REPORT),
        "phased_due": dues.get(ReportKind.PHASED_REPORT),
        "annual_due": dues.get(ReportKind.ANNUAL_REPORT),
    }


def op_warn(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    colour = p["colour"]
    prob, escalated = lifecycle.warn(ctx.session, ctx.clock, p["problem_id"], colour)
    users = notes.recipients_for_roles(ctx.session, list(svc.WARNING_ROLES[colour]), prob.department_id or prob.unit_id)
    deadline = prob.deadline.isoformat() if prob.deadline else ""
    subject, body = notes.warning_texts(colour, prob.number, deadline, prob.feedback_text[:200])
    ids = notes.create_notices(
        ctx.session,
        ctx.clock,
        ctx.settings,
        kind=NoticeKind.warning(colour),
        subject=subject,
        body=body,
        users=users,
        key=f"warn:{prob.id}:{colour}:{deadline}",
        requires_ack=colour == WarningColour.RED,
        problem_id=prob.id,
        round_id=prob.round_id,
    )
    follow = escalation.after_red(ctx, prob) if colour == WarningColour.RED and escalated else {}
    return {
        "colour": prob.colour,
        "escalated": escalated,
        "notices": len(ids),
        "recipients": [u.username for u in users],
        **follow,
    }


def op_record_progress(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    prob = lifecycle.record_progress(
        ctx.session,
        ctx.clock,
        p["problem_id"],
        int(p["progress"]),
        p.get("narrative") or "",
        p.get("measures", ctx.data.get("measures")) or [],
        p.get("evidence", ctx.data.get("evidence")) or [],
        completed_by(ctx),
    )
    return {"status": prob.status, "progress": int(p["progress"])}


def op_record_acceptance_step(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    out = lifecycle.record_acceptance_step(
        ctx.session,
        ctx.clock,
        p["problem_id"],
        p["step"],
        p["decision"],
        p.get("opinion") or "",
        p.get("attachments") or [],
        completed_by(ctx),
    )
    if p["decision"] == AcceptanceDecision.RETURN:  # sent back twice: 挂牌督办 is proposed
        out["supervision_proposed"] = escalation.after_return(ctx, p["problem_id"])
    return out


def op_close_problem(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    prob = lifecycle.close_problem(ctx.session, ctx.clock, p["problem_id"])
    removed = escalation.after_close(ctx, prob.id)  # 摘牌
    return {
        "status": prob.status,
        "closed_at": prob.closed_at.isoformat() if prob.closed_at else None,
        "supervisions_removed": removed,
    }


def op_record_report(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    # The principal leader's part of the 3-month report is its own field of the same form.
    leader = ctx.data.get("leader_report") if p["kind"] == ReportKind.RECTIFICATION_REPORT else ""
    return {
        "status": svc.record_report(
            ctx.session, ctx.clock, p["round_id"], p["kind"], p["action"], p.get("content") or "",
            leader_content=str(leader or ""),
        )
    }


def op_report_prefill(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    """The statutory report drafted from the ledger, for the ``submit_*`` task's ``prefill``."""
    previous = {"leader_report": ctx.data.get("leader_report")}  # what was submitted, if it came back
    return reports.report_prefill(ctx.session, p["round_id"], p["kind"], ctx.clock.today(), previous=previous)


def op_report_overdue(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    """The report's due date has passed and it is not in: the milestone becomes overdue and the
    principal leader, the discipline committee and the inspection office hear of it, once per
    milestone (the task stays open; a later submission still counts)."""
    kind = p["kind"]
    rnd = svc.get_round(ctx.session, p["round_id"])
    milestones = reports.mark_overdue(ctx.session, rnd.id, kind)
    if not milestones:
        return {"status": "", "notices": 0, "recipients": []}
    main = milestones[0]
    subject, body = reports.overdue_notice(ctx.session, rnd, kind, main.due_date)
    users = notes.recipients_for_roles(ctx.session, list(reports.OVERDUE_ROLES), rnd.unit_id)
    ids = notes.create_notices(
        ctx.session,
        ctx.clock,
        ctx.settings,
        kind=NoticeKind.REPORT_DUE,
        subject=subject,
        body=body,
        users=users,
        key=f"report_overdue:{main.id}",
        round_id=rnd.id,
    )
    return {"status": main.status, "notices": len(ids), "recipients": [u.username for u in users]}


def op_finish_round(ctx: OperationContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"status": svc.finish_round(ctx.session, ctx.clock, p["round_id"])}


def register(registry: OperationRegistry) -> None:
    extension.register(registry)  # the follow-up subjects register with the chain
    escalation.register(registry)
    reg = registry.register
    reg(
        Operation(
            "chain.set_round_status",
            op_set_round_status,
            "inline",
            (Param("round_id", "int"), Param("status", "str")),
            "更新巡察轮次状态",
        )
    )
    reg(
        Operation(
            "chain.check_plan",
            op_check_plan,
            "inline",
            (
                Param("round_id", "int"),
                Param("plan_text", "str"),
                Param("goals", "str", required=False),
                Param("responsibilities_confirmed", "bool", required=False),
            ),
            "检查一方案三清单是否完整，返回缺项",
        )
    )
    reg(
        Operation(
            "chain.start_problem_instances",
            op_start_problem_instances,
            "inline",
            (Param("round_id", "int"),),
            "为每个问题启动整改流程，并生成报告时间表",
        )
    )
    reg(
        Operation(
            "chain.warn",
            op_warn,
            "inline",
            (Param("problem_id", "int"), Param("colour", "str")),
            "三色预警：设置颜色、计数并通知相应人员",
        )
    )
    reg(
        Operation(
            "chain.record_progress",
            op_record_progress,
            "inline",
            (
                Param("problem_id", "int"),
                Param("progress", "int"),
                Param("narrative", "str"),
                Param("measures", "list", required=False),
                Param("evidence", "list", required=False),
            ),
            "登记整改进展（按措施）",
        )
    )
    reg(
        Operation(
            "chain.record_acceptance_step",
            op_record_acceptance_step,
            "inline",
            (
                Param("problem_id", "int"),
                Param("step", "str"),
                Param("decision", "str"),
                Param("opinion", "str", required=False),
                Param("attachments", "list", required=False),
            ),
            "记录验收销号的一个环节",
        )
    )
    reg(
        Operation(
            "chain.close_problem",
            op_close_problem,
            "inline",
            (Param("problem_id", "int"),),
            "销号：问题状态设为已销号",
        )
    )
    reg(
        Operation(
            "chain.record_report",
            op_record_report,
            "inline",
            (
                Param("round_id", "int"),
                Param("kind", "str"),
                Param("action", "str"),
                Param("content", "str", required=False),
            ),
            "登记整改报告的提交、退回、审核通过",
        )
    )
    reg(
        Operation(
            "chain.report_prefill",
            op_report_prefill,
            "inline",
            (Param("round_id", "int"), Param("kind", "str")),
            "按整改台账生成整改报告草稿（问题总数、销号率、措施完成、超期及挂牌督办、逐项情况），供报送任务预填",
        )
    )
    reg(
        Operation(
            "chain.report_overdue",
            op_report_overdue,
            "inline",
            (Param("round_id", "int"), Param("kind", "str")),
            "报告逾期未报：标记为逾期，并通知主要负责人、纪委和巡察办（每个报告只通知一次）",
        )
    )
    reg(
        Operation(
            "chain.finish_round",
            op_finish_round,
            "inline",
            (Param("round_id", "int"),),
            "报告全部完成后更新轮次状态",
        )
    )
