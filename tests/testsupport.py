"""Helpers shared by the test packages. A module of its own (not conftest) because several
directories have a conftest.py and ``import conftest`` would pick whichever was loaded last."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from rectiflow.db import metadata
from rectiflow.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("RECTIFLOW_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2025, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 in Beijing on 31 January


def _pg_url() -> str:
    return "postgresql+psycopg://" + PG_URL.split("://", 1)[1]


_pg_ready: bool | None = None


def _require_postgres() -> str:
    global _pg_ready
    url = _pg_url()
    if _pg_ready is None:
        try:
            eng = create_engine(url)
            with eng.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            eng.dispose()
            upgrade(url)
            _pg_ready = True
        except Exception as exc:  # unreachable server, bad URL
            _pg_ready = False
            if os.environ.get("REQUIRE_POSTGRES") == "1":
                pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but unusable: {exc}")
    if not _pg_ready:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but unusable")
        pytest.skip("PostgreSQL not reachable (set REQUIRE_POSTGRES=1 to make this a failure)")
    return url


def truncate_all(url: str) -> None:
    eng = create_engine(url)
    names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
    audit_tables = ("audit_events", "audit_anchors")  # refuse TRUNCATE (migration 0007): off for this transaction
    with eng.begin() as conn:
        for table in audit_tables:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table in audit_tables:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_truncate"))
    eng.dispose()


NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def divide_after_timer_xml() -> bytes:
    """start → wait until ``due`` → script ``quotient = 100 / divisor`` → end."""
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d_div" targetNamespace="x">'
           f'<bpmn:process id="divide_later" name="到期后计算" isExecutable="true"><bpmn:laneSet id="ls">'
           f'<bpmn:lane id="rectification_office" name="整改办公室"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
           f'<bpmn:flowNodeRef>wait</bpmn:flowNodeRef><bpmn:flowNodeRef>divide</bpmn:flowNodeRef>'
           f'<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet><bpmn:startEvent id="start"/>'
           f'<bpmn:intermediateCatchEvent id="wait" name="到期"><bpmn:timerEventDefinition id="td">'
           f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">due</bpmn:timeDate>'
           f'</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
           f'<bpmn:scriptTask id="divide" name="计算"><bpmn:script>quotient = 100 / divisor</bpmn:script>'
           f'</bpmn:scriptTask><bpmn:endEvent id="end"/>'
           f'<bpmn:sequenceFlow id="a" sourceRef="start" targetRef="wait"/>'
           f'<bpmn:sequenceFlow id="b" sourceRef="wait" targetRef="divide"/>'
           f'<bpmn:sequenceFlow id="c" sourceRef="divide" targetRef="end"/></bpmn:process></bpmn:definitions>')
    from rectiflow.bpmn_layout import layout

    return layout(xml.encode())


def start_waiting(rt, org):
    """Six instances waiting on one due instant; the fourth divides by zero when it fires."""
    from rectiflow.services.workflow import instances
    from rectiflow.services.workflow.definitions import Sources, deploy

    due = rt.clock.now() + timedelta(days=1)
    with rt.sessions.begin() as s:
        deploy(s, rt, Sources(bpmn={"divide_later.bpmn": divide_after_timer_xml()}, forms={}), actor="test")
        ids = [instances.start_instance(s, rt, "divide_later", {"due": due.isoformat(), "divisor": 0 if i == 3 else 4},
                                        unit_id=org["units"]["plant_a"]).id for i in range(6)]
    rt.clock.set(due + timedelta(seconds=2))
    return ids


def timer_statuses(rt, ids):
    from sqlalchemy import select

    from rectiflow.db.runtime import ProcessInstance, Timer

    with rt.reads() as s:
        rows = s.execute(select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.state)
                         .where(ProcessInstance.id.in_(ids)).order_by(ProcessInstance.id)).all()
        timer_rows = dict(s.execute(select(Timer.instance_id, Timer.status).where(Timer.instance_id.in_(ids))).all())
    return [(r.status, timer_rows[r.id]) for r in rows], {r.id: r.state for r in rows}


def start(rt, org, key="review_loop", unit="plant_a", **data):
    """An instance of a fixture process for ``unit``, started by the inspection office."""
    from rectiflow.services.workflow import instances

    with rt.sessions.begin() as s:
        inst = instances.start_instance(
            s, rt, key, {"subject": "资金管理", "deadline": "2025-04-30", **data},
            unit_id=org["units"][unit], actor="office")
        return inst.id


def ready(rt, instance_id):
    from sqlalchemy import select

    from rectiflow.db.runtime import UserTask

    with rt.reads() as s:
        return list(s.scalars(select(UserTask).where(UserTask.instance_id == instance_id,
                                                     UserTask.status == "ready")))


def complete(rt, actor, task_id, data, **kw):
    from rectiflow.services.workflow import tasks

    with rt.sessions.begin() as s:
        return tasks.complete_task(s, rt, task_id, actor, data, **kw)
