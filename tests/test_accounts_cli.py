"""`flask users create`: the first admin of a real deployment, and other accounts."""
from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.permissions import Role


def test_create_first_admin_with_password_from_stdin(runner, client):
    result = runner.invoke(args=["users", "create", "--role", "admin", "--name", "区委管理员", "--phone", "13700001111",
                                 "--password-stdin"], input="a-strong-password\n")
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User).where(User.phone == "13700001111"))
    assert admin.role == Role.ADMIN
    assert client.post("/login", data={"identifier": "13700001111", "password": "a-strong-password"}).status_code == 302


def test_password_prompt(runner):
    result = runner.invoke(args=["users", "create", "--role", "trainer", "--name", "教员", "--phone", "13700002222"],
                           input="prompted-pass\nprompted-pass\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.phone == "13700002222")).check_password("prompted-pass")


def test_organizer_needs_an_existing_org(runner, make_org):
    org = make_org(code="LJ-01")
    missing = runner.invoke(args=["users", "create", "--role", "organizer", "--name", "甲", "--phone", "13700003333",
                                  "--password-stdin"], input="long-enough-1\n")
    assert missing.exit_code != 0 and "--org" in missing.output
    unknown = runner.invoke(args=["users", "create", "--role", "organizer", "--name", "甲", "--phone", "13700003333",
                                  "--org", "NOPE", "--password-stdin"], input="long-enough-1\n")
    assert unknown.exit_code != 0 and "NOPE" in unknown.output
    ok = runner.invoke(args=["users", "create", "--role", "organizer", "--name", "甲", "--phone", "13700003333",
                             "--org", "LJ-01", "--password-stdin"], input="long-enough-1\n")
    assert ok.exit_code == 0, ok.output
    organizer = db.session.scalar(select(User).where(User.phone == "13700003333"))
    assert organizer.managed_org_id == org.id


def test_member_with_org_and_bad_inputs(runner, make_org):
    make_org(code="G1")
    ok = runner.invoke(args=["users", "create", "--role", "member", "--name", "乙", "--phone", "13700004444", "--org", "G1",
                             "--position", "secretary", "--password-stdin"], input="long-enough-1\n")
    assert ok.exit_code == 0, ok.output
    duplicate = runner.invoke(args=["users", "create", "--role", "member", "--name", "丙", "--phone", "13700004444",
                                    "--org", "G1", "--password-stdin"], input="long-enough-1\n")
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    bad_phone = runner.invoke(args=["users", "create", "--role", "trainer", "--name", "丁", "--phone", "12345",
                                    "--password-stdin"], input="long-enough-1\n")
    assert bad_phone.exit_code != 0 and "11-digit" in bad_phone.output
    short = runner.invoke(args=["users", "create", "--role", "trainer", "--name", "丁", "--phone", "13700005555",
                                "--password-stdin"], input="short\n")
    assert short.exit_code != 0
    assert db.session.scalar(select(db.func.count(User.id))) == 1
