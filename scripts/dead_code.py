"""Dead code: vulture as configured in pyproject.toml (``[tool.vulture]``), reporting unused
functions, methods, classes, properties, imports and unreachable code. Exit status 1 on findings.

Unused variables and attributes are left out on purpose: nearly all of them are read by a framework
by name (ORM columns, marshmallow fields, enum members, properties of python-docx and openpyxl
objects set for their effect), so reporting them would bury the real findings.

    .venv/bin/python scripts/dead_code.py     (run by ``make lint`` and tests/test_quality.py)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vulture import Vulture
from vulture.config import make_config

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_KINDS = {"variable", "attribute"}


def findings() -> list[str]:
    os.chdir(ROOT)  # the configured paths are relative to the project
    config = make_config([])
    vulture = Vulture(ignore_names=config["ignore_names"], ignore_decorators=config["ignore_decorators"])
    vulture.scavenge(config["paths"], exclude=config["exclude"])
    return [item.get_report() for item in vulture.get_unused_code(min_confidence=config["min_confidence"])
            if item.typ not in SKIPPED_KINDS]


def main() -> int:
    found = findings()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
