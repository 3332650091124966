"""The web benchmark: the inbox page against a trivial page, side by side in one run, so the inbox's
own cost shows apart from the server's.

The app is served by waitress (in a child process) on 127.0.0.1 (ephemeral port) over a fresh SQLite database with the
demo data plus ~200 extra instances (half of them in the benchmarked user's unit). After logging in,
a bounded pool of loopback clients (threads with ``http.client``) interleaves requests for the inbox
page and for ``/healthz`` (one trivial query, no template):

inbox_page_p95_ms    95th percentile latency of GET / (the user's inbox, ~100 rows)
trivial_page_p95_ms  95th percentile latency of GET /healthz
ratio                inbox ÷ trivial (target ≤ 3)

Requests go to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "rect", "rectiflow2025"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _runtime(tmp: Path, extra: int) -> Any:
    from rectiflow.clock import FixedClock
    from rectiflow.config import load_settings
    from rectiflow.db.migrate import upgrade
    from rectiflow.db.org import Unit
    from rectiflow.services.demo.org import load_demo
    from rectiflow.services.runtime import build_runtime
    from rectiflow.services.workflow import instances
    from rectiflow.services.workflow.definitions import Sources, deploy
    from workers.registry import build_registry

    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    settings = load_settings({}, instance_dir=tmp, database_url=url, secret_key="bench", files_dir=tmp / "files",
                             clock="virtual", processes_dir=ROOT / "processes", forms_dir=ROOT / "forms")
    from datetime import UTC, datetime

    from rectiflow.services.workflow.operations import Operation, Param

    registry = build_registry()  # plus the two operations the fixture diagrams call (as in the tests)
    registry.register(Operation("test.echo", lambda ctx, p: {"echo": p}, "inline", (Param("value", "any"),)))
    registry.register(Operation("test.remote", lambda ctx, p: {"sent": p["subject"]}, "job",
                                (Param("subject", "str"),), max_attempts=3))
    rt = build_runtime(settings, registry, clock=FixedClock(datetime(2025, 1, 31, 2, 0, tzinfo=UTC)))
    with rt.sessions.begin() as s:
        load_demo(s, rt)
    from sqlalchemy import select

    with rt.sessions.begin() as s:
        # A small review process (draft → review) from the test fixtures: its first task goes to the
        # unit's rectification office.
        fixtures = ROOT / "tests" / "fixtures"
        deploy(s, rt, Sources.from_dirs(fixtures / "bpmn", fixtures / "forms"), actor="bench")
        units = {u.code: u.id for u in s.scalars(select(Unit))}
    for i in range(extra):
        unit = "plant_a" if i % 2 == 0 else "plant_b"
        with rt.sessions.begin() as s:
            instances.start_instance(s, rt, "review_loop", {"subject": f"资金管理 {i}", "deadline": "2025-04-30"},
                                     unit_id=units[unit], actor="bench", title=f"整改：{unit} #{i}")
    return rt


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                self.cookie = v.split(";", 1)[0]
        conn.close()
        return resp.status, data

    def login(self) -> None:
        _status, page = self.request("GET", "/login")
        m = TOKEN_RE.search(page)
        assert m, "no CSRF token on /login"
        status, _ = self.request("POST", "/login", urlencode({"csrf_token": m.group(1), "username": USER,
                                                              "password": PASSWORD}))
        assert status == 302, f"login failed: {status}"


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def _serve(tmpdir: str, extra: int, threads: int, conn: Any) -> None:
    """The server process: its own interpreter, so the clients' threads do not share its GIL."""
    import logging

    from waitress import create_server

    from webapp import create_app

    # The clients keep waitress's queue non-empty by design; its per-request warning is noise here.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    rt = _runtime(Path(tmpdir), extra)
    server = create_server(create_app(rt), host="127.0.0.1", port=0, threads=threads, ident="rectiflow-bench")
    conn.send(server.effective_port)  # type: ignore[union-attr]
    conn.close()
    server.run()


def run(quick: bool = False) -> dict[str, Any]:
    import multiprocessing

    threads, per_thread, extra = (2, 40, 40) if quick else (4, 200, 200)
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="rectiflow-webbench-") as tmpdir:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(tmpdir, extra, threads, child), daemon=True)
        proc.start()
        try:
            if not parent.poll(300):
                raise RuntimeError("the benchmark server did not start")
            port = int(parent.recv())
            client = Client(port)
            client.login()
            status, page = client.request("GET", "/")
            assert status == 200, status
            rows = page.count('class="row-')
            # Warm up both pages (templates compiled, caches filled).
            for _ in range(5):
                client.request("GET", "/")
                client.request("GET", "/healthz")
            timings: dict[str, list[float]] = {"/": [], "/healthz": []}
            lock = threading.Lock()
            errors: list[str] = []

            def worker(n: int) -> None:
                c = Client(port)
                c.cookie = client.cookie
                local: dict[str, list[float]] = {"/": [], "/healthz": []}
                for i in range(per_thread):
                    path = "/" if (i + n) % 2 == 0 else "/healthz"
                    t0 = time.perf_counter()
                    st, _body = c.request("GET", path)
                    local[path].append((time.perf_counter() - t0) * 1000)
                    if st != 200:
                        errors.append(f"{path}: {st}")
                with lock:
                    for k, v in local.items():
                        timings[k] += v

            pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
            t0 = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()  # our own child, by its handle
            proc.join(10)
    inbox_p95, trivial_p95 = _p95(timings["/"]), _p95(timings["/healthz"])
    return {
        "inbox_page_p95_ms": round(inbox_p95, 2),
        "trivial_page_p95_ms": round(trivial_p95, 2),
        "ratio": round(inbox_p95 / trivial_p95, 2),
        "inbox_page_median_ms": round(statistics.median(timings["/"]), 2),
        "trivial_page_median_ms": round(statistics.median(timings["/healthz"]), 2),
        "inbox_rows": rows,
        "requests": threads * per_thread,
        "client_threads": threads,
        "requests_per_s": round(threads * per_thread / wall, 1),
        "errors": len(errors),
    }
