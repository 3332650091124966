"""My notices (预警、督办、提醒), paged: unread first, then the newest."""

from __future__ import annotations

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from rectiflow.db.domain import Notice
from rectiflow.read import paging
from rectiflow.read.paging import Page, PageRequest
from rectiflow.services.accounts.actors import Actor

ORDER = (Notice.read_at.is_not(None), Notice.created_at.desc(), Notice.id.desc())


def notices_page(session: Session, actor: Actor, req: PageRequest) -> Page[Notice]:
    mine = Notice.recipient_id == actor.user_id if actor.user_id is not None else false()
    return paging.fetch(session, select(Notice).where(mine), ORDER, req)
