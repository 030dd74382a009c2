"""The demo district: realistic, Chinese, and the same after a second run."""
from sqlalchemy import func, select

from accounts.models import Organization, User
from core.extensions import db
from core.permissions import Role


def snapshot():
    orgs = db.session.execute(select(Organization.code, Organization.name, Organization.kind, Organization.path)
                              .order_by(Organization.code)).all()
    users = db.session.execute(select(User.phone, User.name, User.role, User.category, User.organization_id,
                                      User.managed_org_id).order_by(User.phone)).all()
    return orgs, users


def test_demo_builds_the_district_and_a_second_run_changes_nothing(runner):
    """(One test: loading the demo costs seconds, and the second run needs the first.)"""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(select(Organization.kind, func.count()).group_by(Organization.kind)).all())
    assert kinds["街道"] >= 3 and kinds["社区"] >= 10 and kinds["小区"] >= 30 and kinds["楼院"] >= 60
    roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert 280 <= roles[Role.MEMBER] <= 320
    assert roles[Role.TRAINER] == 3 and roles[Role.ADMIN] == 1
    assert roles[Role.ORGANIZER] == kinds["街道"] + kinds["社区"]
    assert "13800000000" in result.output  # the demo logins are printed

    first = snapshot()
    second_run = runner.invoke(args=["demo"])
    assert second_run.exit_code == 0, second_run.output
    assert snapshot() == first


def test_demo_if_empty_leaves_a_real_database_alone(runner, make_org, make_user):
    make_user(Role.ADMIN, org=make_org(code="REAL"))
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0
    assert db.session.scalar(select(func.count(User.id))) == 1
