"""The edge of the read models' paging: the page request from the query string, and the query
arguments of the pager's links (the filters, plus ``per_page`` when it is not the default)."""

from __future__ import annotations

from typing import Any

from flask import request

from rectiflow.read.paging import DEFAULT_PER_PAGE, Page, PageRequest


def page_request() -> PageRequest:
    """``page`` and ``per_page`` of this request; a bad value is an ``InvalidInput`` (422) naming it."""
    return PageRequest.from_args(request.args)


def link_args(filter_args: dict[str, str], page: Page[Any]) -> dict[str, str]:
    """What every pager link carries besides ``page``: the filters, and a chosen page size."""
    args = dict(filter_args)
    if page.per_page != DEFAULT_PER_PAGE:
        args["per_page"] = str(page.per_page)
    return args
