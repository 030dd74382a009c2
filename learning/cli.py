"""``flask hours``, the one command group of training hours: ``requirements`` / ``require`` (the yearly 学时
requirement table), ``close-idle-sessions``, ``verify-totals`` / ``rebuild-totals`` (hour_totals against the
ledger) here; ``export`` joins it from ``reports.cli``."""
from __future__ import annotations

from decimal import Decimal

import click
from flask.cli import AppGroup
from sqlalchemy import select

from accounts.services import organization_by_code
from core.extensions import db
from learning import study, totals
from learning.hours import ensure_default_requirements
from learning.models import HourRequirement

hours_cli = AppGroup("hours", help="Training hours (学时).")


@hours_cli.command("requirements")
def requirements_command():
    """Seed the national rules if missing, then list every requirement row."""
    added = ensure_default_requirements()
    db.session.commit()
    if added:
        click.echo(f"seeded {added} national rule(s)")
    for row in db.session.scalars(select(HourRequirement).order_by(HourRequirement.id)):
        click.echo(f"{row.id:>4}  year={row.year or '*'}  category={row.category or '*'}  "
                   f"position={row.position or '*'}  org={row.org_id or '*'}  {row.hours} 学时  {row.basis}")


@hours_cli.command("require")
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


@hours_cli.command("close-idle-sessions")
def close_idle_sessions_command():
    """Close the study sessions without a heartbeat for STUDY_SESSION_EXPIRE_SECONDS (cron, e.g. hourly; a
    heartbeat of such a session closes it anyway and earns nothing)."""
    closed = study.close_idle_sessions()
    db.session.commit()
    click.echo(f"closed {closed} idle study sessions")


@hours_cli.command("verify-totals")
def verify_totals_command():
    """Check that hour_totals equals SQL sums over the ledger (per member and year); exit 1 if not."""
    found = totals.differences(db.session.connection())
    for side, row in found:
        click.echo(f"{side}: user {row[0]} year {row[1]}: " + ", ".join(
            f"{name}={value}" for name, value in zip(totals.COLUMNS, row[2:])))
    if found:
        raise click.ClickException("hour_totals differs from the ledger: run `flask hours rebuild-totals`")
    click.echo("hour_totals equals the ledger's sums")


@hours_cli.command("rebuild-totals")
def rebuild_totals_command():
    """Recreate the hour_totals triggers (for the configured time zone) and every row from the ledger."""
    rows = totals.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"hour_totals rebuilt: {rows:,} rows")
