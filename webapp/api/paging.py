"""Paged lists in the API: the body stays a JSON array of the page's rows (existing clients keep their
shape), and the ``X-Pagination`` header carries the true total and where the page sits — flask-smorest's
header and field names, documented on every list in the OpenAPI document. ``page`` and ``per_page`` are
query arguments, the same names as on the pages."""

from __future__ import annotations

import json
from typing import Any

from flask_smorest.pagination import PaginationMetadataSchema
from marshmallow import Schema, fields, validate

from rectiflow.read.paging import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE, Page, PageRequest
from rectiflow.read.params import MAX_ID

HEADER = "X-Pagination"


class PaginationMetadata(PaginationMetadataSchema):
    per_page = fields.Int(metadata={"description": "Rows per page."})


PAGINATION_HEADERS = {HEADER: {"description": "Pagination metadata: the true total of rows matching the "
                                              "filters, the number of pages, this page and its neighbours.",
                               "schema": PaginationMetadata}}


def id_field(description: str) -> fields.Integer:
    """An id argument: bounded like the database's keys, so a huge value is a 422 naming it, not a 500."""
    return fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                          metadata={"description": description})


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": "Page number, from 1; a page past the end is empty."})
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                              metadata={"description": f"Rows per page, 1 to {MAX_PER_PAGE}."})


def page_request(args: dict[str, Any]) -> PageRequest:
    return PageRequest(args["page"], args["per_page"])


def paged(page: Page[Any]) -> tuple[list[Any], int, dict[str, str]]:
    """A view's return value: the rows as the body, the metadata in the header."""
    return page.rows, 200, {HEADER: json.dumps(page.metadata())}
