"""The layering of DESIGN.md, checked with import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 broken" in result.stdout, result.stdout
    for name in CONTRACTS:  # each contract of DESIGN.md is there and holds
        assert f"{name} KEPT" in result.stdout, result.stdout


CONTRACTS = (
    "The core imports no web, API or scheduler framework",  # rectiflow.read included: it is under rectiflow
    "Only rectiflow.engine imports SpiffWorkflow",
    "Engine and database layers are independent",
    "webapp and workers do not import each other",
    "The API imports no view",
    "The request plumbing imports no view",
    "Views are independent of each other",
)


def test_every_view_module_is_in_the_independence_contract():
    """A new view module must join the contract, or it could import another view unchecked."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    [views] = [c for c in config["contracts"] if c["name"] == "Views are independent of each other"]
    on_disk = {f"webapp.views.{p.stem}" for p in (ROOT / "webapp" / "views").glob("*.py") if p.stem != "__init__"}
    assert set(views["modules"]) == on_disk
    [core] = [c for c in config["contracts"] if c["name"] == CONTRACTS[0]]
    assert core["source_modules"] == ["rectiflow"]  # so rectiflow.read is held to it too
    assert {"flask", "flask_smorest", "marshmallow", "webapp"} <= set(core["forbidden_modules"])


def test_nothing_but_the_clock_reads_wall_time():
    offenders = []
    for path in [*ROOT.glob("rectiflow/**/*.py"), *ROOT.glob("workers/**/*.py"), *ROOT.glob("webapp/**/*.py")]:
        if path.name in {"clock.py", "timeclock.py"}:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time("):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    # The APScheduler glue schedules ticks on wall time, and the webhook channel reads an HTTP
    # Retry-After date against real time: neither is business time.
    allowed = ("workers/scheduler.py", "workers/channels/webhook.py")
    offenders = [o for o in offenders if not o.startswith(allowed)]
    assert offenders == []
