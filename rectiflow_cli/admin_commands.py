"""Administration commands: users, incidents, audit, clock."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from rectiflow.errors import RectiflowError
from rectiflow_cli.main import _fail, main, runtime


@main.group()
def users() -> None:
    """Accounts and role assignments."""


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json: bool) -> None:
    from rectiflow.services.accounts.users import list_users

    with runtime() as rt, rt.sessions() as s:
        rows = list_users(s)
    if as_json:
        click.echo(json.dumps([{"username": r.username, "display_name": r.display_name, "email": r.email,
                                "roles": [x["role"] for x in r.roles], "units": [x["unit"] for x in r.roles],
                                "assignments": r.roles} for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        roles = ", ".join(f"{x['role']}@{x['unit']}" for x in r.roles) or "-"
        click.echo(f"{r.username:20} {r.display_name:12} {roles}")


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--email", default="")
@click.password_option()
def users_create(username: str, display_name: str, email: str, password: str) -> None:
    from rectiflow.services.accounts.users import create_user

    with runtime() as rt:
        try:
            with rt.sessions.begin() as s:
                create_user(s, rt.clock, username=username, display_name=display_name, email=email,
                            password=password, actor="cli")
        except RectiflowError as exc:
            _fail(exc)
    click.echo(f"created {username}")


@users.command("set-password")
@click.argument("username")
@click.password_option()
def users_set_password(username: str, password: str) -> None:
    from rectiflow.services.accounts.users import set_password

    with runtime() as rt:
        try:
            with rt.sessions.begin() as s:
                set_password(s, rt.clock, username, password, actor="cli")
        except RectiflowError as exc:
            _fail(exc)
    click.echo("password changed")


@users.command("assign")
@click.argument("username")
@click.argument("role")
@click.argument("unit_code")
def users_assign(username: str, role: str, unit_code: str) -> None:
    from rectiflow.services.accounts.users import assign

    with runtime() as rt:
        try:
            with rt.sessions.begin() as s:
                assign(s, rt.clock, username, role, unit_code, actor="cli")
        except RectiflowError as exc:
            _fail(exc)
    click.echo(f"{username} is {role} of {unit_code}")


@main.group()
def incidents() -> None:
    """Failed jobs and engine errors."""


@incidents.command("list")
@click.option("--all", "show_all", is_flag=True, help="include resolved incidents")
def incidents_list(show_all: bool) -> None:
    from rectiflow.db.jobs import Incident

    with runtime() as rt, rt.sessions() as s:
        q = select(Incident).order_by(Incident.id)
        if not show_all:
            q = q.where(Incident.status == "open")
        rows = list(s.scalars(q))
    for inc in rows:
        click.echo(f"#{inc.id} {inc.status:8} {inc.kind:6} instance={inc.instance_id} {inc.message[:120]}")
    if not rows:
        click.echo("no incidents")


@incidents.command("retry")
@click.argument("incident_id", type=int)
def incidents_retry(incident_id: int) -> None:
    from rectiflow.services.jobs import retry_incident

    with runtime() as rt:
        try:
            with rt.sessions.begin() as s:
                retry_incident(s, rt.clock, incident_id, "cli")
        except RectiflowError as exc:
            _fail(exc)
    click.echo(f"incident {incident_id} re-queued")


@main.group()
def audit() -> None:
    """The append-only audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    from rectiflow.services.audit import verify

    with runtime() as rt, rt.sessions() as s:
        report = verify(s)
    for p in report.problems:
        click.echo(p, err=True)
    click.echo(f"{report.events} events in {report.streams} chains: {'ok' if report.ok else 'BROKEN'}")
    if not report.ok:
        raise SystemExit(1)


@audit.command("anchor")
def audit_anchor() -> None:
    """Anchor the heads of streams written before anchoring existed (once, after upgrading to 0007).
    Run ``audit verify`` first: an anchor vouches for the chain as it stands."""
    from rectiflow.services.audit import anchor_unanchored

    with runtime() as rt, rt.sessions.begin() as s:
        done = anchor_unanchored(s)
    click.echo(f"{len(done)} stream(s) anchored")


@main.group()
def clock() -> None:
    """The virtual clock (RECTIFLOW_CLOCK=virtual)."""


@clock.command("show")
def clock_show() -> None:
    with runtime() as rt:
        now = rt.clock.now()
        click.echo(f"{now.isoformat()} (business date {rt.clock.today().isoformat()}, clock: {rt.settings.clock})")


@clock.command("advance")
@click.argument("duration")
def clock_advance(duration: str) -> None:
    """Move virtual time forward, e.g. 3d, 12h, 2w, P90D; what fell due fires on the next tick."""
    from rectiflow.clock import parse_duration
    from rectiflow.services.clockstore import advance

    try:
        delta = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    with runtime() as rt:
        try:
            with rt.sessions.begin() as s:
                advance(s, rt.clock, delta)
        except RectiflowError as exc:
            _fail(exc)
        click.echo(f"now {rt.clock.now().isoformat()}")
