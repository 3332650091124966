"""Hostile-client regressions: the web app's and the real chain's fixtures together."""

from __future__ import annotations

from scenarios.conftest import chain  # noqa: F401  (fixture)

from tests.web.conftest import app, client  # noqa: F401  (fixtures)
