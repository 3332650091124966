"""After-commit hooks: things that must happen only once the transaction is durable (caching the
workflow object we just wrote, waking the job runner). Rolled-back work runs none of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A nested transaction whose after-commit hooks vanish with it when it rolls back.

    Several triggers share one commit (timers firing in a batch); one that fails must leave no row
    and no hook behind: a hook caching the workflow of a rolled-back write would later hand out a
    state that was never stored."""
    mark = len(session.info.setdefault(_KEY, []))
    try:
        with session.begin_nested():  # rolls the savepoint back on any exception, a failed flush included
            yield
    except BaseException:
        del session.info.setdefault(_KEY, [])[mark:]
        # Triggers write with plain statements and tell loaded ORM objects what they wrote
        # (``triggers._written``); the ORM cannot know to undo that, so reload everything.
        session.expire_all()
        raise
