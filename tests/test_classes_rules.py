"""Graduation rules (结业条件), each alone and combined, and who the board shows at risk."""
from datetime import datetime

import pytest

from core import clock
from core.extensions import db
from classes import services
from classes.models import ParticipantStatus
from learning.ledger import record_entry
from learning.models import HourSource
from tests.classes_helpers import (add_session, attend, complete_course, make_class, make_course, make_exam,
                                   sit_exam)

AFTER = datetime(2026, 3, 25, 2, 0)  # the class is over
MIDWAY = datetime(2026, 3, 11, 2, 0)


@pytest.fixture
def setting(app, grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: AFTER)
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    members = grid["members"][community.code]
    training_class = make_class(organizer, community)
    services.add_roster_members(training_class, members, organizer)
    db.session.commit()
    return training_class, organizer, members


def standings(training_class):
    return {row.user.id: row for row in services.board(training_class).rows}


def test_required_items_alone(setting):
    training_class, organizer, (a, b) = setting
    course = make_course()
    optional = make_course("选学课程")
    exam = make_exam()
    services.add_course_item(training_class, course, organizer, required=True)
    services.add_course_item(training_class, optional, organizer, required=False)
    services.add_exam_item(training_class, exam, organizer, required=True)
    session = add_session(training_class, organizer, 5, title="党章专题辅导")
    services.set_graduation_rules(training_class, organizer, required_items=True)
    db.session.commit()
    for member in (a, b):
        complete_course(member, course)
        sit_exam(member, exam, 90)
    attend(session, a, organizer)

    rows = standings(training_class)
    assert rows[a.id].meets_all and rows[a.id].rule("required_items").value == 3
    rule = rows[b.id].rule("required_items")
    assert not rule.met and (rule.value, rule.threshold) == (2, 3)
    assert rule.missing == ["党章专题辅导"]  # the optional course is not asked for
    assert rows[b.id].missed == ["required_items"]


def test_attendance_alone_counts_held_sessions_and_skips_cancelled(setting):
    training_class, organizer, (a, b) = setting
    sessions = [add_session(training_class, organizer, day) for day in (3, 5, 10, 12)]
    services.set_graduation_rules(training_class, organizer, min_attendance_percent=75)
    db.session.commit()
    for s in sessions[:3]:
        attend(s, a, organizer)
    for s in sessions[:2]:
        attend(s, b, organizer)

    rows = standings(training_class)
    assert rows[a.id].rule("attendance").value == 75.0 and rows[a.id].meets_all
    assert rows[b.id].rule("attendance").value == 50.0 and not rows[b.id].meets_all

    services.cancel_session(sessions[3], organizer, "场地维修")  # nobody came; it no longer counts
    db.session.commit()
    rows = standings(training_class)
    assert rows[a.id].rule("attendance").value == 100.0
    assert rows[b.id].rule("attendance").value == pytest.approx(66.7)
    assert rows[b.id].missed == ["attendance"]


def test_exam_alone_a_retake_that_passes_counts(setting):
    training_class, organizer, (a, b) = setting
    exam = make_exam()
    services.add_exam_item(training_class, exam, organizer, required=False)  # the exam rule covers every exam
    services.set_graduation_rules(training_class, organizer, exam_pass=True)
    db.session.commit()
    sit_exam(a, exam, 80)
    sit_exam(b, exam, 40)
    rows = standings(training_class)
    assert rows[a.id].meets_all and not rows[b.id].meets_all and rows[b.id].missed == ["exam"]
    sit_exam(b, exam, 70)
    assert standings(training_class)[b.id].meets_all


def test_hours_alone_count_only_inside_the_class_period(setting):
    training_class, organizer, (a, b) = setting
    first, second = add_session(training_class, organizer, 4), add_session(training_class, organizer, 6)
    services.set_graduation_rules(training_class, organizer, min_hours_seconds=3 * 3600)
    db.session.commit()
    attend(first, a, organizer)
    attend(second, a, organizer)
    attend(first, b, organizer)
    record_entry(user_id=b.id, seconds=7200, source=HourSource.MANUAL, source_ref="before-class",
                 occurred_at=datetime(2026, 2, 20, 2, 0))  # earned before the class began
    db.session.commit()
    rows = standings(training_class)
    assert rows[a.id].hours_seconds == 4 * 3600 and rows[a.id].meets_all
    assert rows[b.id].hours_seconds == 2 * 3600 and rows[b.id].missed == ["hours"]


def test_rules_combined_name_exactly_the_rules_missed(setting):
    training_class, organizer, (a, b) = setting
    course, exam = make_course(), make_exam()
    services.add_course_item(training_class, course, organizer)
    services.add_exam_item(training_class, exam, organizer)
    sessions = [add_session(training_class, organizer, day) for day in (3, 10)]
    services.set_graduation_rules(training_class, organizer, required_items=True, min_attendance_percent=50,
                                  exam_pass=True, min_hours_seconds=2 * 3600)
    db.session.commit()
    for member in (a, b):
        complete_course(member, course)
        attend(sessions[0], member, organizer)
    attend(sessions[1], a, organizer)
    sit_exam(a, exam, 95)
    sit_exam(b, exam, 30)

    rows = standings(training_class)
    assert [r.key for r in rows[a.id].rules] == ["required_items", "attendance", "exam", "hours"]
    assert rows[a.id].meets_all
    # b: missed the second (required) session and failed the exam; attendance 50% and 2 学时 are enough
    assert rows[b.id].missed == ["required_items", "exam"]


def test_no_rules_everyone_on_the_roster_qualifies(setting):
    training_class, organizer, (a, b) = setting
    assert all(row.meets_all and row.rules == [] for row in services.board(training_class).rows)


def test_at_risk_while_the_class_runs(setting, monkeypatch):
    training_class, organizer, (a, b) = setting
    sessions = [add_session(training_class, organizer, day) for day in (3, 5, 16, 18)]
    services.set_graduation_rules(training_class, organizer, min_attendance_percent=75)
    db.session.commit()
    attend(sessions[0], a, organizer)
    attend(sessions[1], a, organizer)
    attend(sessions[0], b, organizer)
    monkeypatch.setattr(clock, "utcnow", lambda: MIDWAY)
    result = services.board(training_class)
    rows = {row.user.id: row for row in result.rows}
    assert not rows[a.id].at_risk  # 2 of 2 held so far
    assert rows[b.id].at_risk  # 1 of 2 held: behind the 75% pace
    assert [row.user.id for row in result.at_risk] == [b.id]


def test_standing_of_one_participant_equals_the_board_row(setting):
    training_class, organizer, (a, b) = setting
    session = add_session(training_class, organizer, 3)
    services.set_graduation_rules(training_class, organizer, min_attendance_percent=100)
    db.session.commit()
    attend(session, a, organizer)
    participant = services.participant_of(training_class, a)
    assert participant.status == ParticipantStatus.APPROVED
    mine = services.standing(participant)
    assert [r.as_dict() for r in mine.rules] == [r.as_dict() for r in standings(training_class)[a.id].rules]


def test_the_board_reads_a_fixed_number_of_queries(setting, make_member):
    from tests.course_helpers import count_queries

    training_class, organizer, members = setting
    course, exam = make_course(), make_exam()
    services.add_course_item(training_class, course, organizer)
    services.add_exam_item(training_class, exam, organizer)
    sessions = [add_session(training_class, organizer, day) for day in (3, 5)]
    services.set_graduation_rules(training_class, organizer, required_items=True, min_attendance_percent=50,
                                  exam_pass=True, min_hours_seconds=3600)
    db.session.commit()

    def measure() -> tuple[int, int]:
        db.session.expire_all()
        with count_queries() as counter:
            rows = services.board(training_class).rows
            for row in rows:  # what the page shows of each row
                _ = (row.user.name, row.user.organization and row.user.organization.name, row.missed)
        return len(rows), counter.count

    small = measure()
    extra = [make_member(training_class.host_org, name=f"新学员{i}") for i in range(10)]
    services.add_roster_members(training_class, extra, organizer)
    for member in extra:
        attend(sessions[0], member, organizer)
        complete_course(member, course)
        sit_exam(member, exam, 75)
    large = measure()
    assert (small[0], large[0]) == (2, 12)
    assert large[1] == small[1]  # the same queries for 12 participants as for 2
