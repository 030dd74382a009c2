"""Training-class pages: what organizers, trainers, members and public learners see and do at /classes/."""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.permissions import Role
from learning import offline
from classes import services
from tests.quiz_helpers import make_bank, make_quiz
from classes.models import (ClassCertificate, ClassSession, EnrolmentMode, Participant, ParticipantStatus,
                                     PlanItem, TrainingClass)

NOW = datetime(2026, 3, 10, 2, 0)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)


@pytest.fixture
def street(grid):
    """Street 1 (its organizer manages communities R-1-1 and R-1-2); street 2 is someone else's."""
    return {"org": grid["streets"][0], "organizer": grid["street_organizer"],
            "community": grid["communities"][0], "other_community": grid["communities"][2],
            "other_organizer": grid["organizer_R-2-1"], "members": grid["members"]["R-1-1"]}


def make_class(by, host, *, name="2026年第一期入党积极分子培训班", mode=EnrolmentMode.ROSTER, capacity=None,
               status="running", **fields) -> TrainingClass:
    item = services.create_class(by=by, name=name, class_type=services.class_types()[0], host_org=host,
                                 starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31), enrolment_mode=mode,
                                 capacity=capacity, certificate_prefix="临江党校〔2026〕第001期", **fields)
    if status in ("open", "running"):
        services.publish_class(item, by)
    if status == "running":
        services.start_class(item, by)
    db.session.commit()
    return item


def add_session(item, by, *, day=12, title="党章学习", hours=(11, 13)) -> ClassSession:
    session = services.schedule_session(item, by, title=title, place="春晖社区党群服务中心",
                                        starts_at=datetime(2026, 3, day, hours[0]),
                                        ends_at=datetime(2026, 3, day, hours[1]))
    db.session.commit()
    return session


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the index, for each role ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["public", "member", "trainer", "street_organizer", "admin"])
def test_the_class_index_renders_for_each_role(client, auth, grid, role):
    user = grid[role] if role != "member" else grid["members"]["R-1-1"][0]
    auth.login(user)
    page = text(client.get("/classes/"))
    assert "我的培训班" in page and "公开报名" in page
    assert ("新建培训班" in page) == (role in ("trainer", "street_organizer", "admin"))


def test_trainers_manage_the_classes_they_created(client, auth, grid, make_user):
    services.class_types()
    db.session.commit()
    auth.login(grid["trainer"])
    assert client.post("/classes/new", data=class_form(grid["communities"][3])).status_code == 302
    item = db.session.scalar(select(TrainingClass))
    assert client.get(f"/classes/{item.id}/board").status_code == 200
    auth.logout()
    other = make_user(Role.TRAINER, org=grid["root"], name="教员乙")
    auth.login(other)
    assert client.get(f"/classes/{item.id}/manage").status_code == 404
    auth.logout()
    loose = make_user(Role.TRAINER, name="外聘教员")  # no organization: hosts nothing, still sees the index
    auth.login(loose)
    page = text(client.get("/classes/"))
    assert "我的培训班" in page and "新建培训班" not in page


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/classes/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_organizer_sees_only_classes_hosted_in_their_subtree(client, auth, street):
    make_class(street["organizer"], street["community"], name="滨江第一期")
    make_class(street["other_organizer"], street["other_community"], name="望湖第一期")
    auth.login(street["organizer"])
    page = text(client.get("/classes/"))
    assert "滨江第一期" in page and "望湖第一期" not in page


def test_another_streets_organizer_gets_404_on_every_management_page(client, auth, street):
    item = make_class(street["organizer"], street["community"])
    session = add_session(item, street["organizer"])
    auth.login(street["other_organizer"])
    for path in (f"/classes/{item.id}/manage", f"/classes/{item.id}/edit", f"/classes/{item.id}/roster",
                 f"/classes/{item.id}/board", f"/classes/{item.id}/export.xlsx",
                 f"/classes/sessions/{session.id}/move", f"/classes/sessions/{session.id}/cancel"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/classes/{item.id}/graduate", data={"confirmed": "y"}).status_code == 404
    assert client.post(f"/classes/{item.id}/plan/sessions", data={}).status_code == 404
    db.session.expire_all()
    assert db.session.get(TrainingClass, item.id).status.value == "running"


def test_members_cannot_reach_management_pages(client, auth, street):
    item = make_class(street["organizer"], street["community"])
    auth.login(street["members"][0])
    assert client.get(f"/classes/{item.id}/manage").status_code == 403
    assert client.get("/classes/new").status_code == 403
    # a roster class they are not on is not revealed to them
    assert client.get(f"/classes/{item.id}").status_code == 404


# --- creating and editing ------------------------------------------------------------------------------------

def class_form(org, **changes) -> dict:
    data = {"name": "2026年党员集中轮训", "type_id": services.class_types()[2].id, "host_org_id": org.id,
            "starts_on": "2026-04-01", "ends_on": "2026-04-30", "capacity": "40", "enrolment": "application",
            "registration_opens_at": "2026-03-10T08:00", "registration_closes_at": "2026-03-25T18:00",
            "certificate_prefix": "临江党校〔2026〕第002期"}
    data.update(changes)
    return data


def test_organizer_creates_a_class_through_the_form(client, auth, street):
    services.class_types()
    db.session.commit()
    auth.login(street["organizer"])
    response = client.post("/classes/new", data=class_form(street["community"]))
    assert response.status_code == 302
    item = db.session.scalar(select(TrainingClass))
    assert response.headers["Location"].endswith(f"/classes/{item.id}/manage")
    assert (item.name, item.host_org_id, item.capacity) == ("2026年党员集中轮训", street["community"].id, 40)
    assert item.enrolment_mode == EnrolmentMode.APPLICATION
    assert item.registration_opens_at == datetime(2026, 3, 10, 0, 0)  # 08:00 in Shanghai, stored as UTC
    page = text(client.get(response.headers["Location"]))
    assert "2026年党员集中轮训" in page and "发布（开放报名）" in page


def test_bad_input_is_explained_and_nothing_typed_is_lost(client, auth, street):
    services.class_types()
    db.session.commit()
    auth.login(street["organizer"])
    response = client.post("/classes/new", data=class_form(street["community"], ends_on="2026-03-01",
                                                           capacity="0"))
    assert response.status_code == 400
    page = text(response)
    assert "结业日期不能早于开班日期。" in page
    assert 'value="2026年党员集中轮训"' in page and 'value="临江党校〔2026〕第002期"' in page
    assert 'value="2026-03-25T18:00"' in page
    assert db.session.scalar(select(TrainingClass)) is None


def test_a_host_outside_the_subtree_cannot_be_chosen(client, auth, street):
    services.class_types()
    db.session.commit()
    auth.login(street["organizer"])
    page = text(client.get("/classes/new"))
    assert street["community"].name in page and street["other_community"].name not in page
    response = client.post("/classes/new", data=class_form(street["other_community"]))
    assert response.status_code == 400
    assert db.session.scalar(select(TrainingClass)) is None


def test_editing_a_class_keeps_what_was_typed_when_invalid(client, auth, street):
    item = make_class(street["organizer"], street["community"])
    auth.login(street["organizer"])
    page = text(client.get(f"/classes/{item.id}/edit"))
    assert 'value="2026年第一期入党积极分子培训班"' in page
    response = client.post(f"/classes/{item.id}/edit", data=class_form(
        street["community"], name="改名后的培训班", registration_closes_at="2026-03-01T08:00"))
    assert response.status_code == 400
    assert "报名截止时间必须晚于报名开始时间。" in text(response) and 'value="改名后的培训班"' in text(response)
    assert client.post(f"/classes/{item.id}/edit", data=class_form(street["community"], name="改名后的培训班")
                       ).status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingClass, item.id).name == "改名后的培训班"


# --- the plan ------------------------------------------------------------------------------------------------

def test_sessions_are_scheduled_in_local_time_and_bad_times_are_refused(client, auth, street, grid):
    item = make_class(street["organizer"], street["community"])
    auth.login(street["organizer"])
    bad = client.post(f"/classes/{item.id}/plan/sessions", data={
        "session-title": "第一讲 党的性质和宗旨", "session-starts_at": "2026-03-14T19:00",
        "session-ends_at": "2026-03-14T18:00", "session-place": "渔港社区文化广场", "session-trainer_id": "0"})
    assert bad.status_code == 400
    assert "结束时间必须晚于开始时间。" in text(bad) and 'value="第一讲 党的性质和宗旨"' in text(bad)
    good = client.post(f"/classes/{item.id}/plan/sessions", data={
        "session-title": "第一讲 党的性质和宗旨", "session-starts_at": "2026-03-14T19:00",
        "session-ends_at": "2026-03-14T20:30", "session-place": "渔港社区文化广场",
        "session-trainer_id": str(grid["trainer"].id), "session-credit_hours": "2"})
    assert good.status_code == 302
    session = db.session.scalar(select(ClassSession))
    assert session.starts_at == datetime(2026, 3, 14, 11, 0) and session.trainer_name == "教员甲"
    assert session.credit_seconds == 2 * 45 * 60
    page = text(client.get(f"/classes/{item.id}/manage"))
    assert "03-14 19:00–20:30" in page and "授课：教员甲" in page


def test_courses_exams_and_rules_go_on_the_plan(client, auth, street):
    item = make_class(street["organizer"], street["community"])
    quiz = make_quiz(*make_bank(), title="入党积极分子结业考试")
    auth.login(street["organizer"])
    assert client.post(f"/classes/{item.id}/plan/exams", data={"exam-quiz_id": str(quiz.id),
                                                               "exam-required": "y"}).status_code == 302
    assert client.post(f"/classes/{item.id}/plan/courses", data={"course-course_id": "999999"}).status_code == 400
    rules = client.post(f"/classes/{item.id}/rules", data={"rules-min_attendance_percent": "120"})
    assert rules.status_code == 400 and 'value="120"' in text(rules)
    assert client.post(f"/classes/{item.id}/rules", data={
        "rules-required_items": "y", "rules-min_attendance_percent": "80", "rules-exam_pass_required": "y",
        "rules-min_hours": "4"}).status_code == 302
    db.session.expire_all()
    item = db.session.get(TrainingClass, item.id)
    assert (item.rule_required_items, item.rule_min_attendance_percent, item.rule_exam_pass) == (True, 80, True)
    assert item.rule_min_hours_seconds == 4 * 45 * 60
    assert [p.quiz_id for p in db.session.scalars(select(PlanItem))] == [quiz.id]
    assert quiz.title in text(client.get(f"/classes/{item.id}/manage"))


# --- roster --------------------------------------------------------------------------------------------------

def test_roster_search_finds_only_members_of_the_subtree(client, auth, street, grid):
    item = make_class(street["organizer"], street["community"])
    auth.login(street["organizer"])
    page = text(client.get(f"/classes/{item.id}/roster?q=党员1"))
    assert "社区11党员1" in page and "社区12党员1" in page and "社区21党员1" not in page
    mine, foreign = street["members"][0], grid["members"]["R-2-1"][0]
    response = client.post(f"/classes/{item.id}/roster", data={"member_id": [str(mine.id)]})
    assert response.status_code == 302
    assert client.post(f"/classes/{item.id}/roster", data={"member_id": [str(foreign.id)]}).status_code == 404
    db.session.expire_all()
    assert [p.user_id for p in db.session.scalars(select(Participant))] == [mine.id]
    page = text(client.get(f"/classes/{item.id}/roster"))
    assert "已录取学员（1）" in page


def test_applications_are_approved_or_rejected_with_a_reason(client, auth, street):
    item = make_class(street["organizer"], street["community"], mode=EnrolmentMode.APPLICATION)
    first, second = street["members"]
    auth.login(first)
    assert client.post(f"/classes/{item.id}/join", data={"note": "希望参加"}).status_code == 302
    assert "您的申请正在等待组织审核。" in text(client.get(f"/classes/{item.id}"))
    auth.logout()
    auth.login(second)
    client.post(f"/classes/{item.id}/join")
    auth.logout()
    auth.login(street["organizer"])
    page = text(client.get(f"/classes/{item.id}/roster"))
    assert "待审核的申请（2）" in page and "希望参加" in page
    p1, p2 = db.session.scalars(select(Participant).order_by(Participant.id)).all()
    client.post(f"/classes/{item.id}/roster/{p1.id}/approve")
    empty = client.post(f"/classes/{item.id}/roster/{p2.id}/reject", data={"reason": ""}, follow_redirects=True)
    assert "请填写不予通过的原因。" in text(empty)
    client.post(f"/classes/{item.id}/roster/{p2.id}/reject", data={"reason": "本期名额优先发展对象"})
    db.session.expire_all()
    assert [p.status for p in db.session.scalars(select(Participant).order_by(Participant.id))] == [
        ParticipantStatus.APPROVED, ParticipantStatus.REJECTED]
    auth.logout()
    auth.login(second)
    assert "本期名额优先发展对象" in text(client.get(f"/classes/{item.id}"))


# --- progress board and graduation -----------------------------------------------------------------------------

def test_graduation_through_the_pages(client, auth, street, monkeypatch):
    organizer = street["organizer"]
    item = make_class(organizer, street["community"])
    first, second = street["members"]
    services.add_roster_members(item, [first, second], organizer)
    sessions = [add_session(item, organizer, day=d) for d in (3, 5)]
    services.set_graduation_rules(item, organizer, min_attendance_percent=100)
    for session in sessions:
        offline.mark_attendance(session.offline_class, first, organizer)
    offline.mark_attendance(sessions[0].offline_class, second, organizer)
    db.session.commit()

    auth.login(organizer)
    board = text(client.get(f"/classes/{item.id}/board"))
    assert "其中 1 人有未达标风险" in board and "table-warning" in board
    refused = client.post(f"/classes/{item.id}/graduate", data={}, follow_redirects=True)
    assert "请勾选确认后再结业。" in text(refused)
    assert db.session.scalar(select(ClassCertificate)) is None

    # the class runs until 03-31: graduating now needs a reason
    early = text(client.post(f"/classes/{item.id}/graduate", data={"confirmed": "y"}, follow_redirects=True))
    assert "培训班要到 2026-03-31 才结束" in early
    assert db.session.scalar(select(ClassCertificate)) is None
    done = text(client.post(f"/classes/{item.id}/graduate", data={"confirmed": "y", "early_reason": "学员全部外出集训"},
                            follow_redirects=True))
    assert "提前结业原因：学员全部外出集训" in done
    assert "新颁发证书 1 张，未达到结业条件 1 人" in done
    assert "临江党校〔2026〕第001期-001号" in done
    assert "结业学员（1）" in done and "未结业学员（1）" in done
    not_graduated = done[done.index('id="not-graduated"'):]
    assert second.name in not_graduated and "出勤率" in not_graduated

    again = text(client.post(f"/classes/{item.id}/graduate", data={"confirmed": "y"}, follow_redirects=True))
    assert "新颁发证书 0 张" in again
    certificate = db.session.scalar(select(ClassCertificate))
    assert db.session.scalar(select(db.func.count(ClassCertificate.id))) == 1

    # the graduate's certificate, printable, and its public verification
    auth.logout()
    auth.login(first)
    mine = text(client.get(f"/classes/{item.id}"))
    assert "临江党校〔2026〕第001期-001号" in mine
    page = text(client.get(f"/classes/certificates/{certificate.id}"))
    assert "结业证书" in page and "@page { size: A4" in page and certificate.code in page
    auth.logout()
    assert client.get(f"/classes/certificates/{certificate.id}").status_code == 302  # login first
    verified = text(client.get(f"/classes/verify/{certificate.code}"))
    assert "证书有效" in verified and first.name not in verified  # the holder's name is masked
    assert client.get("/classes/verify/NOSUCHCODE").status_code == 404

    # a revocation needs a reason, then shows publicly
    auth.login(organizer)
    client.post(f"/classes/certificates/{certificate.id}/revoke", data={"reason": ""})
    db.session.expire_all()
    assert db.session.get(ClassCertificate, certificate.id).revoked_at is None
    client.post(f"/classes/certificates/{certificate.id}/revoke", data={"reason": "学员档案信息有误"})
    auth.logout()
    assert "此证书已撤销" in text(client.get(f"/classes/verify/{certificate.code}"))


def test_graduating_needs_the_pages_csrf_token(app, client, auth, street):
    import re

    organizer = street["organizer"]
    item = make_class(organizer, street["community"])
    services.add_roster_members(item, street["members"], organizer)
    db.session.commit()
    auth.login(organizer)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/classes/{item.id}/graduate", data={"confirmed": "y"}).status_code == 400
    assert db.session.scalar(select(ClassCertificate)) is None
    board = text(client.get(f"/classes/{item.id}/board"))
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', board).group(1)
    response = client.post(f"/classes/{item.id}/graduate", data={"confirmed": "y", "csrf_token": token,
                                                                   "early_reason": "提前完成"})
    assert response.status_code == 302
    assert db.session.scalar(select(db.func.count(ClassCertificate.id))) == 2


def test_another_member_cannot_see_a_certificate(client, auth, street):
    organizer = street["organizer"]
    item = make_class(organizer, street["community"])
    first, second = street["members"]
    services.add_roster_members(item, [first], organizer)
    outcome = services.graduate(item, organizer, early_reason="提前完成")
    db.session.commit()
    auth.login(second)
    assert client.get(f"/classes/certificates/{outcome.issued[0].id}").status_code == 404


def test_the_export_button_downloads_the_class_workbook(client, auth, street):
    organizer = street["organizer"]
    item = make_class(organizer, street["community"])
    services.add_roster_members(item, street["members"], organizer)
    add_session(item, organizer)
    auth.login(organizer)
    response = client.get(f"/classes/{item.id}/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert len(book.sheetnames) == 5
    cells = {str(value) for row in book.worksheets[0].iter_rows(values_only=True) for value in row}
    assert {m.name for m in street["members"]} <= cells
    assert response.data == _cli_export(item)  # the page and `flask classes export` write the same bytes


def _cli_export(item) -> bytes:
    from classes.exports import export_class_workbook

    out = io.BytesIO()
    export_class_workbook(item, out)
    return out.getvalue()


# --- participants ---------------------------------------------------------------------------------------------

def test_a_public_learner_registers_for_an_open_class_and_sees_its_schedule(client, auth, street, grid):
    organizer = street["organizer"]
    item = make_class(organizer, street["community"], name="社区广场宣讲·春季", mode=EnrolmentMode.OPEN,
                      capacity=2)
    add_session(item, organizer, day=20, title="微党课：身边的榜样")
    add_session(item, organizer, day=5, title="已经讲过的一课")
    auth.login(grid["public"])
    index = text(client.get("/classes/"))
    assert "社区广场宣讲·春季" in index and "名额 2，剩余 2" in index
    response = client.post(f"/classes/{item.id}/join", follow_redirects=True)
    page = text(response)
    assert "报名成功" in page
    assert page.index("微党课：身边的榜样") < page.index("已经讲过的一课")  # the next session comes first
    assert "下次课" in page and "添加到手机日历" in page
    assert "社区广场宣讲·春季" in text(client.get("/classes/")).split('id="open-classes"')[0]


def test_a_full_class_says_so(client, auth, street, grid):
    organizer = street["organizer"]
    item = make_class(organizer, street["community"], mode=EnrolmentMode.OPEN, capacity=1)
    services.register(item, street["members"][0])
    db.session.commit()
    auth.login(grid["public"])
    assert "名额 1，剩余 0" in text(client.get("/classes/"))
    page = text(client.post(f"/classes/{item.id}/join", follow_redirects=True))
    assert "名额已满。" in page
    assert db.session.scalar(select(db.func.count(Participant.id))) == 1


def test_participant_sees_what_is_left_and_their_standing(client, auth, street):
    organizer = street["organizer"]
    item = make_class(organizer, street["community"])
    member = street["members"][0]
    services.add_roster_members(item, [member], organizer)
    done = add_session(item, organizer, day=3, title="已出勤的课")
    add_session(item, organizer, day=25, title="还没上的课")
    services.set_graduation_rules(item, organizer, required_items=True, min_attendance_percent=50)
    offline.mark_attendance(done.offline_class, member, organizer)
    db.session.commit()
    auth.login(member)
    page = text(client.get(f"/classes/{item.id}"))
    todo_part = page[page.index('id="todo"'):page.index('id="standing"')]
    assert "已出勤的课" in todo_part and "还没上的课" in todo_part and "已完成" in todo_part
    standing = page[page.index('id="standing"'):]
    assert "必修项目" in standing and "1 / 2 项" in standing and "出勤率" in standing


def test_a_moved_session_shows_as_a_notice_on_home_and_in_the_schedule(client, auth, street):
    organizer = street["organizer"]
    item = make_class(organizer, street["community"], name="2026年党员集中轮训")
    member = street["members"][0]
    services.add_roster_members(item, [member], organizer)
    session = add_session(item, organizer, day=20, title="专题党课")
    cancelled = add_session(item, organizer, day=22, title="参观红色教育基地")
    db.session.commit()

    auth.login(organizer)
    form = text(client.get(f"/classes/sessions/{session.id}/move"))
    assert 'value="2026-03-20T19:00"' in form
    bad = client.post(f"/classes/sessions/{session.id}/move", data={
        "starts_at": "2026-03-21T19:00", "ends_at": "2026-03-21T18:00", "place": "望江社区会议室"})
    assert bad.status_code == 400 and 'value="望江社区会议室"' in text(bad)
    moved = client.post(f"/classes/sessions/{session.id}/move", data={
        "starts_at": "2026-03-21T19:00", "ends_at": "2026-03-21T21:00", "place": "望江社区会议室",
        "reason": "场地冲突"}, follow_redirects=True)
    assert "已通知 1 名学员" in text(moved)
    client.post(f"/classes/sessions/{cancelled.id}/cancel", data={"reason": "天气原因"})
    auth.logout()

    auth.login(member)
    home = text(client.get("/"))
    notices = home[home.index('id="class-notices"'):]
    assert "专题党课" in notices and "2026-03-21 19:00" in notices and "望江社区会议室" in notices
    assert "场地冲突" in notices and "参观红色教育基地" in notices and "已取消" in notices
    schedule = text(client.get(f"/classes/{item.id}"))
    assert "已调整" in schedule and "ops-session-cancelled" in schedule
    notice = services.unread_notices(member)[0]
    client.post(f"/classes/notices/{notice.id}/read")
    client.post("/classes/notices/read")
    assert 'id="class-notices"' not in text(client.get("/"))
