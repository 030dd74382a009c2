"""Offline classes are managed within the organizer's subtree (finding 1) and their check-in codes cannot be
guessed (finding 2): codes are checked only against classes the member may attend, wrong codes are throttled
per user and per address, and the code is long enough that a throttled guesser expects a hit once in years."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from learning import offline
from learning.models import CheckIn
from tests.learning_fixtures import T0, Clock, ledger_seconds, make_course


@pytest.fixture
def two_classes(app, grid, monkeypatch):
    """A class hosted by community R-1-1 (street 1) and one by community R-2-1 (street 2), both open now."""
    clock = Clock(monkeypatch)
    course, _, _ = make_course("广场党课")
    near, far = grid["communities"][0], grid["communities"][2]
    classes = {}
    for org, who in ((near, grid[f"organizer_{near.code}"]), (far, grid[f"organizer_{far.code}"])):
        classes[org.code] = offline.schedule_class(
            course=course, title=f"{org.name}广场党课", place=f"{org.name}广场", starts_at=T0 + timedelta(minutes=10),
            ends_at=T0 + timedelta(minutes=100), org=org, by=who)
    db.session.commit()
    clock.advance(15 * 60)
    return clock, classes[near.code], classes[far.code]


# --- finding 1: organizer scope ------------------------------------------------------------------------------

def test_an_organizer_sees_and_runs_only_classes_of_their_subtree(two_classes, grid, auth, client):
    _, near, far = two_classes
    auth.login(grid["organizer_R-1-1"])
    listing = client.get("/offline/").get_data(as_text=True)
    assert near.title in listing and far.title not in listing
    for path in (f"/offline/{far.id}/screen", f"/offline/{far.id}/roster"):
        assert client.get(path).status_code == 404, path
    code = offline.current_code(far)[0]
    assert client.get(f"/offline/{near.id}/screen").status_code == 200
    own_member = grid["members"]["R-1-1"][0]
    assert client.post(f"/offline/{far.id}/roster/{own_member.id}").status_code == 404
    page = client.get(f"/offline/{near.id}/screen").get_data(as_text=True)
    assert code not in page  # the other class's live code is never shown
    assert db.session.scalar(select(func.count(CheckIn.id))) == 0
    assert ledger_seconds(own_member) == 0


def test_organizers_above_and_admins_manage_a_class_siblings_do_not(two_classes, grid, auth, client):
    _, near, _ = two_classes
    for user, expected in ((grid["street_organizer"], 200), (grid["admin"], 200),
                           (grid["organizer_R-1-2"], 404), (grid["trainer"], 404)):
        auth.login(user)
        assert client.get(f"/offline/{near.id}/screen").status_code == expected, user.name
        if user.role.value == "organizer":
            assert client.get(f"/offline/{near.id}/roster").status_code == expected, user.name
        auth.logout()


# --- finding 2: who may check in, and with what --------------------------------------------------------------

def test_a_code_is_checked_only_against_classes_the_member_may_attend(two_classes, grid, auth, client):
    _, near, far = two_classes
    member = grid["members"]["R-1-1"][0]  # street 1
    auth.login(member)
    far_code = offline.current_code(far)[0]
    page = client.post("/check-in", data={"code": far_code}, follow_redirects=True).get_data(as_text=True)
    assert "签到码不正确" in page
    assert client.post(f"/offline/{far.id}/check-in", data={"code": far_code}).status_code == 404
    assert ledger_seconds(member) == 0
    done = client.post("/check-in", data={"code": offline.current_code(near)[0]}, follow_redirects=True)
    assert "签到成功" in done.get_data(as_text=True)
    assert ledger_seconds(member) == 90 * 60


def test_a_public_learner_may_check_in_only_to_public_classes(two_classes, grid, auth, client):
    clock, near, _ = two_classes
    course, _, _ = make_course("公开党课")
    open_class = offline.schedule_class(course=course, title="公开课", place="文化广场", starts_at=T0,
                                        ends_at=T0 + timedelta(hours=3), by=grid["trainer"])
    db.session.commit()
    auth.login(grid["public"])
    refused = client.post("/check-in", data={"code": offline.current_code(near)[0]}, follow_redirects=True)
    assert "签到码不正确" in refused.get_data(as_text=True)
    done = client.post("/check-in", data={"code": offline.current_code(open_class)[0]}, follow_redirects=True)
    assert "签到成功" in done.get_data(as_text=True)


def test_wrong_codes_are_throttled_per_user_then_even_the_right_code_waits(two_classes, grid, auth, client, app):
    clock, near, _ = two_classes
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    right = offline.current_code(near)[0]
    wrong = f"{(int(right) + 1) % 10 ** offline.CODE_DIGITS:0{offline.CODE_DIGITS}d}"
    answers = [client.post("/check-in", data={"code": wrong}).status_code for _ in range(11)]
    assert answers == [200] * 10 + [429]
    blocked = client.post("/check-in", data={"code": right})
    assert blocked.status_code == 429 and "次数过多" in blocked.get_data(as_text=True)
    assert client.post(f"/offline/{near.id}/check-in", data={"code": right}, follow_redirects=True) \
        .get_data(as_text=True).count("次数过多") == 1
    assert ledger_seconds(member) == 0
    clock.advance(app.config["CHECKIN_WINDOW_SECONDS"] + 1)  # the window ends: a right code is accepted again
    done = client.post("/check-in", data={"code": offline.current_code(near)[0]}, follow_redirects=True)
    assert "签到成功" in done.get_data(as_text=True)


def test_wrong_codes_are_throttled_per_address_across_accounts(two_classes, grid, auth, client, app):
    _, near, _ = two_classes
    app.config["CHECKIN_MAX_FAILURES_PER_ADDRESS"] = 4
    statuses = []
    for member in (*grid["members"]["R-1-1"], *grid["members"]["R-1-2"]):
        auth.login(member)
        statuses.append(client.post("/check-in", data={"code": "00000000"}).status_code)
        statuses.append(client.post("/check-in", data={"code": "00000001"}).status_code)
        auth.logout()
    assert statuses == [200] * 4 + [429] * 4


def test_right_codes_do_not_use_up_the_allowance(two_classes, grid, auth, client, app):
    clock, near, _ = two_classes
    app.config["CHECKIN_MAX_FAILURES"] = 2
    near.checkout_required = True
    db.session.commit()
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert "签到成功" in client.post("/check-in", data={"code": offline.current_code(near)[0]},
                                    follow_redirects=True).get_data(as_text=True)
    client.post("/check-in", data={"code": "00000000"})
    clock.advance(40 * 60)
    out = client.post(f"/offline/{near.id}/check-in", data={"code": offline.current_code(near)[0]},
                      follow_redirects=True).get_data(as_text=True)
    assert "签退成功" in out


def test_the_code_is_long_enough_that_a_throttled_guesser_waits_years(app):
    """Expected time to one hit for a user guessing at the throttle's pace against classes open to them."""
    code = offline.code_for(1, 1)
    assert len(code) == offline.CODE_DIGITS == 8 and code.isdigit()
    cfg = app.config
    guesses_per_year = cfg["CHECKIN_MAX_FAILURES"] * (365 * 24 * 3600 / cfg["CHECKIN_WINDOW_SECONDS"])
    assert guesses_per_year == 525_600
    accepted_slots, open_classes = 2, 10  # the current and the previous code; ten classes open to them at once
    hits_per_year = guesses_per_year * open_classes * accepted_slots / 10 ** offline.CODE_DIGITS
    assert 1 / hits_per_year > 9  # years to a hit (six digits: 1/10.5 of a year)
    assert 1 / (guesses_per_year * open_classes * accepted_slots / 10 ** 6) < 1
