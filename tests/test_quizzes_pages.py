"""Taking a quiz through the pages and the API: no answer reaches the browser before submission,
autosave and resume, server deadline, double submit, results; trainer pages and analytics."""
import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from core import clock
from core.extensions import db
from quizzes import banks, services
from quizzes.models import Attempt, QuestionKind, ReviewPolicy
from tests.quiz_helpers import correct_responses, make_bank, make_quiz

T0 = datetime(2026, 3, 1, 9, 0, 0)


class CsrfClient:
    """Session API writes carry the page's CSRF token, as quizzes.js sends it."""

    def __init__(self, client):
        self.client = client

    def _headers(self, kwargs):
        page = self.client.get("/").get_data(as_text=True)
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        return {**kwargs.pop("headers", {}), "X-CSRFToken": token}

    def put(self, url, **kwargs):
        return self.client.put(url, headers=self._headers(kwargs), **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, headers=self._headers(kwargs), **kwargs)


@pytest.fixture
def api(client):
    return CsrfClient(client)


@pytest.fixture
def member(grid):
    return grid["members"]["R-1-1"][0]


@pytest.fixture
def quiz(app):
    bank, qs = make_bank()
    return make_quiz(bank, qs, time_limit_seconds=900, review_policy=ReviewPolicy.IMMEDIATELY)


def secrets_of(quiz):
    """Strings that would give an answer away: accepted blank answers and explanations."""
    out = []
    for fq in quiz.fixed_questions:
        out += list(fq.question.accepted_answers or [])
        out.append(fq.question.explanation)
    return out


def test_answers_absent_from_page_and_api_before_submission(app, client, api, auth, member, quiz):
    auth.login(member)
    started = client.post(f"/quizzes/{quiz.id}/start")
    assert started.status_code == 302
    attempt_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    html = client.get(f"/quizzes/attempts/{attempt_id}").get_data(as_text=True)
    read = client.get(f"/api/v1/attempts/{attempt_id}")
    resumed = api.post(f"/api/v1/quizzes/{quiz.id}/attempts")
    for body in (html, json.dumps(read.get_json(), ensure_ascii=False),
                 json.dumps(resumed.get_json(), ensure_ascii=False)):
        assert "中国共产党成立于哪一年？" in body  # the questions are there ...
        for secret in secrets_of(quiz):
            assert secret not in body  # ... their answers and explanations are not
        assert "is_correct" not in body and "correct" not in body and "explanation" not in body
        # a correct option's id is shown exactly like every other option's id of its question
        for fq in quiz.fixed_questions:
            counts = {body.count(o.public_id) for o in fq.question.options}
            assert len(counts) <= 1
    for payload in (read.get_json(), resumed.get_json()):
        assert payload["review"] is False and payload["result"] is None
        for question in payload["questions"]:
            assert set(question) == {"position", "kind", "stem", "points", "options", "response"}
            assert all(set(option) == {"id", "text"} for option in question["options"])
    for fq in quiz.fixed_questions:  # option ids in the page are random strings, not 1, 2, 3 or A, B, C
        for option in fq.question.options:
            assert f'value="{option.public_id}"' in html and len(option.public_id) >= 12


def test_api_take_resume_submit_twice(app, client, auth, member, quiz):
    headers = auth.token(member)
    first = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert first.status_code == 201
    body = first.get_json()
    assert body["remaining_seconds"] == 900 or body["remaining_seconds"] == 899
    again = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]  # a second tab shares it
    attempt = db.session.get(Attempt, body["id"])
    right = correct_responses(attempt)
    for position, response in right.items():
        saved = client.put(f"/api/v1/attempts/{body['id']}/answers/{position}", json={"response": response},
                           headers=headers)
        assert saved.status_code == 200, saved.get_json()
    resumed = client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()
    assert [q["response"] for q in resumed["questions"]] == [right[q["position"]] for q in resumed["questions"]]
    one = client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers).get_json()
    two = client.post(f"/api/v1/attempts/{body['id']}/submit", headers=headers).get_json()
    assert one["result"]["percent"] == two["result"]["percent"] == 100
    assert one["review"] and one["questions"][0]["explanation"]
    late = client.put(f"/api/v1/attempts/{body['id']}/answers/1", json={"response": []}, headers=headers)
    assert late.status_code == 409
    db.session.expire_all()
    assert db.session.get(Attempt, body["id"]).grade_count == 1
    result = client.get(f"/api/v1/attempts/{body['id']}/result", headers=headers)
    assert result.status_code == 200 and result.get_json()["result"]["passed"] is True


def test_api_refuses_answers_after_the_server_deadline(app, client, auth, member, quiz, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: T0)
    headers = auth.token(member)
    attempt_id = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).get_json()["id"]
    monkeypatch.setattr(clock, "utcnow", lambda: T0 + timedelta(seconds=901))
    late = client.put(f"/api/v1/attempts/{attempt_id}/answers/1", json={"response": []}, headers=headers)
    assert late.status_code == 409 and "时间已到" in late.get_json()["error"]["message"]
    state = client.get(f"/api/v1/attempts/{attempt_id}", headers=headers).get_json()
    assert state["status"] == "submitted" and state["result"]["auto_submitted"] is True


def test_other_members_cannot_read_or_answer_my_attempt(app, client, api, auth, member, quiz, grid):
    attempt, _ = services.start_attempt(quiz, member)
    db.session.commit()
    other = grid["members"]["R-1-1"][1]
    auth.login(other)
    assert client.get(f"/api/v1/attempts/{attempt.id}").status_code == 404
    assert api.put(f"/api/v1/attempts/{attempt.id}/answers/1", json={"response": []}).status_code == 404
    assert client.get(f"/quizzes/attempts/{attempt.id}").status_code == 404


def test_api_session_writes_need_the_csrf_token(app, client, auth, member, quiz):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login_page = client.get("/login").get_data(as_text=True)
        token = login_page.split('name="csrf-token" content="')[1].split('"')[0]
        client.post("/login", data={"identifier": member.phone, "password": "correct-horse-42",
                                    "csrf_token": token})
        refused = client.post(f"/api/v1/quizzes/{quiz.id}/attempts")
        assert refused.status_code == 400
        page = client.get(f"/quizzes/{quiz.id}").get_data(as_text=True)
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers={"X-CSRFToken": token})
        assert started.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_page_flow_autosaved_answers_survive_reload_and_form_submit(app, client, api, auth, member, quiz):
    auth.login(member)
    attempt_url = client.post(f"/quizzes/{quiz.id}/start").headers["Location"]
    attempt_id = int(attempt_url.rstrip("/").split("/")[-1])
    attempt = db.session.get(Attempt, attempt_id)
    right = correct_responses(attempt)
    blank_position = next(a.position for a in attempt.answers if a.question.kind == QuestionKind.BLANK)
    assert api.put(f"/api/v1/attempts/{attempt_id}/answers/1", json={"response": right[1]}).status_code == 200
    assert api.put(f"/api/v1/attempts/{attempt_id}/answers/{blank_position}",
                   json={"response": "中 央委员会"}).status_code == 200
    reloaded = client.get(attempt_url).get_data(as_text=True)
    assert f'value="{right[1][0]}" checked' in reloaded
    assert 'value="中 央委员会"' in reloaded
    form = {f"q{p}": r for p, r in right.items() if p not in (1, blank_position)}
    done = client.post(f"/quizzes/attempts/{attempt_id}/submit", data=form)
    assert done.status_code == 302 and done.headers["Location"].endswith("/result")
    result = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "100.0" in result and "通过" in result and "党章第十条。" in result


def test_exam_result_hides_answers_until_close(app, client, auth, member, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: T0)
    bank, qs = make_bank()
    exam = make_quiz(bank, qs, is_exam=True, opens_at=T0 - timedelta(hours=1), closes_at=T0 + timedelta(hours=2),
                     time_limit_seconds=1800)
    auth.login(member)
    attempt_id = int(client.post(f"/quizzes/{exam.id}/start").headers["Location"].split("/")[-1])
    client.post(f"/quizzes/attempts/{attempt_id}/submit")
    page = client.get(f"/quizzes/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "答案与解析将在测验规定的时间公布" in page
    assert all(secret not in page for secret in secrets_of(exam))
    assert "答题次数已用完" in client.get(f"/quizzes/{exam.id}").get_data(as_text=True)
    monkeypatch.setattr(clock, "utcnow", lambda: T0 + timedelta(hours=2))
    page = client.get(f"/quizzes/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "党章第十条。" in page


def test_unpublished_and_invisible_quizzes(app, client, api, auth, member, grid):
    bank, qs = make_bank()
    hidden = make_quiz(bank, qs, title="草稿测验", published=False)
    auth.login(member)
    assert "草稿测验" not in client.get("/quizzes/").get_data(as_text=True)
    assert client.get(f"/quizzes/{hidden.id}").status_code == 404
    assert api.post(f"/api/v1/quizzes/{hidden.id}/attempts").status_code == 404


def test_member_pages_and_nav(app, client, auth, member, quiz):
    auth.login(member)
    home = client.get("/").get_data(as_text=True)
    assert "测验" in home and "/quizzes/banks" not in home
    listing = client.get("/quizzes/").get_data(as_text=True)
    assert quiz.title in listing
    assert client.get("/quizzes/banks").status_code == 403


def test_trainer_builds_bank_question_and_quiz(app, client, auth, grid):
    auth.login(grid["trainer"])
    assert "/quizzes/banks" in client.get("/").get_data(as_text=True)
    created = client.post("/quizzes/banks/new", data={"title": "基层党建题库", "course_id": 0, "category": "党建"})
    assert created.status_code == 302
    bank_url = created.headers["Location"]
    bank_id = int(bank_url.rstrip("/").split("/")[-1])
    bad = client.post(f"/quizzes/banks/{bank_id}/questions/new",
                      data={"kind": "单选", "stem": "测试", "options": "甲\n乙", "answer": "C", "difficulty": "中"})
    assert bad.status_code == 422 and "不在选项中" in bad.get_data(as_text=True)
    for i in range(3):
        ok = client.post(f"/quizzes/banks/{bank_id}/questions/new",
                         data={"kind": "单选", "stem": f"第{i}题", "options": "甲\n乙\n丙", "answer": "B",
                               "explanation": "解析", "tags": "党建", "difficulty": "易"})
        assert ok.status_code == 302
    page = client.get(bank_url).get_data(as_text=True)
    assert "第2题" in page
    questions = banks.bank_questions(bank_id)
    quiz_form = {"title": "党建小测", "bank_id": bank_id, "course_id": 0, "pass_percent": 60, "published": "y",
                 "review_policy": "immediately", "question_ids": [str(q.id) for q in questions[:2]],
                 "time_limit_minutes": 10, "credit_minutes": 5}
    saved = client.post("/quizzes/new", data=quiz_form)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    from quizzes.models import Quiz
    quiz = db.session.scalar(db.select(Quiz).where(Quiz.title == "党建小测"))
    assert quiz.question_count == 2 and quiz.time_limit_seconds == 600 and quiz.credit_seconds == 300
    drawn = dict(quiz_form, uses_draw="y", **{"rules-0-kind": "单选", "rules-0-difficulty": "易", "rules-0-count": 3,
                                              "rules-0-points": 2})
    assert client.post(f"/quizzes/{quiz.id}/edit", data=drawn).status_code == 302
    too_many = dict(drawn, **{"rules-0-count": 4})
    refused = client.post(f"/quizzes/{quiz.id}/edit", data=too_many)
    assert refused.status_code == 422 and "不够" in refused.get_data(as_text=True)
    exam_without_window = dict(quiz_form, is_exam="y")
    assert client.post("/quizzes/new", data=exam_without_window).status_code == 422
    assert client.get(f"/quizzes/{quiz.id}/edit").status_code == 200
    assert client.get("/quizzes/manage").status_code == 200


def test_analytics_and_results_export(app, client, auth, grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: T0)
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs)
    members = [m for ms in grid["members"].values() for m in ms]  # 8 members
    for i, member in enumerate(members):
        attempt, _ = services.start_attempt(quiz, member)
        right = correct_responses(attempt)
        for position in range(1, 5):
            if position <= i // 2 + 1 or (position == 4 and i == 0):  # better members answer more
                services.save_answer(attempt, position, right[position])
        services.submit_attempt(attempt)
    db.session.commit()
    auth.login(grid["trainer"])
    page = client.get(f"/quizzes/{quiz.id}/analytics").get_data(as_text=True)
    assert "及格率" in page and "区分度" in page
    from quizzes.analytics import quiz_stats
    stats = quiz_stats(quiz)
    assert stats.attempts == 8 and sum(n for _l, n in stats.distribution) == 8
    by_position = {s.question.position: s for s in stats.questions}
    assert by_position[1].difficulty == 1.0
    assert by_position[4].discrimination > 0 and by_position[2].discrimination > 0
    assert stats.most_missed[0].question.position in (3, 4)
    download = client.get(f"/quizzes/{quiz.id}/results.csv")
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0][0] == "姓名" and len(rows) == 9
    assert {r[0] for r in rows[1:]} == {m.name for m in members}
    xlsx = client.get(f"/quizzes/{quiz.id}/results.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == 9 and sheet["A1"].value == "姓名"


def test_openapi_lists_the_quiz_api(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/attempts/{attempt_id}/answers/{position}" in doc["paths"]
    assert doc["paths"]["/api/v1/quizzes/{quiz_id}/attempts"]["post"]["summary"]
    json.dumps(doc)


def test_course_drop_downs_leave_out_training_classes_hidden_courses(app, client, auth, grid):
    """Issue 17: the shell course a training class books its sessions under is not a course to pick."""
    from datetime import date

    from classes import services as class_services
    from classes.models import EnrolmentMode

    organizer = grid["organizer_R-1-1"]
    item = class_services.create_class(by=organizer, name="2026年第一期入党积极分子培训班",
                                       class_type=class_services.class_types()[0], host_org=grid["communities"][0],
                                       starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 20),
                                       enrolment_mode=EnrolmentMode.ROSTER)
    shell = class_services.class_course(item, organizer)
    db.session.commit()
    auth.login(grid["trainer"])
    for path in ("/quizzes/new", "/quizzes/banks/new"):
        page = client.get(path).get_data(as_text=True)
        assert f'<option value="{shell.id}"' not in page and "2026年第一期入党积极分子培训班" not in page, path
