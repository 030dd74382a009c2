"""Organizers make a course required (必修) for a subtree: its members are enrolled, and only they."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from accounts.models import MemberCategory
from core import clock
from core.extensions import db
from courses.models import Audience, RequiredAssignment
from courses import enrollments
from courses.models import Enrollment, EnrollmentSource, LectureProgress
from tests.course_helpers import count_queries, make_course


def enrolled_ids(course):
    return set(db.session.scalars(select(Enrollment.user_id).where(Enrollment.course_id == course.id)))


def test_assignment_enrolls_the_subtree_and_only_it(client, auth, grid, make_member):
    course = make_course(grid["trainer"], audience=Audience.MEMBERS)
    street = grid["streets"][0]
    crowd = make_member(grid["communities"][0], category=MemberCategory.PUBLIC)  # not admitted to members-only
    auth.login(grid["street_organizer"])
    response = client.post("/required-courses/", data={"course_id": course.id, "org_code": street.code,
                                                       "due_date": "2026-12-31"})
    assert response.status_code == 302
    inside = {m.id for code in ("R-1-1", "R-1-2") for m in grid["members"][code]}
    assert enrolled_ids(course) == inside
    assert crowd.id not in enrolled_ids(course)
    assert set(db.session.scalars(select(Enrollment.source))) == {EnrollmentSource.ASSIGNED}
    db.session.refresh(course)
    assert course.enrollment_count == 4
    page = client.get("/required-courses/").get_data(as_text=True)
    assert course.title in page and "2026-12-31" in page


def test_enrolment_is_one_statement_however_many_members(app, grid, make_member):
    course = make_course(grid["trainer"])
    for _ in range(30):
        make_member(grid["communities"][0])
    with count_queries() as counter:
        enrollments.assign_required(course, grid["root"], date(2026, 12, 31), grid["admin"])
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT INTO ENROLLMENTS")]
    assert len(inserts) == 1
    assert counter.count < 15  # a handful, whatever the number of members
    assert len(enrolled_ids(course)) == 30 + 8


def test_organizer_cannot_assign_outside_their_subtree(client, auth, grid):
    course = make_course(grid["trainer"])
    auth.login(grid["organizer_R-1-1"])
    response = client.post("/required-courses/", data={"course_id": course.id, "org_code": "R-2-1",
                                                       "due_date": "2026-12-31"})
    assert response.status_code == 400
    assert "只能指派给您管理范围内的组织" in response.get_data(as_text=True)
    assert enrolled_ids(course) == set()


def test_organizer_sees_and_revokes_only_assignments_in_scope(client, auth, grid):
    course = make_course(grid["trainer"])
    mine = enrollments.assign_required(course, grid["communities"][0], date(2026, 9, 1), grid["admin"])
    theirs = enrollments.assign_required(course, grid["communities"][2], date(2026, 9, 2), grid["admin"])
    db.session.commit()
    auth.login(grid["organizer_R-1-1"])
    page = client.get("/required-courses/").get_data(as_text=True)
    assert "2026-09-01" in page and "2026-09-02" not in page
    assert client.post(f"/required-courses/{theirs.id}/revoke").status_code == 404
    assert client.post(f"/required-courses/{mine.id}/revoke").status_code == 302
    db.session.expire_all()
    assert mine.revoked_at is not None and theirs.revoked_at is None


def test_unassign_keeps_enrollments_and_progress(app, grid):
    course = make_course(grid["trainer"], lectures=1)
    member = grid["members"]["R-1-1"][0]
    assignment = enrollments.assign_required(course, grid["communities"][0], date(2026, 9, 1), grid["admin"])
    db.session.add(LectureProgress(user_id=member.id, lecture_id=course.lectures[0].id, course_id=course.id))
    db.session.commit()
    assert [c.id for c, _due in enrollments.required_courses_for(member)] == [course.id]
    enrollments.unassign(assignment, grid["admin"])
    db.session.commit()
    assert enrollments.required_courses_for(member) == []
    assert member.id in enrolled_ids(course)
    assert db.session.scalar(select(LectureProgress).where(LectureProgress.user_id == member.id)) is not None


def test_member_joining_later_sees_the_required_course_on_home(client, auth, grid, make_member, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 11, 1, 2, 0))
    course = make_course(grid["trainer"], title="基层党组织建设")
    enrollments.assign_required(course, grid["streets"][0], date(2026, 11, 30), grid["admin"])
    db.session.commit()
    newcomer = make_member(grid["communities"][1])
    assert newcomer.id not in enrolled_ids(course)
    assert enrollments.required_courses_for(newcomer)[0][1] == date(2026, 11, 30)
    auth.login(newcomer)
    home = client.get("/").get_data(as_text=True)
    assert "基层党组织建设" in home and "2026-11-30 前完成" in home
    assert "必修课程：请在 2026-11-30 前完成" in client.get(f"/courses/{course.id}").get_data(as_text=True)
    other = grid["members"]["R-2-1"][0]
    assert enrollments.required_courses_for(other) == []


def test_assigning_again_updates_the_due_date_without_duplicates(app, grid):
    course = make_course(grid["trainer"])
    enrollments.assign_required(course, grid["streets"][0], date(2026, 9, 1), grid["admin"])
    enrollments.assign_required(course, grid["streets"][0], date(2026, 10, 1), grid["admin"])
    db.session.commit()
    rows = db.session.scalars(select(RequiredAssignment)).all()
    assert len(rows) == 1 and rows[0].due_date == date(2026, 10, 1)
    assert len(enrolled_ids(course)) == 4
    db.session.refresh(course)
    assert course.enrollment_count == 4


def test_course_limited_to_a_street_cannot_be_required_elsewhere(app, grid):
    import pytest

    course = make_course(grid["trainer"], org=grid["streets"][0])
    with pytest.raises(enrollments.EnrollmentError):
        enrollments.assign_required(course, grid["streets"][1], date(2026, 9, 1), grid["admin"])


# --- overdue, excusals, make-ups (issue 17) ----------------------------------------------------------

def test_overdue_required_course_shows_to_member_and_organizer_and_in_the_export(client, auth, grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 12, 4, 2, 0))
    course = make_course(grid["trainer"], title="基层党组织建设")
    assignment = enrollments.assign_required(course, grid["streets"][0], date(2026, 9, 30), grid["admin"])
    db.session.commit()
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    home = client.get("/").get_data(as_text=True)
    assert "已逾期" in home and "截止 2026-09-30" in home and "2026-09-30 前完成" not in home
    detail = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "截止日期 2026-09-30 已过" in detail and "请在 2026-09-30 前完成" not in detail

    auth.logout()
    auth.login(grid["street_organizer"])
    covered = len(enrollments.assignment_members(assignment))
    listing = client.get("/required-courses/").get_data(as_text=True)
    assert f"{covered} 人逾期" in listing
    page = client.get(f"/required-courses/{assignment.id}").get_data(as_text=True)
    assert f"逾期未完成 {covered} 人" in page and member.name in page
    export = client.get(f"/required-courses/{assignment.id}/export.csv").get_data(as_text=True)
    line = next(row for row in export.splitlines() if row.startswith(member.name))
    assert line.endswith("已逾期") and "2026-09-30" in line


def test_organizer_excuses_a_member_from_a_past_offline_lecture_and_the_course_completes(client, auth, grid,
                                                                                         monkeypatch):
    from tests.course_helpers import add_offline

    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 8, 1, 2, 0))  # the offline lecture was 07-01
    course = make_course(grid["trainer"], title="社区党课", lectures=1)
    lecture = add_offline(course, grid["trainer"])
    assignment = enrollments.assign_required(course, grid["streets"][0], date(2026, 9, 30), grid["admin"])
    db.session.commit()
    member = grid["members"]["R-1-1"][0]
    from learning.completion import lecture_completed

    text_lecture = next(l for l in course_lectures(course) if l.id != lecture.id)
    lecture_completed(member.id, text_lecture.id)
    db.session.commit()
    auth.login(grid["street_organizer"])
    page = client.get(f"/required-courses/{assignment.id}").get_data(as_text=True)
    assert "社区广场党课 · 免修或补课" in page
    refused = client.post(f"/required-courses/{assignment.id}/excuse", follow_redirects=True,
                          data={"member_id": member.id, "lecture_id": lecture.id, "kind": "excused", "reason": ""})
    assert "请填写原因" in refused.get_data(as_text=True)
    done = client.post(f"/required-courses/{assignment.id}/excuse", follow_redirects=True,
                       data={"member_id": member.id, "lecture_id": lecture.id, "kind": "excused", "reason": "住院"})
    assert "免修/补课" in done.get_data(as_text=True)
    db.session.expire_all()
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == member.id,
                                                            Enrollment.course_id == course.id))
    assert enrollment.completed_at is not None  # 2/2: the course is no longer impossible

    outsider = grid["members"]["R-2-1"][0]
    assert client.post(f"/required-courses/{assignment.id}/excuse",
                       data={"member_id": outsider.id, "lecture_id": lecture.id, "kind": "excused",
                             "reason": "x"}).status_code == 404


def test_a_make_up_class_the_trainer_links_to_the_lecture_counts_for_it(app, grid, monkeypatch):
    from learning.offline import mark_attendance, schedule_class
    from tests.course_helpers import add_offline

    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 8, 1, 2, 0))
    course = make_course(grid["trainer"], title="社区党课", lectures=1)
    lecture = add_offline(course, grid["trainer"])
    make_up = schedule_class(course=course, title="补课", place="党群服务中心", starts_at=datetime(2026, 8, 1, 1, 0),
                             ends_at=datetime(2026, 8, 1, 3, 0), lecture=lecture, by=grid["trainer"])
    member = grid["members"]["R-1-1"][0]
    mark_attendance(make_up, member, grid["trainer"])
    db.session.commit()
    progress = db.session.scalar(select(LectureProgress).where(LectureProgress.user_id == member.id,
                                                               LectureProgress.lecture_id == lecture.id))
    assert progress is not None and progress.completed_at is not None


def course_lectures(course):
    from courses.models import Lecture

    return db.session.scalars(select(Lecture).where(Lecture.course_id == course.id)).all()


def test_organizer_reminds_the_members_behind_on_a_required_course(client, auth, grid, monkeypatch):
    """Members behind on a required course are picked on its progress page and reminded in the message center."""
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 9, 1, 2, 0))
    course = make_course(grid["trainer"], title="党章学习必修课")
    assignment = enrollments.assign_required(course, grid["streets"][0], date(2026, 9, 30), grid["admin"])
    db.session.commit()
    behind, other = grid["members"]["R-1-1"]
    auth.login(grid["street_organizer"])
    page = client.get(f"/required-courses/{assignment.id}").get_data(as_text=True)
    assert 'form="remind-form"' in page and "请尽快完成必修课程《党章学习必修课》（截止 2026-09-30）。" in page
    answer = client.post("/messages/remind", data={
        "member_id": [str(behind.id)], "text": "请尽快完成必修课程《党章学习必修课》（截止 2026-09-30）。",
        "next": f"/required-courses/{assignment.id}"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/required-courses/{assignment.id}")
    auth.logout()
    auth.login(behind)
    assert "请尽快完成必修课程《党章学习必修课》" in client.get("/messages/").get_data(as_text=True)
    auth.logout()
    auth.login(other)
    assert "党章学习必修课》（截止" not in client.get("/messages/").get_data(as_text=True)

