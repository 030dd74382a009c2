"""The heartbeat engine against a learner's behaviour, with the server's clock moved by the test.

An honest learner loses (almost) nothing; every trick earns nothing beyond the real time of honest study."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from learning.models import HourEntry, LectureProgress, StudySession
from tests.conftest import AuthActions
from tests import learning_fixtures
from tests.learning_fixtures import Learner, ledger_seconds

# heartbeats are credited on a connection of their own (learning.study): they need real commits
pytestmark = pytest.mark.usefixtures("committing_app")

INTERVAL = 30
setup = learning_fixtures.setup  # the fixture: a logged-in member, a course, a movable clock



def test_honest_reader_loses_less_than_two_percent(setup):
    clock, member, text, _, client = setup
    page = Learner(client, text)
    minutes = 40
    for _ in range(minutes * 60 // INTERVAL):
        clock.advance(INTERVAL + 0.4)  # network and timer jitter
        assert page.beat(idle=5)["status"] == "credited"
    real = minutes * 60 * (INTERVAL + 0.4) / INTERVAL
    assert ledger_seconds(member) >= 0.98 * real
    assert ledger_seconds(member) <= real + 1
    # every entry names its session and heartbeat
    refs = db.session.scalars(select(HourEntry.source_ref).where(HourEntry.user_id == member.id)).all()
    assert refs[0].startswith("session:") and ":seq:" in refs[0] and len(set(refs)) == len(refs)


def test_hidden_tab_earns_nothing(setup):
    clock, member, text, _, client = setup
    page = Learner(client, text)
    for _ in range(10):
        clock.advance(INTERVAL)
        assert page.beat(visible=False)["status"] == "hidden"
    assert ledger_seconds(member) == 0


def test_idle_text_page_stops_earning_after_presence_timeout(setup, app):
    clock, member, text, _, client = setup
    timeout = app.config["PRESENCE_TIMEOUT_SECONDS"]
    page = Learner(client, text)
    idle = 0
    statuses = []
    for _ in range(20):  # ten minutes without touching the page
        clock.advance(INTERVAL)
        idle += INTERVAL
        statuses.append(page.beat(idle=idle)["status"])
    assert ledger_seconds(member) == timeout  # credited up to the moment presence lapsed, not a second more
    assert statuses[-1] == "away"


def test_second_tab_takes_over_and_first_stops(setup):
    clock, member, text, video, client = setup
    first = Learner(client, text)
    clock.advance(INTERVAL)
    first.beat()
    second = Learner(client, video)  # another tab (same cookie)
    for _ in range(10):
        clock.advance(INTERVAL)
        assert first.beat()["status"] == "superseded"
        second.beat(playing=True, position=second.position + INTERVAL)
    assert ledger_seconds(member) == 11 * INTERVAL  # real time, once


def test_second_device_takes_over(setup, app):
    clock, member, text, _, client = setup
    laptop = Learner(client, text)
    phone_client = app.test_client()
    phone = Learner(phone_client, text, headers=AuthActions(phone_client).token(member))
    for _ in range(10):
        clock.advance(INTERVAL)
        assert laptop.beat()["status"] == "superseded"
        assert phone.beat()["status"] == "credited"
    assert ledger_seconds(member) == 10 * INTERVAL


def test_video_seeked_to_end_earns_only_watched_time_and_does_not_complete(setup):
    clock, member, _, video, client = setup
    page = Learner(client, video)
    clock.advance(INTERVAL)
    page.beat(playing=True, position=30)
    clock.advance(INTERVAL)
    result = page.beat(playing=True, position=595, segment_start=590)  # jumped from 30 to 590
    clock.advance(5)
    result = page.beat(playing=False, position=600, segment_start=595, idle=999)  # ended, learner gone
    assert result["watched_share"] == pytest.approx(35 / 600, abs=0.01)
    assert result["completed"] is False
    assert ledger_seconds(member) == 30 + 5  # what was played: 0-30 and 590-595; the jump and the end earn nothing
    assert db.session.scalar(select(LectureProgress.completed_at)) is None


@pytest.mark.parametrize("rate", [16, 0.1])
def test_video_at_a_rate_outside_the_allowed_earns_nothing_and_watches_nothing(setup, rate):
    clock, member, _, video, client = setup
    page = Learner(client, video)
    for i in range(1, 3):
        clock.advance(INTERVAL)
        result = page.beat(playing=True, position=min(600, rate * INTERVAL * i), rate=rate)
        assert result["status"] == "rate"
    assert ledger_seconds(member) == 0
    assert result["watched_share"] == 0 and not result["completed"]


def test_video_never_played_earns_nothing_however_visible(setup):
    """Hole 1: a video page open, never played, nobody touching it (idle 90 s): nothing."""
    clock, member, _, video, client = setup
    page = Learner(client, video)
    for _ in range(10):
        clock.advance(INTERVAL)
        result = page.beat(playing=False, idle=90)
        assert result["status"] == "paused" and result["credited_seconds"] == 0
    for _ in range(5):  # paused but the learner moving the mouse: still nothing
        clock.advance(INTERVAL)
        assert page.beat(playing=False, idle=0, position=0)["credited_seconds"] == 0
    assert ledger_seconds(member) == 0


def test_ended_video_left_open_earns_nothing_more(setup):
    """Hole 1: after the end, however long the page stays open and "playing" is claimed, nothing more."""
    clock, member, _, video, client = setup
    page = Learner(client, video)
    for i in range(1, 21):
        clock.advance(INTERVAL)
        page.beat(playing=True, position=30 * i)
    assert ledger_seconds(member) == 600
    for _ in range(20):
        clock.advance(INTERVAL)
        assert page.beat(playing=True, position=600)["credited_seconds"] == 0  # the position no longer advances
    for _ in range(10):
        clock.advance(INTERVAL)
        assert page.beat(playing=False, idle=0, position=600)["credited_seconds"] == 0
    assert ledger_seconds(member) == 600


def test_video_at_one_and_a_half_earns_wall_time_and_rewatching_earns_nothing(setup):
    clock, member, _, video, client = setup
    page = Learner(client, video)
    for i in range(1, 5):
        clock.advance(INTERVAL)
        assert page.beat(playing=True, position=45 * i, rate=1.5)["credited_seconds"] == INTERVAL
    clock.advance(INTERVAL)
    assert page.beat(playing=True, position=30, segment_start=0)["credited_seconds"] == 0  # seen already
    assert ledger_seconds(member) == 4 * INTERVAL


def test_video_watched_through_completes_from_server_intervals(setup):
    clock, member, _, video, client = setup
    page = Learner(client, video)
    for i in range(1, 21):
        clock.advance(INTERVAL)
        result = page.beat(playing=True, position=30 * i)
    assert result["completed"] is True and result["watched_share"] == 1.0
    db.session.expire_all()
    assert db.session.scalar(select(LectureProgress.completed_at)) is not None
    assert ledger_seconds(member) == 600


def test_replayed_and_out_of_order_heartbeats_credit_once(setup):
    clock, member, text, _, client = setup
    page = Learner(client, text)
    clock.advance(INTERVAL)
    assert page.beat(seq=2)["credited_seconds"] == INTERVAL
    assert page.beat(seq=2)["status"] == "stale"  # replayed
    assert page.beat(seq=1)["status"] == "stale"  # late and out of order
    clock.advance(INTERVAL)
    assert page.beat(seq=5)["credited_seconds"] == INTERVAL
    assert page.beat(seq=3)["status"] == "stale"
    assert ledger_seconds(member) == 2 * INTERVAL


def test_script_beating_every_second_earns_real_time_only(setup):
    clock, member, text, _, client = setup
    page = Learner(client, text)
    for _ in range(300):
        clock.advance(1)
        page.beat()
    assert ledger_seconds(member) == 300


def test_future_client_timestamps_are_ignored(setup):
    clock, member, text, _, client = setup
    page = Learner(client, text)
    clock.advance(INTERVAL)
    page.beat(client_time="2099-01-01T00:00:00Z", elapsed=86400)
    clock.advance(INTERVAL)
    page.beat(client_time="2099-01-02T00:00:00Z")
    assert ledger_seconds(member) == 2 * INTERVAL


def test_tab_left_open_overnight_earns_one_interval_per_gap(setup):
    clock, member, text, _, client = setup
    page = Learner(client, text)
    clock.advance(INTERVAL)
    page.beat()
    clock.advance(3600)  # the laptop slept an hour; the first heartbeat after waking claims "active"
    assert page.beat()["credited_seconds"] == INTERVAL
    idle = 0
    for _ in range(3600 // INTERVAL):  # an hour with the page visible and nobody there
        clock.advance(INTERVAL)
        idle += INTERVAL
        page.beat(idle=idle)
    assert ledger_seconds(member) == 2 * INTERVAL + 120  # the presence timeout, then nothing


def test_session_without_heartbeat_for_two_hours_is_closed(setup):
    """Hole 3: a session left without heartbeats for STUDY_SESSION_EXPIRE_SECONDS is closed; the page must
    start a new one (which begins earning from then)."""
    clock, member, text, _, client = setup
    page = Learner(client, text)
    clock.advance(INTERVAL)
    page.beat()
    clock.advance(2 * 3600 + 1)
    result = page.beat()
    assert result["status"] == "expired" and result["credited_seconds"] == 0
    clock.advance(INTERVAL)
    assert page.beat()["status"] == "superseded"
    assert db.session.scalar(select(StudySession.superseded_at)) is not None
    assert ledger_seconds(member) == INTERVAL


def test_idle_reader_earns_only_until_the_presence_timeout(setup, app):
    """Hole 5: the window counts until 120 s after the last input, not a full extra 180 s per absence."""
    assert app.config["PRESENCE_TIMEOUT_SECONDS"] == 120
    clock, member, text, _, client = setup
    page = Learner(client, text)
    for i in range(1, 61):  # 30 minutes, no input after the start
        clock.advance(INTERVAL)
        page.beat(idle=INTERVAL * i)
    assert ledger_seconds(member) == 120


def test_daily_cap_is_on_by_default(app):
    assert app.config["DAILY_ONLINE_CAP_SECONDS"] == 8 * 3600


def test_lecture_cap_stops_credit_at_reading_time(setup):
    clock, member, text, _, client = setup
    page = Learner(client, text)  # reading time 3600 s
    for _ in range(150):
        clock.advance(INTERVAL)
        result = page.beat()
    assert ledger_seconds(member) == 3600
    assert result["status"] == "capped" and result["completed"] is True


def test_daily_cap(setup, app):
    app.config["DAILY_ONLINE_CAP_SECONDS"] = 600
    clock, member, text, _, client = setup
    page = Learner(client, text)
    for _ in range(40):
        clock.advance(INTERVAL)
        result = page.beat()
    assert result["status"] == "day_capped"
    assert ledger_seconds(member) == 600
    clock.advance(24 * 3600)
    page = Learner(client, text)  # the next day, a new session
    clock.advance(INTERVAL)
    assert page.beat()["credited_seconds"] == INTERVAL


def test_wrong_credential_is_refused(setup):
    clock, member, text, video, client = setup
    page = Learner(client, text)
    response = client.post(f"/api/v1/lectures/{text.id}/heartbeat",
                           json={"session": page.session.split(".")[0] + ".forged", "seq": 1})
    assert response.status_code == 401
    response = client.post(f"/api/v1/lectures/{video.id}/heartbeat", json={"session": page.session, "seq": 1})
    assert response.status_code == 401  # a session belongs to its lecture


def test_heartbeats_skip_the_flask_cycle_and_refusals_get_the_views_answer(setup, app):
    """The WSGI fast path answers an ordinary heartbeat itself (no request context, no cookie); what it cannot
    answer exactly as the view would (a forged credential, a malformed body) goes to the view."""
    from flask import request_started

    clock, member, text, _, client = setup
    page = Learner(client, text)
    cycles = []

    def started(sender, **extra):
        cycles.append(1)

    request_started.connect(started, app)
    try:
        clock.advance(INTERVAL)
        response = client.post(f"/api/v1/lectures/{text.id}/heartbeat",
                               json={"session": page.session, "seq": 1, "visible": True, "idle_seconds": 3})
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.get_json()["credited_seconds"] == INTERVAL and "Set-Cookie" not in response.headers
        assert cycles == []
        forged = client.post(f"/api/v1/lectures/{text.id}/heartbeat",
                             json={"session": page.session.split(".")[0] + ".forged", "seq": 2, "visible": True})
        malformed = client.post(f"/api/v1/lectures/{text.id}/heartbeat", data="seq=2",
                                content_type="application/x-www-form-urlencoded")
        assert (forged.status_code, malformed.status_code) == (401, 400)
        assert forged.get_json()["error"]["code"] == "unauthorized" and len(cycles) == 2
    finally:
        request_started.disconnect(started, app)
    assert ledger_seconds(member) == INTERVAL
