"""``rectiflow`` command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from rectiflow.errors import InvalidInput, RectiflowError
from rectiflow.i18n import default_locale
from rectiflow.services.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def runtime() -> Iterator[Runtime]:
    from rectiflow_cli.runtime import make_runtime

    rt = make_runtime()
    try:
        yield rt
    finally:
        rt.dispose()


def _fail(exc: RectiflowError) -> None:
    # In the default locale (RECTIFLOW_DEFAULT_LOCALE); a definition's findings follow as they are.
    locale = default_locale()
    click.echo("error: " + "\n".join([exc.render(locale), *str(exc).splitlines()[1:]]), err=True)
    errors = exc.render_errors(locale) if isinstance(exc, InvalidInput) else {}
    for field, msgs in errors.items():
        click.echo(f"  {field}: {'; '.join(msgs)}", err=True)
    sys.exit(1)


@click.group()
@click.option("-v", "--verbose", is_flag=True)
def main(verbose: bool) -> None:
    """rectiflow: 巡察整改 workflow."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:  # the library logs every task state change at INFO
        for name in ("spiff", "spiff.task", "spiff.workflow"):
            logging.getLogger(name).setLevel(logging.WARNING)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    from rectiflow.config import load_settings
    from rectiflow.db.migrate import upgrade

    settings = load_settings()
    if settings.is_sqlite:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    click.echo("database is at the latest revision")


@main.command()
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--forms", "forms_path", type=click.Path(exists=True, file_okay=False))
@click.option("--note", default="", help="change note recorded with the new versions")
@click.option("--check", is_flag=True, help="validate only; deploy nothing")
def deploy(path: str | None, forms_path: str | None, note: str, check: bool) -> None:
    """Validate and deploy processes/ (BPMN, DMN) and forms/."""
    from pathlib import Path

    from rectiflow.services.workflow.definitions import Sources, validate
    from rectiflow.services.workflow.definitions import deploy as do_deploy

    with runtime() as rt:
        src = Sources.from_dirs(Path(path) if path else rt.settings.processes_dir,
                                Path(forms_path) if forms_path else rt.settings.forms_dir)
        try:
            if check:
                validate(src, rt.operations)
                click.echo(f"ok: {len(src.bpmn)} diagrams, {len(src.dmn)} DMN tables, {len(src.forms)} forms")
                return
            with rt.sessions.begin() as s:
                report = do_deploy(s, rt, src, actor="cli", note=note)
        except RectiflowError as exc:
            _fail(exc)
        for key, version in report.created:
            click.echo(f"deployed {key} v{version}")
        for key, version in report.unchanged:
            click.echo(f"unchanged {key} v{version}")


@main.command()
def demo() -> None:
    """Load the demo organisation, one account per role, and a demo round (idempotent)."""
    from rectiflow.services.demo.org import load_demo

    with runtime() as rt:
        try:
            with rt.sessions.begin() as s:
                created = load_demo(s, rt)
        except RectiflowError as exc:
            _fail(exc)
        click.echo("demo data loaded" if created else "demo data already present")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--no-worker", is_flag=True, help="serve only; run `rectiflow worker` separately")
def serve(host: str, port: int, no_worker: bool) -> None:
    """Serve the web app with the scheduler and workers inside (embedded mode)."""
    from waitress import serve as waitress_serve

    from rectiflow_cli.runtime import make_runtime
    from webapp import create_app

    rt = make_runtime()
    if not no_worker:
        from workers.scheduler import start_background

        start_background(rt)
    app = create_app(rt)
    click.echo(f"rectiflow serving on http://{host}:{port} (clock: {rt.settings.clock})")
    waitress_serve(app, host=host, port=port, threads=8, ident="rectiflow")


@main.command()
def worker() -> None:
    """Scheduler and job runner only (scaled deployments; run several side by side)."""
    from rectiflow_cli.runtime import make_runtime
    from workers.scheduler import preflight, run_forever

    try:
        rt = make_runtime()
        preflight(rt)  # names the variable at fault: RECTIFLOW_DATABASE_URL, RECTIFLOW_SMTP_URL, ...
    except RectiflowError as exc:
        _fail(exc)
    run_forever(rt)


from rectiflow_cli import admin_commands, exchange_commands  # noqa: E402,F401  (users/incidents/audit/clock; rounds/ledger)
