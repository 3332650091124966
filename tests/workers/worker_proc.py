"""A worker process for the multi-process tests: the real loop of ``rectiflow worker``
(``workers.scheduler.preflight`` + ``run_forever``) with one extra test operation, ``test.effect``:
an outside side effect keyed by the job's idempotency key, then a pause long enough to kill the
process in the middle of the job.

Every attempt is logged in ``test_attempts``; the effect goes to ``test_effects`` only when that key
is not there yet (what an idempotent receiver does with the key), in its own autocommit connection,
as a call to the outside world would.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import create_engine, text  # noqa: E402

from rectiflow.config import load_settings  # noqa: E402
from rectiflow.errors import RectiflowError  # noqa: E402
from rectiflow.services.runtime import build_runtime  # noqa: E402
from rectiflow.services.workflow.operations import Operation, OperationContext, Param  # noqa: E402
from workers.registry import build_registry  # noqa: E402
from workers.scheduler import preflight, run_forever  # noqa: E402

_outside: Any = None


def op_effect(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    key = ctx.data["idempotency_key"]
    with _outside.begin() as conn:
        conn.execute(text("INSERT INTO test_attempts (key, pid) VALUES (:k, :p)"), {"k": key, "p": os.getpid()})
        attempts = conn.execute(text("SELECT count(*) FROM test_attempts WHERE key = :k"), {"k": key}).scalar_one()
        done = conn.execute(text("SELECT 1 FROM test_effects WHERE key = :k"), {"k": key}).first()
        if done is None:
            conn.execute(text("INSERT INTO test_effects (key, pid) VALUES (:k, :p)"), {"k": key, "p": os.getpid()})
    if attempts == 1 or not params.get("sleep_first_only", False):
        time.sleep(float(params.get("sleep", 0)))
    return {"key": key, "pid": os.getpid(), "duplicate_skipped": done is not None}


def main() -> int:
    global _outside
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    registry = build_registry()
    registry.register(Operation("test.effect", op_effect, "job",
                                (Param("sleep", "any", required=False),), max_attempts=5))
    registry.register(Operation("test.remote", lambda ctx, p: {"sent": p["subject"]}, "job",
                                (Param("subject", "str"),), max_attempts=3))
    try:
        rt = build_runtime(load_settings(), registry)
        preflight(rt)
    except RectiflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _outside = create_engine(rt.settings.database_url, isolation_level="AUTOCOMMIT")
    run_forever(rt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
