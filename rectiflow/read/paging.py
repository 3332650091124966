"""A page of a list: its rows, the true total, and where it sits. One request shape for every list."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from rectiflow.read.params import int_param

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_PER_PAGE = 50  # a page people can scan; the filters and the order bring the urgent rows first
MAX_PER_PAGE = 500  # large enough for a reporting client, small enough to bound one response
# Beyond this the offset (page × per_page) would leave a 64-bit integer on PostgreSQL: no list is
# ever that long, so a larger page number is refused rather than sent to the database.
MAX_PAGE = 10**9


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        int_param("page", self.page, 1, MAX_PAGE)
        int_param("per_page", self.per_page, 1, MAX_PER_PAGE)

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> PageRequest:
        """``page`` and ``per_page`` from query arguments; absent or empty means the default."""
        page = int_param("page", args.get("page"), 1, MAX_PAGE)
        per_page = int_param("per_page", args.get("per_page"), 1, MAX_PER_PAGE)
        return cls(page or 1, per_page or DEFAULT_PER_PAGE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int  # every row matching the filter, not only this page's
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if 1 < self.page <= self.pages + 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        return Page([fn(r) for r in self.rows], self.total, self.page, self.per_page)

    def metadata(self) -> dict[str, int]:
        """The pagination metadata of the API's ``X-Pagination`` header (flask-smorest's field names)."""
        meta = {"total": self.total, "total_pages": self.pages, "first_page": 1, "last_page": self.pages,
                "page": self.page, "per_page": self.per_page}
        if self.previous_page is not None:
            meta["previous_page"] = self.previous_page
        if self.next_page is not None:
            meta["next_page"] = self.next_page
        return meta


def count(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def fetch(session: Session, query: Select[*tuple[Any, ...]], order_by: Sequence[Any], req: PageRequest, *,
          scalars: bool = True) -> Page[Any]:
    """Count ``query``, then read one page of it in ``order_by`` (which must end with a unique column,
    so that no row appears on two pages or on none). A page past the end is empty, with the true total."""
    total = count(session, query)
    rows: list[Any] = []
    if req.offset < total:
        ordered = query.order_by(None).order_by(*order_by).offset(req.offset).limit(req.per_page)
        rows = list(session.scalars(ordered)) if scalars else list(session.execute(ordered))
    return Page(rows, total, req.page, req.per_page)

