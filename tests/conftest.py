"""Shared fixtures: a migrated database per test (SQLite file, or PostgreSQL truncated between
tests), a runtime with a virtual clock, and the fixture diagrams deployed.

PostgreSQL tests carry the ``postgres`` marker. They skip when the server is unreachable, unless
REQUIRE_POSTGRES=1 (as in CI), where an unreachable server is a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testsupport import FIXTURES, ROOT, START, _require_postgres, truncate_all  # noqa: E402,F401

from rectiflow.clock import FixedClock
from rectiflow.config import load_settings
from rectiflow.db.migrate import upgrade
from rectiflow.services.runtime import Runtime, build_runtime
from rectiflow.services.workflow.operations import Operation, OperationRegistry, Param

BROWSER_TIMEOUT_S = 1800  # a real browser on a loaded machine; every other test has pyproject's default


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("browser") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BROWSER_TIMEOUT_S))


@pytest.fixture(autouse=True, scope="session")
def verified_state_writes() -> Iterator[None]:
    """Every state the suite writes is also serialized in full and compared with the incremental
    writer's output (``StateSerializer.verify``): every scenario doubles as a test of the writer."""
    from rectiflow.engine.serializer import StateSerializer

    StateSerializer.verify = True
    yield
    StateSerializer.verify = False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def test_registry() -> OperationRegistry:
    from workers.registry import build_registry

    reg = build_registry()
    reg.register(Operation("test.echo", lambda ctx, p: {"echo": p, "instance": ctx.instance_id}, "inline",
                           (Param("value", "any"),)))
    reg.register(Operation("test.remote", lambda ctx, p: {"sent": p["subject"]}, "job",
                           (Param("subject", "str"),), max_attempts=3))
    return reg


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "rectiflow.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        url = _require_postgres()
        truncate_all(url)
        yield url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Any:
    return load_settings({}, instance_dir=tmp_path, database_url=database_url, secret_key="test",
                         files_dir=tmp_path / "files", clock="virtual")


@pytest.fixture
def rt(settings: Any, clock: FixedClock) -> Iterator[Runtime]:
    runtime = build_runtime(settings, test_registry(), clock=clock)
    # Every trigger in the tests loads the workflow from its stored state, so every scenario is also
    # a save/restore round trip; tests/services/test_runtime.py covers the cache separately.
    runtime.cache_workflows = False
    yield runtime
    runtime.dispose()


def fixture_sources() -> Any:
    from rectiflow.services.workflow.definitions import Sources

    return Sources.from_dirs(FIXTURES / "bpmn", FIXTURES / "forms")


@pytest.fixture
def org(rt: Runtime) -> dict[str, Any]:
    """A group with two plants, each with two departments, and one user per role."""
    from rectiflow.services.accounts import users as us
    from rectiflow.services.accounts.actors import load_actor

    with rt.sessions.begin() as s:
        us.create_unit(s, rt.clock, code="group", name="集团", kind="group")
        for plant in ("plant_a", "plant_b"):
            us.create_unit(s, rt.clock, code=plant, name=f"电厂{plant[-1].upper()}", kind="enterprise",
                           parent_code="group")
            for dept in ("finance", "hr"):
                us.create_unit(s, rt.clock, code=f"{plant}_{dept}", name=f"{plant}-{dept}", kind="department",
                               parent_code=plant)
        people = {
            "office": ("inspection_office", "group"), "leader": ("leading_group", "group"),
            "a_rect": ("rectification_office", "plant_a"), "b_rect": ("rectification_office", "plant_b"),
            "a_fin": ("responsible_department", "plant_a_finance"),
            "a_fin2": ("responsible_department", "plant_a_finance"),
            "a_hr": ("responsible_department", "plant_a_hr"),
            "b_fin": ("responsible_department", "plant_b_finance"),
            "a_jw": ("discipline_committee", "plant_a"), "a_boss": ("principal_leader", "plant_a"),
            "admin": ("admin", "group"),
        }
        for name, (role, unit) in people.items():
            us.create_user(s, rt.clock, username=name, display_name=name, password="passw0rd!",
                           email=f"{name}@example.test")
            us.assign(s, rt.clock, name, role, unit)
    with rt.sessions() as s:
        units = {u.code: u.id for u in s.scalars(__import__("sqlalchemy").select(__import__(
            "rectiflow.db.org", fromlist=["Unit"]).Unit))}
        actors = {name: load_actor(s, us.user_by_name(s, name).id) for name in people}
    return {"units": units, "actors": actors}


@pytest.fixture
def deployed(rt: Runtime) -> None:
    from rectiflow.services.workflow.definitions import deploy

    with rt.sessions.begin() as s:
        deploy(s, rt, fixture_sources(), actor="test")
