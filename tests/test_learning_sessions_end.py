"""Hole 3 of issue 12: a study session does not outlive the account's access or the lecture. Deactivation, a new
category, a transfer, a deleted lecture, an archived or re-limited course end the open sessions of those
concerned in the same transaction; their next heartbeat answers ``superseded`` and earns nothing.

These tests depend on real commits: the heartbeat runs on its own connection (``engine.begin()``), so the app
here is on a database of its own (``shared_database_app``: a SQLite file, or the PostgreSQL test database)."""
from __future__ import annotations

import pytest

from accounts import services as accounts
from accounts.models import MemberCategory
from core.extensions import db
from core.permissions import Role
from courses import services as courses
from tests.conftest import PASSWORD, IsolatedClient, shared_database_app
from tests.learning_fixtures import Clock, Learner, ledger_seconds, make_course

INTERVAL = 30


@pytest.fixture
def world(tmp_path, make_org, make_user, monkeypatch):
    with shared_database_app(tmp_path, connections=4) as application:
        application.test_client_class = IsolatedClient
        clock = Clock(monkeypatch)
        street = make_org("街道", code="S")
        home, other = make_org("社区一", street, code="S-1"), make_org("社区二", street, code="S-2")
        organizer = make_user(Role.ORGANIZER, org=street)
        member = make_user(Role.MEMBER, org=home)
        bystander = make_user(Role.MEMBER, org=home)
        course, text, video = make_course()
        db.session.commit()

        def page(user, lecture, **beat):
            client = application.test_client()
            client.post("/login", data={"identifier": user.phone, "password": PASSWORD})
            learner = Learner(client, lecture)
            clock.advance(INTERVAL)
            assert learner.beat(**beat)["credited_seconds"] == INTERVAL
            return learner

        yield {"app": application, "clock": clock, "organizer": organizer, "member": member,
               "bystander": bystander, "other": other, "course": course, "text": text, "video": video,
               "page": page}


def next_beat(world, learner) -> dict:
    world["clock"].advance(INTERVAL)
    return learner.beat()


def test_deactivation_ends_the_members_session(world):
    learner = world["page"](world["member"], world["text"])
    admin = world["app"].test_client()
    admin.post("/login", data={"identifier": world["organizer"].phone, "password": PASSWORD})
    response = admin.post(f"/members/{world['member'].id}/active", data={"active": "0"})
    assert response.status_code == 302
    answer = next_beat(world, learner)
    assert answer["status"] == "superseded" and answer["credited_seconds"] == 0
    assert ledger_seconds(world["member"]) == INTERVAL


@pytest.mark.parametrize("change", ["transfer", "category"])
def test_transfer_and_new_category_end_the_members_session(world, change):
    learner = world["page"](world["member"], world["text"])
    other_learner = world["page"](world["bystander"], world["text"])
    member = world["member"]
    if change == "transfer":
        accounts.transfer_member(member, world["other"], by=world["organizer"])
    else:
        accounts.update_member(member, name=member.name, phone=member.phone, category=MemberCategory.PUBLIC,
                               positions=[])
    db.session.commit()
    assert next_beat(world, learner)["status"] == "superseded"
    assert learner.beat()["credited_seconds"] == 0
    assert other_learner.beat()["status"] == "credited"  # nobody else's
    assert ledger_seconds(member) == INTERVAL


def test_deleted_lecture_ends_its_sessions_only(world):
    on_text = world["page"](world["member"], world["text"])
    on_video = world["page"](world["bystander"], world["video"], playing=True, position=INTERVAL)
    courses.delete_lecture(world["text"], world["organizer"])
    db.session.commit()
    assert next_beat(world, on_text)["status"] == "superseded"
    world["clock"].advance(INTERVAL)
    assert on_video.beat(playing=True, position=2 * INTERVAL)["credited_seconds"] == INTERVAL
    assert ledger_seconds(world["member"]) == INTERVAL


@pytest.mark.parametrize("change", ["limited", "archived"])
def test_course_out_of_sight_ends_the_sessions_of_those_who_cannot_see_it(world, change):
    learner = world["page"](world["member"], world["text"])
    if change == "limited":
        courses.update_course(world["course"], world["organizer"], org=world["other"])
        expected = "superseded"  # the member's community is outside the new limit
    else:
        courses.archive(world["course"], world["organizer"])
        expected = "credited"  # an archived course stays reachable for its learners (courses.visibility)
    db.session.commit()
    assert next_beat(world, learner)["status"] == expected


def test_idle_sessions_are_closed_by_the_cron_command(world):
    learner = world["page"](world["member"], world["text"])
    world["clock"].advance(2 * 3600 + 1)
    result = world["app"].test_cli_runner().invoke(args=["hours", "close-idle-sessions"])
    assert "closed 1 idle study sessions" in result.output
    world["clock"].advance(INTERVAL)
    assert learner.beat()["status"] == "superseded"
