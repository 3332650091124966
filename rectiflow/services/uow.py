"""After-commit hooks: things that must happen only once the transaction is durable (caching the
workflow object we just wrote, waking the job runner). Rolled-back work runs none of them."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "rectiflow_after_commit"


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    session.info.setdefault(_KEY, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_hooks(session: Session) -> None:
    hooks = session.info.pop(_KEY, [])
    for fn in hooks:
        fn()


@event.listens_for(Session, "after_rollback")
def _drop_hooks(session: Session) -> None:
    session.info.pop(_KEY, None)
