"""``flask hours requirements`` / ``flask hours require``: the yearly 学时 requirement table."""
from __future__ import annotations

from decimal import Decimal

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from accounts.services import organization_by_code
from core.extensions import db
from learning.hours import ensure_default_requirements
from learning.models import HourRequirement


@click.command("requirements")
def requirements_command():
    """Seed the national rules if missing, then list every requirement row."""
    added = ensure_default_requirements()
    db.session.commit()
    if added:
        click.echo(f"seeded {added} national rule(s)")
    for row in db.session.scalars(select(HourRequirement).order_by(HourRequirement.id)):
        click.echo(f"{row.id:>4}  year={row.year or '*'}  category={row.category or '*'}  "
                   f"position={row.position or '*'}  org={row.org_id or '*'}  {row.hours} 学时  {row.basis}")


@click.command("require")
@click.option("--hours", "hours_", type=Decimal, required=True, help="学时 required")
@click.option("--year", type=int, help="only this year (default: every year)")
@click.option("--category", type=click.Choice(["full", "probationary", "activist", "public"]))
@click.option("--position", type=click.Choice(["secretary", "committee"]))
@click.option("--org-code", help="override for this organization's subtree")
@click.option("--basis", default="", help="the document the rule comes from")
def require_command(hours_, year, category, position, org_code, basis):
    """Add a requirement row (the most specific matching row applies to a member)."""
    org = organization_by_code(org_code) if org_code else None
    if org_code and org is None:
        raise click.BadParameter(f"no organization with code {org_code}", param_hint="--org-code")
    db.session.add(HourRequirement(year=year, category=category, position=position, org_id=org.id if org else None,
                                   hours=hours_, basis=basis))
    db.session.commit()
    click.echo("added")


@click.command("close-idle-sessions")
def close_idle_sessions_command():
    """Close the study sessions without a heartbeat for STUDY_SESSION_EXPIRE_SECONDS (cron, e.g. hourly; a
    heartbeat of such a session closes it anyway and earns nothing)."""
    from learning import study

    closed = study.close_idle_sessions()
    db.session.commit()
    click.echo(f"closed {closed} idle study sessions")


def register(app: Flask) -> None:
    group = app.cli.commands.get("hours")
    if group is None:
        group = AppGroup("hours", help="Training hours (学时).")
        app.cli.add_command(group)
    group.add_command(requirements_command)
    group.add_command(require_command)
    group.add_command(close_idle_sessions_command)
