"""URL converters. Every ``<int:…>`` route names a database id: the app factory registers this one
under ``int``, so an id outside 1..2**63-1 does not match the route (a 404) instead of reaching the
database as a value no key can hold (a 500 on PostgreSQL)."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

from rectiflow.read.params import MAX_ID


class BoundedIdConverter(IntegerConverter):
    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
        # Digits only, and no more than the bound has: the regex refuses a 10,000-digit id before int().
        self.regex = rf"\d{{1,{len(str(self.max))}}}"
