"""After-commit hooks: things that must happen only once the transaction is durable (caching the
workflow object we just wrote, waking the job runner). Rolled-back work runs none of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

_KEY = "rectiflow_after_commit"
_WAKE = "rectiflow_wake_runner"


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    session.info.setdefault(_KEY, []).append(fn)


def wake_runner_on_commit(factory: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Composition: every session ``factory`` makes from now on calls ``wake`` after a commit that
    queued a job. It travels in the sessions' ``info`` so the queue needs nothing but the caller's
    session (and a process without an in-process runner simply configures nothing)."""
    info = dict(factory.kw.get("info") or {})
    info[_WAKE] = wake
    factory.configure(info=info)


def jobs_queued(session: Session) -> None:
    """The caller's transaction queued a job: wake the runner once it commits (once per transaction)."""
    wake = session.info.get(_WAKE)
    if wake is not None and wake not in session.info.get(_KEY, []):
        after_commit(session, wake)


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
