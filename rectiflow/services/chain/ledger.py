"""A problem's acceptance trail (the five-step sign-off, every attempt). The ledger itself (整改台账:
filtered, paged, exported) is a read model: ``rectiflow.read.ledger``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectiflow.db.domain import AcceptanceStep
from rectiflow.domain.vocab import AcceptanceStep as Step


def acceptance_history(session: Session, problem_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AcceptanceStep).where(AcceptanceStep.problem_id == problem_id).order_by(AcceptanceStep.id)
    )
    return [
        {
            "attempt": s.attempt,
            "step": s.step,
            "step_label": Step.label_of(s.step, "zh_CN"),
            "decision": s.decision,
            "opinion": s.opinion,
            "attachments": list(s.attachments or []),
            "by_user": s.by_user,
            "at": s.at.isoformat(),
        }
        for s in rows
    ]
