"""Exam day (issue 18): a whole district starts the same exam at once. A start costs the same few statements
with a bank of 12 or of 1,000 questions (the draw comes from the quiz's plan in the shared cache), shows no
answer before submit, follows an edit of the bank at once, and concurrent starts leave one attempt per member;
a submit costs at most six statements and a pass is credited exactly once."""
import json

import pytest
from sqlalchemy import event, func, select

from core.extensions import db
from learning.models import HourEntry, HourSource
from quizzes import banks, plans, services
from quizzes.models import Attempt, AttemptAnswer, Difficulty, QuestionKind, Quiz
from quizzes.banks import QuestionData
from app import create_app
from tests import conftest
from tests.conftest import ON_POSTGRES, app_of_its_own, shared_database_app
from tests.quiz_helpers import correct_responses, counted_request, make_bank, make_quiz, run_together

DRAWN = 10


def add_choices(bank, n: int, tag: str = "题库") -> None:
    for i in range(n):
        banks.add_question(bank, QuestionData(QuestionKind.SINGLE, f"第{i}题：下列哪一项正确？",
                                                 [(f"正确{i}", True), (f"错误{i}", False), (f"干扰{i}", False)], [],
                                                 "", [tag], Difficulty.MEDIUM))


def exam_over(bank, **settings) -> Quiz:
    quiz = Quiz(title="年度考试", bank_id=bank.id, published=True, is_exam=True, pass_percent=60, credit_seconds=1800,
                **settings)
    db.session.add(quiz)
    db.session.flush()
    services.set_draw_rules(quiz, [{"count": DRAWN, "points": 10}])
    db.session.commit()
    return quiz


@pytest.fixture
def counted(client):
    """``counted(method, path, headers, **kw)``: the response's JSON and the SQL statements it sent."""
    return lambda method, path, headers, **kwargs: counted_request(client, method, path, headers, **kwargs)


@pytest.mark.parametrize("bank_size", [12, 1000])
def test_start_costs_the_same_few_statements_whatever_the_bank(committing_app, grid, auth, counted, bank_size):
    first, second = grid["members"]["R-1-1"][:2]
    bank = banks.create_bank("年度题库")
    add_choices(bank, bank_size)
    quiz = exam_over(bank)
    warm = auth.token(first)
    counted("POST", f"/api/v1/quizzes/{quiz.id}/attempts", warm)  # the first start builds the plan
    headers = auth.token(second)
    attempt, started = counted("POST", f"/api/v1/quizzes/{quiz.id}/attempts", headers)
    kinds = [s.split()[0].upper() for s in started]
    # the token's user; the quiz with my attempts; the attempt (ON CONFLICT DO NOTHING); all answers at once
    assert kinds == ["SELECT", "SELECT", "INSERT", "INSERT"], "\n".join(s[:100] for s in started)
    assert len(attempt["questions"]) == DRAWN
    _, resumed = counted("POST", f"/api/v1/quizzes/{quiz.id}/attempts", headers)  # the same attempt again
    assert len(resumed) <= 4, "\n".join(s[:100] for s in resumed)


def test_submit_in_at_most_six_statements_and_credited_once(committing_app, grid, auth, counted, client):
    member = grid["members"]["R-1-1"][0]
    bank, questions = make_bank()
    quiz = make_quiz(bank, questions, credit_seconds=900)
    headers = auth.token(member)
    attempt, _ = counted("POST", f"/api/v1/quizzes/{quiz.id}/attempts", headers)
    held = db.session.get(Attempt, attempt["id"])
    for position, response in correct_responses(held).items():
        counted("PUT", f"/api/v1/attempts/{attempt['id']}/answers/{position}", headers, json={"response": response})
    db.session.expire_all()
    result, submitted = counted("POST", f"/api/v1/attempts/{attempt['id']}/submit", headers)
    assert result["result"]["passed"] is True and result["result"]["percent"] == 100.0
    assert len(submitted) <= 6, "\n".join(s[:100] for s in submitted)
    again, _ = counted("POST", f"/api/v1/attempts/{attempt['id']}/submit", headers)  # harmless
    assert again["result"] == result["result"]
    db.session.expire_all()
    assert db.session.get(Attempt, attempt["id"]).grade_count == 1
    credits = db.session.scalars(select(HourEntry.seconds).where(HourEntry.user_id == member.id,
                                                                 HourEntry.source == HourSource.QUIZ)).all()
    assert credits == [900]


def test_start_shows_no_answer_before_submit(committing_app, grid, auth, client):
    member = grid["members"]["R-1-1"][0]
    bank, questions = make_bank()
    quiz = make_quiz(bank, questions, shuffle_options=True)
    headers = auth.token(member)
    response = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers)
    body = response.get_json()
    assert response.status_code == 201
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("中央委员会", "1921年7月召开党的一大", "党章第十条", "correct", "accepted", "explanation"):
        assert secret not in text
    for question in body["questions"]:
        assert set(question) == {"position", "kind", "stem", "points", "options", "response"}
        assert all(set(option) == {"id", "text"} for option in question["options"])
    resumed = client.get(f"/api/v1/attempts/{body['id']}", headers=headers).get_json()
    assert resumed["questions"] == body["questions"]  # the cached plan shows what the start showed


def test_an_edited_question_is_shown_at_the_next_start(committing_app, grid, auth, client):
    first, second = grid["members"]["R-1-1"][:2]
    bank, questions = make_bank()
    quiz = make_quiz(bank, questions[:1])
    version = quiz.plan_version
    before = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=auth.token(first)).get_json()
    assert before["questions"][0]["stem"] == "中国共产党成立于哪一年？"
    data = banks.question_data(questions[0])
    data.stem = "中国共产党是哪一年成立的？"
    data.options = [("1919年", False), ("1921年", True), ("1927年", False)]
    banks.update_question(questions[0], data)
    db.session.commit()
    assert db.session.get(Quiz, quiz.id).plan_version != version  # the bank's edit renewed the plan
    after = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=auth.token(second)).get_json()
    assert after["questions"][0]["stem"] == "中国共产党是哪一年成立的？"
    assert sorted(o["text"] for o in after["questions"][0]["options"]) == ["1919年", "1921年", "1927年"]


def test_two_servers_share_one_plan_and_both_see_an_edit(tmp_path, make_org, make_member):
    """Two apps on one database and one shared cache (a folder here, Redis in the cluster): the plan one
    server built serves the other's start without reading the bank, and an edit made on one server is
    what the other shows at its next start."""
    from accounts.models import User
    from quizzes.models import Question

    overrides = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "cache")}
    if not ON_POSTGRES:
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'two.sqlite3'}"
    with app_of_its_own(**overrides):
        second = create_app(conftest.testing_config(**overrides))  # (imported by name, pytest would collect it)
        org = make_org()
        one, two, three = (make_member(org) for _ in range(3))
        bank, questions = make_bank()
        quiz = make_quiz(bank, questions[:2])
        quiz_id, edited_id, ids = quiz.id, questions[0].id, (two.id, three.id)
        services.start_attempt(quiz, one)  # server one builds the plan
        db.session.commit()
        with second.app_context():
            statements: list[str] = []
            event.listen(db.engine, "before_cursor_execute", lambda _c, _k, statement, *a: statements.append(statement))
            quiz_, attempts = services.quiz_with_attempts(quiz_id, ids[0])
            drawn = {}
            services.start_attempt(quiz_, db.session.get(User, ids[0]), attempts, drawn=drawn)
            db.session.commit()
            assert len(drawn["answers"]) == 2
            assert not any("quiz_questions" in s or "quiz_options" in s for s in statements)  # from the cache
            question = db.session.get(Question, edited_id)
            data = banks.question_data(question)
            data.stem = "中国共产党是哪一年成立的？"
            banks.update_question(question, data)  # edited on server two
            db.session.commit()
            db.session.remove()
        quiz_, attempts = services.quiz_with_attempts(quiz_id, ids[1])
        drawn = {}
        services.start_attempt(quiz_, db.session.get(User, ids[1]), attempts, drawn=drawn)
        assert drawn["questions"][edited_id]["stem"] == "中国共产党是哪一年成立的？"  # server one sees it
        db.session.commit()
        db.session.remove()
        with second.app_context():
            db.engine.dispose()


def test_a_new_draw_rule_is_used_at_the_next_start(committing_app, grid, auth, client):
    first, second = grid["members"]["R-1-1"][:2]
    bank = banks.create_bank("年度题库")
    add_choices(bank, 12)
    quiz = exam_over(bank)
    assert len(client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=auth.token(first))
               .get_json()["questions"]) == DRAWN
    services.set_draw_rules(db.session.get(Quiz, quiz.id), [{"count": 3, "points": 10}])
    db.session.commit()
    assert len(client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=auth.token(second))
               .get_json()["questions"]) == 3


# --- a whole district at once, as two gunicorn workers would (one connection per thread) -------------------

THREADS = 8
MEMBERS = 50
STARTS_EACH = 4  # 200 starts: every member starts four times at once (tabs, retries)


@pytest.fixture
def shared_app(tmp_path):
    with shared_database_app(tmp_path, THREADS) as application:
        yield application


def test_200_concurrent_starts_leave_one_attempt_per_member(shared_app, make_org, make_member):
    org = make_org()
    members = [make_member(org) for _ in range(MEMBERS)]
    bank = banks.create_bank("年度题库")
    add_choices(bank, 30, tag="党章")
    add_choices(bank, 30, tag="党史")
    quiz = Quiz(title="年度考试", bank_id=bank.id, published=True, is_exam=True)
    db.session.add(quiz)
    db.session.flush()
    services.set_draw_rules(quiz, [{"count": 4, "points": 10, "tag": "党章"}, {"count": 6, "points": 5}])
    db.session.commit()
    quiz_id, member_ids = quiz.id, [m.id for m in members]
    by_tag = {q.id: q.tags for q in banks.bank_questions(bank.id)}
    db.session.remove()
    work = [member_id for member_id in member_ids for _ in range(STARTS_EACH)]

    def starts(i):
        from accounts.models import User

        for member_id in work[i::THREADS]:  # each start its own transaction, as its own request
            quiz_, attempts = services.quiz_with_attempts(quiz_id, member_id)
            services.start_attempt(quiz_, db.session.get(User, member_id), attempts)
            db.session.commit()

    run_together(shared_app, starts, THREADS)
    per_member = dict(db.session.execute(select(Attempt.user_id, func.count()).where(Attempt.quiz_id == quiz_id)
                                         .group_by(Attempt.user_id)).all())
    assert per_member == {member_id: 1 for member_id in member_ids}
    for attempt in db.session.scalars(select(Attempt).where(Attempt.quiz_id == quiz_id)):
        drawn = db.session.execute(select(AttemptAnswer.question_id, AttemptAnswer.points)
                                   .where(AttemptAnswer.attempt_id == attempt.id)).all()
        assert len(drawn) == 10 and len({qid for qid, _points in drawn}) == 10  # never a question twice
        tens = [qid for qid, points in drawn if points == 10]
        assert len(tens) == 4 and all("党章" in by_tag[qid] for qid in tens)  # the first rule's tag


def test_the_plan_holds_no_answers(app):
    bank, questions = make_bank()
    quiz = make_quiz(bank, questions)
    shown = plans.shown_questions(quiz, [q.id for q in questions])
    assert all(set(item) == {"kind", "stem", "options"} for item in shown.values())
    assert "中央委员会" not in repr(shown) and "党章第十条" not in repr(shown)
