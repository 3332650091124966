"""Every diagram in processes/ parses, validates against the real operation registry and forms,
deploys, and carries up-to-date diagram interchange."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rectiflow.services.workflow.definitions import Sources, deploy, validate
from workers.registry import build_registry

ROOT = Path(__file__).resolve().parent.parent.parent
PROCESSES = sorted((ROOT / "processes").glob("*.bpmn"))


def sources() -> Sources:
    return Sources.from_dirs(ROOT / "processes", ROOT / "forms")


def test_there_are_processes() -> None:
    assert {p.stem for p in PROCESSES} >= {"round", "problem", "acceptance", "supervision", "accountability",
                                           "meeting", "long_term_review"}


def test_all_diagrams_validate_with_the_real_registry() -> None:
    bundle, forms = validate(sources(), build_registry())
    assert {"round", "problem", "acceptance"} <= set(bundle.processes)
    assert "acceptance" in bundle.processes["problem"].called
    assert "acceptance" in bundle.processes["long_term_review"].called
    used = {ut.form_key for ut in bundle.user_tasks.values()}
    assert used <= set(forms)
    for (pid, eid), ut in bundle.user_tasks.items():
        assert ut.role, f"{pid}:{eid} has no lane role"


@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.name)
def test_each_diagram_validates_alone_with_what_it_calls(path: Path) -> None:
    src = sources()
    calls_acceptance = path.stem in ("problem", "long_term_review")
    needed = {path.name} | ({"acceptance.bpmn"} if calls_acceptance else set())
    validate(
        Sources(bpmn={k: v for k, v in src.bpmn.items() if k in needed}, forms=src.forms), build_registry()
    )


def test_diagrams_deploy(rt) -> None:
    with rt.sessions.begin() as s:
        report = deploy(s, rt, sources(), actor="test")
    assert {k for k, _ in report.created} >= {"round", "problem", "acceptance"}


def test_layout_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rectiflow.bpmn_layout", "--check", *map(str, PROCESSES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
