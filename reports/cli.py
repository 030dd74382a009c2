"""``flask hours export`` (in ``learning.cli``'s group): the same export as the web download
(reports.exports.build_export), to a file."""
from __future__ import annotations

from datetime import date

import click

from accounts.services import find_user_by_login, organization_by_code, scope_root
from core.extensions import db
from learning import hours
from learning.cli import hours_cli
from reports import compliance, exports


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from error


@hours_cli.command("export")
@click.option("--org", "org_code", help="Organization code (default: every organization).")
@click.option("--year", type=int, help="Year of the report (default: this year).")
@click.option("--from", "date_from", help="First day (YYYY-MM-DD), with --to: a date range instead of a year.")
@click.option("--to", "date_to", help="Last day (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True)
@click.option("--kind", type=click.Choice(exports.KINDS), default="summary", show_default=True)
@click.option("--basis", type=click.Choice([b.value for b in compliance.Basis]), default="current", show_default=True,
              help="current: by the member's organization now; at_time: where they were when they studied.")
@click.option("--category", help="Only this member category (full, probationary, activist, public).")
@click.option("--met", type=click.Choice(["yes", "no"]), help="Only members who met (yes) or did not (no).")
@click.option("--as", "as_login", help="Export as this user (phone or username): limited to what they may see.")
@click.option("--full-phones", is_flag=True, help="Unmasked phone numbers (logged in the personal data audit).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), required=True)
def export_command(org_code, year, date_from, date_to, fmt, kind, basis, category, met, as_login, full_phones,
                   output):
    """Export the training-hour summary or ledger of a subtree to CSV or XLSX."""
    actor = None
    if as_login:
        actor = find_user_by_login(as_login)
        if actor is None or not actor.is_active:
            raise click.ClickException(f"no active user {as_login!r}")
        try:
            allowed = scope_root(actor)
        except Exception as error:  # NotFound: not an organizer or admin
            raise click.ClickException(f"{as_login!r} may not export hours") from error
    root = None
    if org_code:
        root = organization_by_code(org_code)
        if root is None:
            raise click.ClickException(f"no organization with code {org_code!r}")
    if actor is not None:
        if allowed is not None and (root is None or not root.is_within(allowed)):
            raise click.ClickException(f"{as_login!r} may not export {org_code or 'every organization'}")
        if full_phones and actor.role.value != "admin":
            raise click.ClickException("full phone numbers: admins only")
    first, last = _date(date_from), _date(date_to)
    if bool(first) != bool(last):
        raise click.BadParameter("--from and --to go together")
    period = compliance.Period.between(first, last) if first else compliance.Period.for_year(year or hours.current_year())
    if category and category not in {"full", "probationary", "activist", "public"}:
        raise click.BadParameter(f"unknown category {category!r}")
    job = exports.ExportRequest(kind=kind, fmt=fmt, root=root, period=period, basis=compliance.Basis(basis),
                                filters=compliance.Filters(category=category, met={"yes": True, "no": False}.get(met)),
                                full_phones=full_phones)
    result = exports.build_export(job, actor=actor, channel="cli")
    db.session.commit()
    with open(output, "wb") as fh:
        size = exports.write_to(result, fh)
    click.echo(f"{output}: {size:,} bytes")
