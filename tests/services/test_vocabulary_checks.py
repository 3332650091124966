"""The database keeps every status, kind and role column inside its vocabulary (CHECK constraints declared
by the models and added by migration 0006), on SQLite and PostgreSQL; 0006 upgrades and downgrades with
data in place, and turns the accountability outcomes stored as labels into codes (and back)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import CheckConstraint, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from testsupport import ROOT, _require_postgres

from rectiflow.db import metadata
from rectiflow.db.domain import (
    AcceptanceStep,
    Accountability,
    Delivery,
    ExtensionRequest,
    LeadReferral,
    Measure,
    Notice,
    Problem,
    ReportMilestone,
    Round,
    RoundEvaluation,
    Supervision,
)
from rectiflow.db.jobs import Incident, Job
from rectiflow.db.migrate import alembic_config, upgrade
from rectiflow.db.org import RoleAssignment, Unit, User
from rectiflow.db.runtime import ProcessDefinition, ProcessInstance, Timer, UserTask
from rectiflow.db.session import make_engine

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _migration_0006() -> Any:
    path = ROOT / "migrations" / "versions" / "0006_vocabulary_checks.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKS = _migration_0006().CHECKS


def test_the_models_declare_exactly_the_checks_migration_0006_adds():
    declared = {c.name for t in metadata.tables.values() for c in t.constraints if isinstance(c, CheckConstraint)}
    assert declared == {f"ck_{table}_{column}" for table, column, _v, _e in CHECKS}


def _one_row_per_table(s: Session) -> dict[str, int]:
    """A valid row in every checked table (and what they point at); returns table → id."""
    unit = Unit(code="g", name="集团", kind="group", path="/1/")
    user = User(username="u", display_name="U", password_hash="x", created_at=NOW)
    s.add_all([unit, user])
    s.flush()
    d = ProcessDefinition(key="k", name="n", version=1, content_hash="h", file_name="k.bpmn", files={},
                          deployed_at=NOW, deployed_by="t")
    s.add(d)
    s.flush()
    inst = ProcessInstance(definition_id=d.id, process_key="k", state="{}", version=1, created_at=NOW,
                           updated_at=NOW)
    rnd = Round(year=2025, number=1, title="t", unit_id=unit.id, feedback_date=date(2025, 1, 1), schedule={},
                thresholds={}, taxonomy=[], status="feedback", created_at=NOW)
    s.add_all([inst, rnd])
    s.flush()
    job = Job(kind="x", run_after=NOW, created_at=NOW)
    prob = Problem(round_id=rnd.id, number="1", sort_key="0001", category="c", feedback_text="f", unit_id=unit.id,
                   unit_path="/1/", updated_at=NOW)
    s.add_all([job, prob])
    s.flush()
    measure = Measure(problem_id=prob.id, seq=1, text="m", department_id=unit.id, updated_at=NOW)
    notice = Notice(kind="reminder", recipient_id=user.id, subject="s", body="b", dedupe_key="k", created_at=NOW)
    s.add_all([measure, notice])
    s.flush()
    rows = {
        "units": unit, "process_instances": inst, "jobs": job, "rounds": rnd, "problems": prob, "measures": measure,
        "role_assignments": RoleAssignment(user_id=user.id, role="admin", unit_id=unit.id, created_at=NOW),
        "user_tasks": UserTask(id="t1", instance_id=inst.id, process_key="k", element_id="e", name="n",
                               role="admin", created_at=NOW),
        "timers": Timer(instance_id=inst.id, task_id="t", element_id="e", due_at=NOW, firing_key="f",
                        created_at=NOW),
        "incidents": Incident(kind="job", job_id=job.id, message="m", created_at=NOW),
        "acceptance_steps": AcceptanceStep(problem_id=prob.id, attempt=1, step="apply", decision="submit", at=NOW),
        "report_milestones": ReportMilestone(round_id=rnd.id, kind="plan", due_date=date(2025, 2, 1)),
        "supervisions": Supervision(problem_id=prob.id, decided_by_role="", reason="r",
                                    hard_deadline=date(2025, 3, 1), created_at=NOW),
        "deliveries": Delivery(notice_id=notice.id, channel="email", target="a@b.c", idempotency_key="i"),
        "extension_requests": ExtensionRequest(measure_id=measure.id, kind="extension", reason="r", created_at=NOW),
        "round_evaluations": RoundEvaluation(round_id=rnd.id, score=90, grade="excellent", at=NOW),
        "lead_referrals": LeadReferral(round_id=rnd.id, number=1, summary="s", receiver="other",
                                       referred_on=date(2025, 1, 1), created_at=NOW, updated_at=NOW),
        "accountability": Accountability(round_id=rnd.id, unit_id=unit.id, trigger="manual", created_at=NOW),
    }
    s.add_all(rows.values())
    s.flush()
    return {table: row.id for table, row in rows.items()}


def _set(engine: Any, table: str, column: str, row_id: Any, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'UPDATE {table} SET "{column}" = :v WHERE id = :id'), {"v": value, "id": row_id})


def test_every_checked_column_accepts_its_codes_and_refuses_others(database_url):
    engine = make_engine(database_url)
    try:
        with Session(engine) as s, s.begin():
            ids = _one_row_per_table(s)
        assert set(ids) == {table for table, _c, _v, _e in CHECKS}
        for table, column, vocabulary, allow_empty in CHECKS:
            for code in vocabulary.codes() + (("",) if allow_empty else ()):
                _set(engine, table, column, ids[table], code)
            with pytest.raises(IntegrityError):
                _set(engine, table, column, ids[table], "x_bad")  # short enough for every column
            if not allow_empty:
                with pytest.raises(IntegrityError):
                    _set(engine, table, column, ids[table], "")
    finally:
        engine.dispose()


def _seed_at_0005(url: str) -> None:
    """Rows as revision 0005 left them: a closed case whose outcome is the Chinese label."""
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("INSERT INTO units (id, code, name, name_en, kind, path) VALUES (1, 'g', 'G', '', 'group', "
                       "'/1/')"))
        c.execute(text("INSERT INTO rounds (id, year, number, title, team, unit_id, feedback_date, feedback_text, "
                       "schedule, thresholds, taxonomy, plan_text, status, created_at) VALUES (1, 2025, 1, 't', '', "
                       "1, '2025-01-01', '', '{}', '{}', '[]', '', 'rectifying', '2025-01-01 00:00:00')"))
        c.execute(text("INSERT INTO problems (id, round_id, number, sort_key, aspect, category, domain_tag, "
                       "feedback_text, root_cause, immediate, unit_id, unit_path, status, colour, supervised, "
                       "long_term, yellow_count, red_count, returned_count, updated_at) VALUES (1, 1, '1', '0001', "
                       "'', 'c', '', 'f', '', false, 1, '/1/', 'closed', 'red', false, false, 0, 2, 0, "
                       "'2025-01-01 00:00:00')"))
        c.execute(text('INSERT INTO accountability (id, round_id, unit_id, "trigger", talk_record, explanation, '
                       "outcome, status, created_at) VALUES (1, 1, 1, 'repeatedly_overdue', '', '', '约谈', 'closed', "
                       "'2025-01-01 00:00:00')"))
    eng.dispose()


def _check_names(url: str, table: str) -> set[str]:
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return {ck["name"] for ck in inspect(c).get_check_constraints(table)}
    finally:
        eng.dispose()


def _up_and_down(url: str) -> None:
    upgrade(url, "0005")
    _seed_at_0005(url)
    upgrade(url, "0006")
    eng = make_engine(url)
    try:
        with eng.connect() as c:
            assert c.execute(text("SELECT outcome FROM accountability")).scalar_one() == "talk"
            assert c.execute(text("SELECT status, colour, red_count FROM problems")).one() == ("closed", "red", 2)
        assert _check_names(url, "problems") == {"ck_problems_status", "ck_problems_colour"}
        with pytest.raises(IntegrityError):
            _set(eng, "problems", "status", 1, "half_done")
        if url.startswith("sqlite"):  # the rebuild left the foreign keys on and intact
            with eng.connect() as c:
                assert c.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
                assert c.execute(text("PRAGMA foreign_key_check")).all() == []
        command.downgrade(alembic_config(url), "0005")
        with eng.connect() as c:
            assert c.execute(text("SELECT outcome FROM accountability")).scalar_one() == "约谈"
        assert _check_names(url, "problems") == set()
        _set(eng, "problems", "status", 1, "half_done")  # 0005 had no constraint
    finally:
        eng.dispose()


def test_migration_0006_upgrades_and_downgrades_with_data_on_sqlite(tmp_path):
    _up_and_down(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A schema of its own on the test server, so the shared schema stays at head for the other tests."""
    base = _require_postgres()
    admin = create_engine(base)
    with admin.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS vocab_0006 CASCADE; CREATE SCHEMA vocab_0006"))
    try:
        yield base + ("&" if "?" in base else "?") + "options=-csearch_path%3Dvocab_0006"
    finally:
        with admin.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS vocab_0006 CASCADE"))
        admin.dispose()


@pytest.mark.postgres
def test_migration_0006_upgrades_and_downgrades_with_data_on_postgres(postgres_schema):
    _up_and_down(postgres_schema)
