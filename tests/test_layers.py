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
    assert "Contracts: 4 kept, 0 broken" in result.stdout, result.stdout


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
