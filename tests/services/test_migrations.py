"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and
the file-grant migration carries existing evidence over (and back)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from rectiflow.db import metadata
from rectiflow.db.migrate import alembic_config, upgrade

SHA = "ab" * 32


def test_migrated_schema_matches_the_models(database_url):
    eng = create_engine(database_url)
    try:
        with eng.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        eng.dispose()
    assert diff == []


def test_file_grants_migration_keeps_existing_evidence(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO stored_files (sha256, name, media_type, size, unit_path, uploaded_by, "
                          "created_at) VALUES (:s, '整改报告.pdf', 'application/pdf', 10, '/1/2/', NULL, "
                          "'2025-01-01 00:00:00')"), {"s": SHA})
    upgrade(url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT sha256, unit_path, name FROM file_grants")).all() == \
            [(SHA, "/1/2/", "整改报告.pdf")]
        assert conn.execute(text("SELECT sha256, media_type, size FROM stored_files")).all() == \
            [(SHA, "application/pdf", 10)]
    command.downgrade(alembic_config(url), "0001")
    with eng.connect() as conn:
        assert conn.execute(text("SELECT unit_path, name FROM stored_files")).all() == [("/1/2/", "整改报告.pdf")]
    eng.dispose()


def test_state_version_migration_starts_from_the_row_version(tmp_path):
    """Forms open during the upgrade carry the row version; they must stay valid afterwards."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO process_definitions (id, key, name, version, content_hash, file_name, files, "
                          "change_note, deployed_at, deployed_by) VALUES (1, 'k', 'n', 1, 'h', 'k.bpmn', '{}', '', "
                          "'2025-01-01 00:00:00', 'x')"))
        conn.execute(text("INSERT INTO process_instances (id, definition_id, process_key, business_key, title, "
                          "status, state, version, audit_seq, audit_head, started_by, created_at, updated_at) "
                          "VALUES (1, 1, 'k', '', 't', 'running', '{}', 7, 0, '', 'x', '2025-01-01', '2025-01-01')"))
    upgrade(url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version, state_version FROM process_instances")).all() == [(7, 7)]
    command.downgrade(alembic_config(url), "0002")
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version FROM process_instances")).all() == [(7,)]
    eng.dispose()
