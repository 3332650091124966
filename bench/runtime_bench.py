"""The runtime benchmark (issue: durable runtime). Everything is measured in one run, side by side.

engine_step_ms            bare SpiffWorkflow in memory (stock parser, stock script engine): complete one
                          user task and run to the next wait state; median
persisted_complete_ms_*   the same step through our service layer (load, check, validate the form, run,
                          project, audit, serialize, commit); median
naive_persisted_ms_sqlite the issue's "naive" yardstick, measured rather than assumed: read the row,
                          deserialize with the library's stock serializer (spec embedded), run the same
                          step, serialize, write, commit; no authorization, form, projection or audit
naive_ratio_sqlite        naive ÷ engine step (the issue assumes about 10)
store_floor_ms_sqlite     the database alone for one step: the same session, statements and row sizes,
                          committed, without engine or any rectiflow logic (and ÷ engine step)
engine_step_after_io_ms   the yardstick's step measured right after a small committed transaction
inbox_p95_ms_1k / _100k   the inbox query for one user with 1,000 and 100,000 instances in the database
timer_tick_ms_100k        a scheduler tick that finds nothing due among 100,000 waiting timers
loop_step_ratio           a step at the 50th pass through a loop ÷ at the first (service layer, SQLite)
state_bytes / full_json_bytes  our stored state vs the library's default serialization (spec embedded)
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

from rectiflow.bpmn_layout import layout
from rectiflow.clock import FixedClock
from rectiflow.config import load_settings
from rectiflow.db import metadata
from rectiflow.db.migrate import upgrade
from rectiflow.db.runtime import ProcessInstance, Timer, UserTask
from rectiflow.read.inbox import inbox
from rectiflow.services.accounts import users
from rectiflow.services.accounts.actors import load_actor
from rectiflow.services.runtime import Runtime, build_runtime
from rectiflow.services.workflow import instances, tasks, timers
from rectiflow.services.workflow.definitions import Sources, deploy
from rectiflow.services.workflow.operations import OperationRegistry

# A database of its own, so a benchmark never wipes the test suite's database under it.
PG_URL = os.environ.get("RECTIFLOW_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/rectiflow_bench")
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
FORM = json.dumps({"schema": {"type": "object", "additionalProperties": False, "required": ["note"], "properties": {
    "note": {"type": "string", "title": "说明", "minLength": 1},
    "again": {"type": "boolean", "title": "再来"}}}, "ui": {}}).encode()


def _user_task(i: int) -> str:
    return (f'<bpmn:userTask id="t{i}" name="步骤{i}"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formKey" value="note"/></spiffworkflow:properties>'
            f'</bpmn:extensionElements></bpmn:userTask>')


def linear_xml(n: int = 10) -> bytes:
    nodes = "".join(_user_task(i) for i in range(n))
    refs = "".join(f"<bpmn:flowNodeRef>t{i}</bpmn:flowNodeRef>" for i in range(n))
    chain = ["start", *[f"t{i}" for i in range(n)], "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(chain, chain[1:], strict=False)))
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d_linear" targetNamespace="x">'
           f'<bpmn:process id="linear" name="十步" isExecutable="true"><bpmn:laneSet id="ls">'
           f'<bpmn:lane id="rectification_office" name="整改办公室"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>{refs}'
           f'<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
           f'<bpmn:startEvent id="start"/>{nodes}<bpmn:endEvent id="end"/>{flows}</bpmn:process></bpmn:definitions>')
    return layout(xml.encode())


def loop_xml() -> bytes:
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="d_loop" targetNamespace="x">'
           f'<bpmn:process id="loop" name="循环" isExecutable="true"><bpmn:laneSet id="ls">'
           f'<bpmn:lane id="rectification_office" name="整改办公室"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
           f'<bpmn:flowNodeRef>t0</bpmn:flowNodeRef><bpmn:flowNodeRef>t1</bpmn:flowNodeRef>'
           f'<bpmn:flowNodeRef>gw</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>'
           f'</bpmn:laneSet><bpmn:startEvent id="start"/>{_user_task(0)}{_user_task(1)}'
           f'<bpmn:exclusiveGateway id="gw" default="out"/><bpmn:endEvent id="end"/>'
           f'<bpmn:sequenceFlow id="a" sourceRef="start" targetRef="t0"/>'
           f'<bpmn:sequenceFlow id="b" sourceRef="t0" targetRef="t1"/>'
           f'<bpmn:sequenceFlow id="c" sourceRef="t1" targetRef="gw"/>'
           f'<bpmn:sequenceFlow id="back" sourceRef="gw" targetRef="t0"><bpmn:conditionExpression '
           f'xsi:type="bpmn:tFormalExpression">again</bpmn:conditionExpression></bpmn:sequenceFlow>'
           f'<bpmn:sequenceFlow id="out" sourceRef="gw" targetRef="end"/></bpmn:process></bpmn:definitions>')
    return layout(xml.encode())


def engine_step_ms(xml: bytes, rounds: int = 30, between: Callable[[], None] | None = None) -> float:
    """Stock library, in memory: the yardstick every persisted figure is divided by. ``between``
    runs before each (untimed) step: see ``engine_step_after_io_ms``."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml)
    spec = parser.get_spec("linear")
    samples = []
    for _ in range(rounds):
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        while ready := wf.get_tasks(state=TaskState.READY, manual=True):
            if between is not None:
                between()
            t0 = time.perf_counter()
            ready[0].data.update({"note": "ok"})
            ready[0].run()
            wf.do_engine_steps()
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def naive_step_ms(url: str, xml: bytes, instances_n: int = 30) -> float:
    """Load → deserialize → run → serialize → save with the stock library and plain SQL, one
    transaction per step on the same SQLite settings as ours (WAL, synchronous=NORMAL)."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    from rectiflow.db.session import make_engine

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml)
    spec = parser.get_spec("linear")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE naive_instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)"))
    samples = []
    for i in range(instances_n):
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        with eng.begin() as conn:
            conn.execute(text("INSERT INTO naive_instances VALUES (:i, :s)"),
                         {"i": i, "s": serializer.serialize_json(wf)})
        while True:
            t0 = time.perf_counter()
            with eng.begin() as conn:
                state = conn.execute(text("SELECT state FROM naive_instances WHERE id = :i"), {"i": i}).scalar_one()
                wf = serializer.deserialize_json(state)
                ready = wf.get_tasks(state=TaskState.READY, manual=True)
                if not ready:
                    break
                ready[0].data.update({"note": "ok"})
                ready[0].run()
                wf.do_engine_steps()
                conn.execute(text("UPDATE naive_instances SET state = :s WHERE id = :i"),
                             {"i": i, "s": serializer.serialize_json(wf)})
            samples.append(time.perf_counter() - t0)
    eng.dispose()
    return statistics.median(samples) * 1000


def store_floor_ms(rt: Runtime, rounds: int = 300) -> float:
    """What the database alone costs for one step: the same session factory, the same statements
    with rows of the same sizes (task and instance read, task completed, next task inserted, state
    written under the version check, audit event), committed; no engine, no form, no serialization.
    Everything the persisted step does beyond this is rectiflow's own work plus the engine."""
    from rectiflow.db.raw import raw_connection
    from rectiflow.services import audit
    from rectiflow.services.workflow import projections, tasks, triggers

    with rt.sessions.begin() as s:
        iid = instances.start_instance(s, rt, "linear", {}, unit_id=1).id
    with rt.reads() as s:
        inst = s.get(ProcessInstance, iid)
        assert inst is not None
        state, version = inst.state, inst.version
        [first] = [t.id for t in s.scalars(select(UserTask).where(UserTask.instance_id == iid))]
    now, samples, current = rt.clock.now(), [], first
    payload = json.dumps({"task_id": current, "element": "t1", "name": "步骤1", "data": {"note": "ok"}})
    for _ in range(rounds):
        nxt = str(uuid.uuid4())
        t0 = time.perf_counter()
        with rt.sessions.begin() as s:
            raw = raw_connection(s)
            raw.execute(tasks._TASK_AND_INSTANCE, (current,)).fetchone()
            raw.execute(tasks._COMPLETE, ("completed", raw.when(now), 1, raw.json({"note": "ok"}), current, "ready"))
            raw.executemany(projections._INSERT_TASK, [(
                nxt, iid, "linear", "t1", "步骤1", "十步", "rectification_office", 1, "/1/", "note", None, None,
                "ready", raw.json({}), None, raw.when(now))])
            raw.execute(triggers._UPDATE_INSTANCE, (state, version + 1, version + 1, raw.when(now), "running", None,
                                                    version + 1, "h" * 64, iid, version))
            raw.execute(audit._INSERT, (f"instance:{iid}", version + 1, raw.when(now), "clerk", "task.completed",
                                        "instance", str(iid), raw.json_text(payload), "p" * 64, "h" * 64))
        samples.append(time.perf_counter() - t0)
        current, version = nxt, version + 1
    return statistics.median(samples) * 1000


def engine_step_after_io_ms(rt: Runtime, xml: bytes, rounds: int = 30) -> float:
    """The yardstick's step again, each one right after a small committed transaction: how much the
    same library code slows down once database work has run in between (caches, branch predictors)."""
    def small_transaction() -> None:
        with rt.sessions.begin() as s:
            s.execute(text("UPDATE units SET name = name WHERE id = 1"))

    return engine_step_ms(xml, rounds, between=small_transaction)


def make_rt(url: str, tmp: Path) -> Runtime:
    settings = load_settings({}, instance_dir=tmp, database_url=url, secret_key="bench", clock="virtual")
    rt = build_runtime(settings, OperationRegistry(), clock=FixedClock(datetime(2025, 1, 31, 2, tzinfo=UTC)))
    with rt.sessions.begin() as s:
        deploy(s, rt, Sources(bpmn={"linear.bpmn": linear_xml(), "loop.bpmn": loop_xml()},
                              forms={"note": FORM}), actor="bench")
        users.create_unit(s, rt.clock, code="u", name="单位", kind="enterprise")
        users.create_user(s, rt.clock, username="clerk", display_name="clerk", password="bench1234")
        users.assign(s, rt.clock, "clerk", "rectification_office", "u")
    return rt


def persisted_step_ms(rt: Runtime, key: str = "linear", rounds: int = 30) -> float:
    with rt.reads() as s:
        actor = load_actor(s, 1)
        unit = 1
    samples = []
    for _ in range(rounds):
        with rt.sessions.begin() as s:
            iid = instances.start_instance(s, rt, key, {}, unit_id=unit).id
        while True:
            with rt.reads() as s:
                ready = [t.id for t in inbox(s, actor) if t.instance_id == iid]
            if not ready:
                break
            t0 = time.perf_counter()
            with rt.sessions.begin() as s:
                tasks.complete_task(s, rt, ready[0], actor, {"note": "ok"})
            samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def loop_ratio(rt: Runtime, passes: int = 50, instances_n: int = 5) -> float:
    with rt.reads() as s:
        actor = load_actor(s, 1)
    first, last = [], []
    for _ in range(instances_n):
        with rt.sessions.begin() as s:
            iid = instances.start_instance(s, rt, "loop", {}, unit_id=1).id
        for p in range(passes):
            for _step in (0, 1):
                with rt.reads() as s:
                    [tid] = [t.id for t in inbox(s, actor) if t.instance_id == iid]
                t0 = time.perf_counter()
                with rt.sessions.begin() as s:
                    tasks.complete_task(s, rt, tid, actor, {"note": "ok", "again": p < passes - 1})
                dt = time.perf_counter() - t0
                if p == 0:
                    first.append(dt)
                elif p == passes - 1:
                    last.append(dt)
    return statistics.median(last) / statistics.median(first)


def state_sizes(rt: Runtime) -> tuple[int, int]:
    from rectiflow.services.workflow.definitions import bundle_for, latest_definition

    with rt.reads() as s:
        inst = s.query(ProcessInstance).filter_by(process_key="linear").first()
        assert inst is not None
        proc = bundle_for(s, rt, latest_definition(s, "linear")).processes["linear"]
        wf = rt.serializer.loads(inst.state, proc.spec, proc.subprocess_specs)
    return len(inst.state.encode()), len(rt.serializer.full_json(wf).encode())


def fill(rt: Runtime, n: int) -> None:
    """Bulk rows: n instances, each with a ready task for some other unit and a waiting timer."""
    now = rt.clock.now()
    with rt.sessions.begin() as s:
        start = (s.execute(text("SELECT COALESCE(MAX(id), 0) FROM process_instances")).scalar() or 0) + 1
        inst_rows, task_rows, timer_rows = [], [], []
        for i in range(start, start + n):
            inst_rows.append(dict(id=i, definition_id=1, process_key="linear", business_key="", title="t",
                                  status="running",
                                  unit_id=1, parent_id=None, state="{}", version=1, audit_seq=0, audit_head="",
                                  started_by="bench", created_at=now, updated_at=now, completed_at=None))
            mine = i <= 20  # the same 20 tasks are this user's at 1k and at 100k: only the table grows
            task_rows.append(dict(id=str(uuid.uuid4()), instance_id=i, process_key="linear", element_id="t0", name="n",
                                  title="t", role="rectification_office" if mine else "responsible_department",
                                  unit_id=1, unit_path="/1/" if mine else f"/9{i % 97}/", form_key="note",
                                  form_hash=None, due_at=now + timedelta(days=i % 300), status="ready",
                                  assignee_id=None, context={}, draft=None, created_at=now, completed_at=None,
                                  completed_by=None, submitted=None))
            timer_rows.append(dict(instance_id=i, task_id=str(uuid.uuid4()), element_id="x",
                                   due_at=now + timedelta(days=30 + i % 300), status="waiting",
                                   firing_key=f"b{i}", fired_at=None, lateness_s=None, created_at=now))
        for table, rows in ((ProcessInstance, inst_rows), (UserTask, task_rows), (Timer, timer_rows)):
            for k in range(0, len(rows), 5000):
                s.execute(insert(table), rows[k:k + 5000])
    if not rt.settings.is_sqlite:
        with rt.db.begin() as conn:
            conn.execute(text("ANALYZE"))


def inbox_p95(rt: Runtime, samples: int = 200) -> float:
    with rt.reads() as s:
        actor = load_actor(s, 1)
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        with rt.reads() as s:
            inbox(s, actor, limit=50)
        out.append(time.perf_counter() - t0)
    out.sort()
    return out[int(len(out) * 0.95)] * 1000


def tick_ms(rt: Runtime, samples: int = 100) -> float:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        assert timers.due_instance_ids(rt) == []
        out.append(time.perf_counter() - t0)
    return statistics.median(out) * 1000


def _reset_pg(url: str) -> None:
    server, name = url.rsplit("/", 1)
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    eng.dispose()
    upgrade(url)


def run(quick: bool = False) -> dict[str, Any]:
    big = 10_000 if quick else 100_000
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.db"
        upgrade(sqlite_url)
        rt = make_rt(sqlite_url, Path(tmp))
        figures["engine_step_ms"] = round(engine_step_ms(linear_xml()), 3)
        figures["persisted_complete_ms_sqlite"] = round(persisted_step_ms(rt), 3)
        figures["naive_persisted_ms_sqlite"] = round(naive_step_ms(sqlite_url, linear_xml()), 3)
        figures["store_floor_ms_sqlite"] = round(store_floor_ms(rt), 3)
        figures["engine_step_after_io_ms"] = round(engine_step_after_io_ms(rt, linear_xml()), 3)
        figures["loop_step_ratio"] = round(loop_ratio(rt, passes=20 if quick else 50), 3)
        figures["state_bytes"], figures["full_json_bytes"] = state_sizes(rt)
        fill(rt, 1000 - 40)
        figures["inbox_p95_ms_1k"] = round(inbox_p95(rt), 3)
        fill(rt, big - 1000)
        figures["inbox_p95_ms_100k"] = round(inbox_p95(rt), 3)
        figures["timer_tick_ms_100k"] = round(tick_ms(rt), 3)
        rt.dispose()
        pg = "postgresql+psycopg://" + PG_URL.split("://", 1)[1]
        try:
            _reset_pg(pg)
            rt_pg = make_rt(pg, Path(tmp))
            figures["persisted_complete_ms_postgres"] = round(persisted_step_ms(rt_pg), 3)
            rt_pg.dispose()
            _reset_pg(pg)
        except Exception as exc:  # no server: say so instead of inventing a figure
            figures["persisted_complete_ms_postgres"] = f"unavailable: {type(exc).__name__}"
    figures["ratio_sqlite"] = round(figures["persisted_complete_ms_sqlite"] / figures["engine_step_ms"], 2)
    figures["naive_ratio_sqlite"] = round(figures["naive_persisted_ms_sqlite"] / figures["engine_step_ms"], 2)
    figures["store_floor_ratio_sqlite"] = round(figures["store_floor_ms_sqlite"] / figures["engine_step_ms"], 2)
    figures["ratio_vs_naive"] = round(figures["persisted_complete_ms_sqlite"] / figures["naive_persisted_ms_sqlite"], 2)
    figures["inbox_ratio_100k_1k"] = round(figures["inbox_p95_ms_100k"] / figures["inbox_p95_ms_1k"], 2)
    figures["state_ratio"] = round(figures["state_bytes"] / figures["full_json_bytes"], 3)
    figures["sizes"] = {"big": big}
    return figures


__all__ = ["run", "metadata"]
