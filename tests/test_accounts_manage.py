"""Organizers keep their part of the grid: organizations (create, rename, move a subtree) and members
(add, edit, deactivate, transfer), never outside their subtree."""
from datetime import datetime

import pytest
from sqlalchemy import select

from accounts.models import MembershipPeriod, Organization, Position, User
from core import clock
from core.extensions import db
from learning.hours import earned_seconds
from learning.ledger import record_entry
from learning.models import HourSource


def login(client, user):
    assert client.post("/login", data={"identifier": user.phone, "password": "correct-horse-42"}).status_code == 302


def test_street_organizer_creates_and_renames_within_the_street(client, grid):
    login(client, grid["street_organizer"])
    response = client.post("/organizations/new", data={"name": "新社区", "code": "R-1-9", "kind": "社区",
                                                       "parent_code": "R-1"})
    assert response.status_code == 302
    org = db.session.scalar(select(Organization).where(Organization.code == "R-1-9"))
    assert org.path == grid["streets"][0].path + f"{org.id}/" and org.depth == 2
    response = client.post(f"/organizations/{org.id}/edit", data={"name": "新社区（更名）", "code": "R-1-9", "kind": "社区",
                                                                  "parent_code": "R-1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, org.id).name == "新社区（更名）"
    # not under another street, and not another street's organization
    response = client.post("/organizations/new", data={"name": "越界", "code": "X-1", "kind": "社区", "parent_code": "R-2"})
    assert response.status_code == 400 and db.session.scalar(select(Organization).where(Organization.code == "X-1")) is None
    assert client.get(f"/organizations/{grid['streets'][1].id}/edit").status_code == 404


def test_moving_a_subtree_rewrites_every_path_and_keeps_members_and_hours(client, grid, make_org, make_member):
    street1, street2 = grid["streets"]
    community = grid["communities"][0]  # R-1-1 under street 1
    estate = make_org("小区甲", community, "小区", code="R-1-1-1")
    building = make_org("1号楼", estate, "楼院", code="R-1-1-1-1")
    member = make_member(building)
    record_entry(user_id=member.id, seconds=3600, source=HourSource.ONLINE, source_ref="mv:1",
                 occurred_at=clock.utcnow())
    db.session.commit()
    login(client, grid["admin"])
    response = client.post(f"/organizations/{community.id}/edit", data={
        "name": community.name, "code": community.code, "kind": "社区", "parent_code": street2.code})
    assert response.status_code == 302
    db.session.expire_all()
    moved = {o.code: o for o in db.session.scalars(select(Organization).where(Organization.code.like("R-1-1%")))}
    assert moved["R-1-1"].path == f"{street2.path}{community.id}/" and moved["R-1-1"].parent_id == street2.id
    assert moved["R-1-1-1"].path == f"{street2.path}{community.id}/{estate.id}/" and moved["R-1-1-1"].depth == 3
    assert moved["R-1-1-1-1"].path.startswith(moved["R-1-1-1"].path) and moved["R-1-1-1-1"].depth == 4
    assert db.session.get(User, member.id).organization_id == building.id
    assert earned_seconds(member.id, clock.utcnow().year) == 3600
    # street 1's organizer no longer sees it; street 2's subtree now holds it
    client.post("/logout")
    login(client, grid["street_organizer"])
    assert client.get(f"/members/{member.id}").status_code == 404


def test_cannot_move_an_organization_under_itself(client, grid):
    login(client, grid["admin"])
    street = grid["streets"][0]
    response = client.post(f"/organizations/{street.id}/edit", data={
        "name": street.name, "code": street.code, "kind": "街道", "parent_code": grid["communities"][0].code})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Organization, street.id).parent_id == grid["root"].id


def test_community_organizer_cannot_move_their_own_root(client, grid):
    community = grid["communities"][0]
    login(client, grid[f"organizer_{community.code}"])
    client.post(f"/organizations/{community.id}/edit", data={
        "name": "改名", "code": community.code, "kind": "社区", "parent_code": "R-2"})
    db.session.expire_all()
    assert db.session.get(Organization, community.id).parent_id == grid["streets"][0].id


def test_organizer_adds_edits_and_deactivates_a_member(client, grid):
    community = grid["communities"][0]
    login(client, grid[f"organizer_{community.code}"])
    response = client.post("/members/new", data={"name": "新党员", "phone": "13712345678", "org_code": community.code,
                                                  "category": "probationary", "positions": ["committee"],
                                                  "password": "initial-pass-1"})
    assert response.status_code == 302
    member = db.session.scalar(select(User).where(User.phone == "13712345678"))
    assert member.organization_id == community.id and member.positions == {Position.COMMITTEE}
    response = client.post(f"/members/{member.id}/edit", data={"name": "新党员乙", "phone": "13712345678",
                                                                "org_code": community.code, "category": "full"})
    assert response.status_code == 302
    client.post(f"/members/{member.id}/active", data={"active": "0"})
    db.session.expire_all()
    member = db.session.get(User, member.id)
    assert member.name == "新党员乙" and member.category.value == "full" and member.positions == set()
    assert not member.is_active
    other = client.application.test_client()
    assert other.post("/login", data={"identifier": "13712345678", "password": "initial-pass-1"}).status_code == 401
    # a member of another community: nothing
    stranger = grid["members"]["R-1-2"][0]
    for method, url in (("get", f"/members/{stranger.id}/edit"), ("post", f"/members/{stranger.id}/active"),
                        ("get", f"/members/{stranger.id}/transfer")):
        assert getattr(client, method)(url).status_code == 404
    response = client.post("/members/new", data={"name": "越界", "phone": "13712345679", "org_code": "R-1-2",
                                                  "category": "full", "password": "initial-pass-1"})
    assert response.status_code == 400


def test_transfer_records_history_and_keeps_hours(client, grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 5, 1))
    member = grid["members"]["R-1-1"][0]
    record_entry(user_id=member.id, seconds=7200, source=HourSource.ONLINE, source_ref="tr:1",
                 occurred_at=datetime(2026, 3, 1))
    db.session.commit()
    login(client, grid["street_organizer"])
    response = client.post(f"/members/{member.id}/transfer", data={"org_code": "R-1-2", "note": "搬家"})
    assert response.status_code == 302
    assert client.post(f"/members/{member.id}/transfer", data={"org_code": "R-2-1"}).status_code == 400  # not theirs
    db.session.expire_all()
    history = db.session.scalars(select(MembershipPeriod).where(MembershipPeriod.user_id == member.id)
                                 .order_by(MembershipPeriod.id)).all()
    assert [(p.organization_id, p.started_at, p.ended_at) for p in history] == [
        (grid["communities"][0].id, None, datetime(2026, 5, 1)), (grid["communities"][1].id, datetime(2026, 5, 1), None)]
    assert db.session.get(User, member.id).organization_id == grid["communities"][1].id
    assert earned_seconds(member.id, 2026) == 7200


def test_transfer_outside_the_subtree_is_refused(client, grid):
    community = grid["communities"][0]
    member = grid["members"][community.code][0]
    login(client, grid[f"organizer_{community.code}"])
    response = client.post(f"/members/{member.id}/transfer", data={"org_code": "R-2-1"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, member.id).organization_id == community.id


@pytest.mark.parametrize("path", ["/organizations/new", "/members/new", "/members/import"])
def test_members_cannot_manage(client, grid, path):
    login(client, grid["members"]["R-1-1"][0])
    assert client.get(path).status_code == 403
