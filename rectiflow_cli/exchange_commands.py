"""Excel exchange on the command line: the problem-list template, importing a round, the ledger export."""

from __future__ import annotations

from pathlib import Path

import click

from rectiflow.domain import schedules
from rectiflow.errors import RectiflowError
from rectiflow_cli.main import _fail, main, runtime


@main.group()
def rounds() -> None:
    """Inspection rounds: problem-list template and import."""


@rounds.command("template")
@click.option(
    "--preset",
    default="four_implementations",
    type=click.Choice(sorted(schedules.TAXONOMY_PRESETS)),
    help="problem taxonomy the dropdowns come from",
)
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def rounds_template(preset: str, out: str) -> None:
    """Write an empty problem-list workbook (.xlsx) to OUT."""
    from rectiflow.services.exchange.excel import problem_list_template

    Path(out).write_bytes(problem_list_template(preset))
    click.echo(f"template written to {out}")


@rounds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", required=True, help="code of the inspected unit")
@click.option("--year", required=True, type=int)
@click.option("--number", required=True, type=int, help="round number within the year")
@click.option("--title", required=True)
@click.option("--team", default="", help="inspection team")
@click.option("--feedback-date", required=True, help="YYYY-MM-DD")
@click.option("--feedback-text", default="", help="the feedback opinion")
@click.option(
    "--preset",
    "schedule_preset",
    default="enterprise",
    type=click.Choice(sorted(schedules.SCHEDULE_PRESETS)),
    help="report schedule",
)
@click.option(
    "--taxonomy",
    "taxonomy_preset",
    default="four_implementations",
    type=click.Choice(sorted(schedules.TAXONOMY_PRESETS)),
)
def rounds_import(
    file: str,
    unit_code: str,
    year: int,
    number: int,
    title: str,
    team: str,
    feedback_date: str,
    feedback_text: str,
    schedule_preset: str,
    taxonomy_preset: str,
) -> None:
    """Open a round from a problem-list workbook; on any row error nothing is created (exit 1)."""
    from rectiflow.services.exchange.excel import MAX_BYTES, open_round, read_problem_list

    path = Path(file)
    if path.stat().st_size > MAX_BYTES:
        click.echo(f"error: {file} is larger than {MAX_BYTES // (1024 * 1024)} MB", err=True)
        raise SystemExit(1)
    data = path.read_bytes()
    with runtime() as rt:
        try:
            rows = read_problem_list(data, taxonomy_preset)  # before the write transaction: reading takes CPU
            with rt.sessions.begin() as s:
                rnd = open_round(
                    s,
                    rt,
                    actor="cli",
                    rows=rows,
                    taxonomy_preset=taxonomy_preset,
                    unit_code=unit_code,
                    year=year,
                    number=number,
                    title=title,
                    team=team,
                    feedback_date=feedback_date,
                    feedback_text=feedback_text,
                    schedule_preset=schedule_preset,
                )
                rid, count, iid = rnd.id, len(rnd.problems), rnd.instance_id
        except RectiflowError as exc:
            _fail(exc)
    click.echo(f"round {rid} opened with {count} problems (process instance {iid})")


@main.group()
def ledger() -> None:
    """The rectification ledger (综合查询)."""


@ledger.command("export")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--round", "round_id", type=int, help="only this round")
@click.option(
    "--status",
    type=click.Choice(
        [
            "not_started",
            "rectifying",
            "awaiting_acceptance",
            "in_acceptance",
            "closed",
            "ongoing",
            "extension_pending",
            "returned",
        ]
    ),
)
def ledger_export(out: str, round_id: int | None, status: str | None) -> None:
    """Write the whole ledger (every unit) to OUT as .xlsx."""
    from rectiflow.read.ledger import LedgerFilter
    from rectiflow.services.exchange.excel import export_ledger

    with runtime() as rt, rt.reads() as s:
        data = export_ledger(s, None, LedgerFilter.from_args({"round": round_id, "status": status}))
    Path(out).write_bytes(data)
    click.echo(f"ledger written to {out}")
