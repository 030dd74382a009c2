"""The member's .ics feed: parses with the icalendar package, escapes Chinese text with , ; \\ and newlines,
folds long lines at 75 octets without splitting a character, follows a moved or cancelled session, and
answers a wrong secret with a bare 404."""
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from core import clock
from core.extensions import db
from classes import services
from classes.calendar import escape_text, fold
from tests.classes_helpers import add_session, at, make_class

TRICKY = "党章学习，第一讲; 讨论,交流\\反思\n第二行：联系实际"
LONG_PLACE = "睢阳区古城街道新时代文明实践站二楼多功能厅（东侧入口，凭党员证入场；请提前十分钟到达）" * 2


@pytest.fixture
def feed_setting(app, grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 2, 20, 2, 0))
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    member, other = grid["members"][community.code]
    training_class = make_class(organizer, community, name="2026年第一期发展对象培训班")
    services.add_roster_members(training_class, [member], organizer)
    first = add_session(training_class, organizer, 3, title=TRICKY, place=LONG_PLACE)
    second = add_session(training_class, organizer, 5, title="专题党课")
    token = services.calendar_token(member)
    db.session.commit()
    return {"class": training_class, "organizer": organizer, "member": member, "other": other, "first": first,
            "second": second, "url": f"/classes/calendar/{token}.ics"}


def events(response) -> dict[str, object]:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.data)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_feed_parses_and_escapes_chinese_text(client, feed_setting):
    found = events(client.get(feed_setting["url"]))
    assert len(found) == 2
    event = next(e for e in found.values() if str(e["SUMMARY"]) == TRICKY)  # every , ; \ and newline survives
    assert str(event["LOCATION"]) == LONG_PLACE
    assert event.decoded("DTSTART") == at(3).replace(tzinfo=timezone.utc)
    assert event.decoded("DTEND") == (at(3) + timedelta(hours=2)).replace(tzinfo=timezone.utc)
    assert "2026年第一期发展对象培训班" in str(event["DESCRIPTION"]) and "王老师" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"


def test_long_lines_fold_at_75_octets_without_splitting_a_character(client, feed_setting):
    raw = client.get(feed_setting["url"]).data
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the long place was folded
    for line in lines:
        line.decode("utf-8")  # a folded piece never ends inside a character
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    folded = fold("X:" + "😀" * 40).split(b"\r\n")
    assert all(len(piece) <= 75 for piece in folded) and all(piece.decode("utf-8") for piece in folded[:-1])


def test_a_moved_session_keeps_its_uid_and_updates(client, feed_setting, monkeypatch):
    before = events(client.get(feed_setting["url"]))
    uid = next(u for u, e in before.items() if str(e["SUMMARY"]) == "专题党课")
    assert before[uid]["SEQUENCE"] == 0

    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 2, 25, 3, 0))
    notified = services.move_session(feed_setting["second"], feed_setting["organizer"], starts_at=at(6, 6),
                                     ends_at=at(6, 8), place="街道党校报告厅", reason="与区委会议冲突")
    db.session.commit()
    assert notified == 1
    after = events(client.get(feed_setting["url"]))
    assert set(after) == set(before)  # the same UIDs: calendar apps update, not duplicate
    moved = after[uid]
    assert moved["SEQUENCE"] > before[uid]["SEQUENCE"]
    assert moved.decoded("DTSTART") == at(6, 6).replace(tzinfo=timezone.utc)
    assert str(moved["LOCATION"]) == "街道党校报告厅"
    assert moved.decoded("LAST-MODIFIED") == datetime(2026, 2, 25, 3, 0, tzinfo=timezone.utc)


def test_a_cancelled_session_stays_with_status_cancelled(client, feed_setting):
    services.cancel_session(feed_setting["first"], feed_setting["organizer"], "暴雨预警")
    db.session.commit()
    cancelled = next(e for e in events(client.get(feed_setting["url"])).values() if str(e["SUMMARY"]) == TRICKY)
    assert str(cancelled["STATUS"]) == "CANCELLED" and cancelled["SEQUENCE"] == 1
    assert "暴雨预警" in str(cancelled["DESCRIPTION"])


def test_only_the_members_own_classes(client, feed_setting, grid):
    other_token = services.calendar_token(feed_setting["other"])
    db.session.commit()
    assert events(client.get(f"/classes/calendar/{other_token}.ics")) == {}  # not on any roster


def test_a_wrong_secret_leaks_nothing(client, feed_setting):
    good = feed_setting["url"]
    token = good.rsplit("/", 1)[1][:-4]
    user_id, mac = token.split("-")
    wrong = [f"{user_id}-{'0' * 32}", f"{int(user_id) + 999}-{mac}", f"{user_id}-{mac[:-1]}", "x", f"{mac}-{user_id}"]
    bodies = set()
    for candidate in wrong:
        response = client.get(f"/classes/calendar/{candidate}.ics")
        assert response.status_code == 404
        assert "text/calendar" not in response.headers["Content-Type"]
        text = response.get_data(as_text=True)
        assert feed_setting["member"].name not in text and "专题党课" not in text and "培训班" not in text
        bodies.add(response.data)
    assert len(bodies) == 1  # every wrong token looks the same

    services.reset_calendar_token(feed_setting["member"])  # a reset makes the old URL worthless
    db.session.commit()
    assert client.get(good).status_code == 404
    assert client.get(f"/classes/calendar/{services.calendar_token(feed_setting['member'])}.ics").status_code == 200


def test_notices_follow_a_moved_session(client, feed_setting, auth):
    services.move_session(feed_setting["second"], feed_setting["organizer"], starts_at=at(6, 6), ends_at=at(6, 8),
                          place="街道党校报告厅", reason="与区委会议冲突")
    db.session.commit()
    member = feed_setting["member"]
    notices = services.unread_notices(member)
    assert len(notices) == 1 and services.unread_notices(feed_setting["other"]) == []
    text = services.notice_text(notices[0])
    assert "专题党课" in text and "2026-03-06 14:00" in text and "街道党校报告厅" in text and "与区委会议冲突" in text
    assert services.mark_notice_read(member, notices[0].id)
    assert services.unread_notices(member) == []
