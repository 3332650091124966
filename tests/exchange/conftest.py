"""Exchange fixtures: the real processes deployed (a round starts the ``round`` process), a group
functional department, and a web client with CSRF on. Helpers live in ``exchange_support``."""

from __future__ import annotations

from typing import Any

import pytest
from testsupport import ROOT

from rectiflow.services.workflow.definitions import Sources, deploy


def round_sources() -> Sources:
    """Everything in processes/ and forms/, deployed as `make run` does."""
    return Sources.from_dirs(ROOT / "processes", ROOT / "forms")


@pytest.fixture
def office_org(rt: Any, org: dict[str, Any]) -> dict[str, Any]:
    from rectiflow.services.accounts import users as us

    with rt.sessions.begin() as s:
        deploy(s, rt, round_sources(), actor="test")
        us.create_unit(s, rt.clock, code="group_finance", name="集团财务部", kind="department", parent_code="group")
    with rt.reads() as s:
        org["units"]["group_finance"] = us.unit_by_code(s, "group_finance").id
    return org


@pytest.fixture
def app(rt: Any) -> Any:
    from webapp import create_app

    app = create_app(rt, testing=True)
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()
