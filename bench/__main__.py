"""Benchmarks: ``python -m bench runtime [--json]``. Figures are ratios measured side by side."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suite", choices=["runtime", "timers", "web"])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args(argv)
    from bench import runtime_bench, timers_bench

    figures = (timers_bench if args.suite == "timers" else runtime_bench).run(quick=args.quick) \
        if args.suite != "web" else __import__("bench.web_bench", fromlist=["run"]).run(quick=args.quick)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
