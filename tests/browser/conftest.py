"""Browser fixtures: the real app served by werkzeug in a background thread on 127.0.0.1 (ephemeral
port) over a per-test SQLite database holding the deployed ``processes/`` + ``forms/`` and the demo
data, and Debian's Chromium driven by Playwright.

Browser tests carry the ``browser`` marker. They skip when /usr/bin/chromium (or the playwright
package) is missing, unless REQUIRE_BROWSER=1, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.testsupport import ROOT, START

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"a browser is required (REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"{reason} (set REQUIRE_BROWSER=1 to make this a failure)")


@pytest.fixture(scope="session")
def playwright_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_rt(sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    from rectiflow.clock import FixedClock
    from rectiflow.config import load_settings
    from rectiflow.services.demo.org import load_demo
    from rectiflow.services.runtime import build_runtime
    from workers.registry import build_registry

    db_path = tmp_path / "rectiflow.db"
    shutil.copy(sqlite_template, db_path)
    settings = load_settings(
        {},
        instance_dir=tmp_path,
        database_url=f"sqlite:///{db_path}",
        secret_key="browser-test",
        files_dir=tmp_path / "files",
        clock="virtual",
        processes_dir=ROOT / "processes",
        forms_dir=ROOT / "forms",
    )
    rt = build_runtime(settings, build_registry(), clock=FixedClock(START))
    with rt.sessions.begin() as s:
        load_demo(s, rt)
    yield rt
    rt.dispose()


@pytest.fixture
def live_server(demo_rt: Any) -> Iterator[str]:
    from werkzeug.serving import make_server

    from webapp import create_app

    app = create_app(demo_rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def page(playwright_browser: Any, live_server: str) -> Iterator[Any]:
    context = playwright_browser.new_context(base_url=live_server, locale="zh-CN",
                                             viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()
