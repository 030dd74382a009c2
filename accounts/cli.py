"""``flask --app app users ...``: create the first admin and other accounts from the shell."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from accounts import services
from accounts.models import MemberCategory, Position
from core.extensions import db
from core.permissions import Role


@click.group("users", help="Manage user accounts.")
def users_cli():
    pass


@users_cli.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", required=True)
@click.option("--phone", required=True)
@click.option("--username", default=None)
@click.option("--org", "org_code", default=None, help="Organization code: the organizer's subtree, the member's organization.")
@click.option("--category", type=click.Choice([c.value for c in MemberCategory]), default=None)
@click.option("--position", "positions", type=click.Choice([p.value for p in Position]), multiple=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@with_appcontext
def create(role, name, phone, username, org_code, category, positions, password_stdin):
    """Create a user; the password is asked at the prompt unless --password-stdin."""
    role = Role(role)
    org = None
    if org_code:
        org = services.organization_by_code(org_code)
        if org is None:
            raise click.UsageError(f"no organization with code {org_code!r}")
    if role in (Role.ORGANIZER, Role.MEMBER) and org is None:
        raise click.UsageError(f"--org CODE is required for --role {role.value}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.UsageError("the password must have at least 8 characters")
    try:
        user = services.create_user(
            name=name, phone=phone, password=password, role=role, username=username,
            organization=org if role != Role.ORGANIZER else None,
            managed_org=org if role == Role.ORGANIZER else None,
            category=MemberCategory(category) if category else None, positions=[Position(p) for p in positions])
    except services.AccountError as error:
        messages = {"phone": f"{phone!r} is not an 11-digit mainland mobile number",
                    "phone_taken": f"a user with phone {phone} already exists",
                    "username_taken": f"the username {username!r} is taken"}
        raise click.UsageError(messages.get(str(error), str(error)))
    db.session.commit()
    click.echo(f"created {role.value} {user.name} (id {user.id}, phone {user.phone})")
