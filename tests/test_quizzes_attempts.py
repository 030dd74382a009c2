"""Attempts: one open per member, server deadline, attempts limit, review windows, draws, shuffling,
grading exactly once, hours on passing, required quizzes."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core import clock
from core.extensions import db
from learning.models import HourEntry, HourSource
from quizzes import banks, services
from quizzes.models import Attempt, Difficulty, QuestionKind, ReviewPolicy
from quizzes.banks import QuestionData
from quizzes.services import QuizError
from tests.quiz_helpers import correct_responses, counted_request, make_bank, make_quiz

T0 = datetime(2026, 3, 1, 9, 0, 0)


@pytest.fixture
def now(monkeypatch):
    """A movable server clock: ``now.set(t)`` / ``now.advance(seconds)``."""

    class Clock:
        value = T0

        def set(self, value):
            self.value = value

        def advance(self, seconds):
            self.value += timedelta(seconds=seconds)

    c = Clock()
    monkeypatch.setattr(clock, "utcnow", lambda: c.value)
    return c


@pytest.fixture
def member(grid):
    return grid["members"]["R-1-1"][0]


def answer_all(attempt, responses):
    for position, response in responses.items():
        services.save_answer(attempt, position, response)


def test_two_tabs_share_one_open_attempt(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs)
    first, created = services.start_attempt(quiz, member)
    db.session.commit()
    second, created_again = services.start_attempt(quiz, member)
    assert created and not created_again and first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1


def test_full_marks_and_double_submit_is_harmless(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, credit_seconds=600)
    attempt, _ = services.start_attempt(quiz, member)
    answer_all(attempt, correct_responses(attempt))
    services.submit_attempt(attempt)
    db.session.commit()
    services.submit_attempt(attempt)
    db.session.commit()
    assert attempt.percent == 100 and attempt.passed and attempt.grade_count == 1
    entries = db.session.scalars(select(HourEntry).where(HourEntry.user_id == member.id)).all()
    assert [(e.seconds, e.source, e.source_ref) for e in entries] == [(600, HourSource.QUIZ, f"attempt:{attempt.id}")]


def test_passing_twice_credits_hours_once(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, credit_seconds=600)
    for _ in range(2):
        attempt, _ = services.start_attempt(quiz, member)
        answer_all(attempt, correct_responses(attempt))
        services.submit_attempt(attempt)
        db.session.commit()
    assert db.session.scalar(select(func.sum(HourEntry.seconds)).where(HourEntry.user_id == member.id)) == 600


def test_failed_attempt_credits_nothing(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, credit_seconds=600)
    attempt, _ = services.start_attempt(quiz, member)
    services.submit_attempt(attempt)
    db.session.commit()
    assert attempt.percent == 0 and attempt.passed is False
    assert db.session.scalar(select(func.count()).select_from(HourEntry)) == 0


def test_time_limit_is_the_servers(app, member, now, runner):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, time_limit_seconds=600)
    attempt, _ = services.start_attempt(quiz, member)
    db.session.commit()
    assert attempt.deadline == T0 + timedelta(seconds=600)
    assert services.remaining_seconds(attempt) == 600
    right = correct_responses(attempt)
    now.advance(599)
    services.save_answer(attempt, 1, right[1])  # one second left: accepted
    now.advance(2)
    with pytest.raises(QuizError) as refused:
        services.save_answer(attempt, 2, right[2])
    assert "时间已到" in refused.value.message
    db.session.commit()
    # The next access submits it, stamped with the deadline, graded with what was saved in time.
    reread = services.get_attempt(attempt.id, member)
    db.session.commit()
    assert reread.status.value == "submitted" and reread.auto_submitted
    assert reread.submitted_at == attempt.deadline and reread.earned_points == 1


def test_close_expired_command_submits_abandoned_attempts(app, member, now, runner):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, time_limit_seconds=60)
    attempt, _ = services.start_attempt(quiz, member)
    db.session.commit()
    result = runner.invoke(args=["quizzes", "close-expired"])
    assert "0" in result.output
    now.advance(61)
    result = runner.invoke(args=["quizzes", "close-expired"])
    assert result.exit_code == 0 and "1" in result.output
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).grade_count == 1


def test_closing_time_caps_the_deadline(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, time_limit_seconds=3600, closes_at=T0 + timedelta(minutes=10))
    attempt, _ = services.start_attempt(quiz, member)
    assert attempt.deadline == T0 + timedelta(minutes=10)


def test_attempts_limit(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, max_attempts=2)
    for _ in range(2):
        attempt, _ = services.start_attempt(quiz, member)
        services.submit_attempt(attempt)
        db.session.commit()
    with pytest.raises(QuizError) as refused:
        services.start_attempt(quiz, member)
    assert "次数已用完" in refused.value.message


def test_exam_window_one_attempt_and_review_only_after_close(app, member, now):
    bank, qs = make_bank()
    opens, closes = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    quiz = make_quiz(bank, qs, is_exam=True, opens_at=opens, closes_at=closes, time_limit_seconds=1800,
                     review_policy=ReviewPolicy.IMMEDIATELY, max_attempts=5)
    with pytest.raises(QuizError, match="尚未开始"):
        services.start_attempt(quiz, member)
    now.set(opens)
    attempt, _ = services.start_attempt(quiz, member)
    answer_all(attempt, correct_responses(attempt))
    services.submit_attempt(attempt)
    db.session.commit()
    payload = services.attempt_payload(attempt)
    assert payload["result"]["percent"] == 100 and payload["review"] is False
    assert "explanation" not in payload["questions"][0]
    with pytest.raises(QuizError, match="次数已用完"):
        services.start_attempt(quiz, member)
    now.set(closes)
    payload = services.attempt_payload(attempt)
    assert payload["review"] is True and payload["questions"][0]["explanation"]
    with pytest.raises(QuizError, match="已经结束"):
        services.start_attempt(quiz, member)


def test_review_after_last_attempt(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, max_attempts=2, review_policy=ReviewPolicy.AFTER_LAST_ATTEMPT)
    first, _ = services.start_attempt(quiz, member)
    services.submit_attempt(first)
    db.session.commit()
    assert not services.can_review(first)
    second, _ = services.start_attempt(quiz, member)
    services.submit_attempt(second)
    db.session.commit()
    assert services.can_review(first) and services.can_review(second)


def add_many(bank, kind, difficulty, n, tag="练习"):
    for i in range(n):
        if kind == QuestionKind.SINGLE:
            data = QuestionData(kind, f"{difficulty.value}单选{i}", [("甲", True), ("乙", False), ("丙", False)], [],
                                tags=[tag], difficulty=difficulty)
        else:
            data = QuestionData(kind, f"{difficulty.value}多选{i}", [("甲", True), ("乙", True), ("丙", False)], [],
                                tags=[tag], difficulty=difficulty)
        banks.add_question(bank, data)


def test_random_draw_respects_counts_and_never_repeats(app, member, now):
    bank, qs = make_bank()
    add_many(bank, QuestionKind.SINGLE, Difficulty.EASY, 12)
    add_many(bank, QuestionKind.MULTIPLE, Difficulty.HARD, 6)
    quiz = make_quiz(bank, qs, max_attempts=None)
    services.set_draw_rules(quiz, [{"kind": QuestionKind.SINGLE, "difficulty": Difficulty.EASY, "count": 10},
                                   {"kind": QuestionKind.MULTIPLE, "difficulty": Difficulty.HARD, "count": 5,
                                    "points": 2}])
    db.session.commit()
    seen_orders = set()
    for _ in range(6):
        attempt, _ = services.start_attempt(quiz, member)
        questions = [a.question for a in attempt.answers]
        assert len(questions) == 15 and len({q.id for q in questions}) == 15
        singles = [q for q in questions if q.kind == QuestionKind.SINGLE]
        multiples = [q for q in questions if q.kind == QuestionKind.MULTIPLE]
        assert len(singles) == 10 and all(q.difficulty == Difficulty.EASY for q in singles)
        assert len(multiples) == 5 and all(q.difficulty == Difficulty.HARD for q in multiples)
        assert sum(a.points for a in attempt.answers) == 20
        seen_orders.add(tuple(q.id for q in questions))
        services.submit_attempt(attempt)
        db.session.commit()
    assert len(seen_orders) > 1  # different members (and sittings) get different papers


def test_draw_rules_the_bank_cannot_supply_are_refused(app, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs)
    with pytest.raises(QuizError, match="不够"):
        services.set_draw_rules(quiz, [{"kind": QuestionKind.BLANK, "count": 2}])


def test_shuffling_questions_and_options_per_attempt(app, member, now):
    bank, qs = make_bank()
    add_many(bank, QuestionKind.SINGLE, Difficulty.EASY, 8)
    all_questions = banks.bank_questions(bank.id)
    quiz = make_quiz(bank, all_questions, shuffle_questions=True, shuffle_options=True)
    question_orders, option_orders = set(), set()
    for _ in range(8):
        attempt, _ = services.start_attempt(quiz, member)
        question_orders.add(tuple(a.question_id for a in attempt.answers))
        first_single = next(a for a in attempt.answers if a.question_id == qs[0].id)
        option_orders.add(tuple(first_single.option_order))
        assert sorted(first_single.option_order) == sorted(o.public_id for o in qs[0].options)
        services.submit_attempt(attempt)
        db.session.commit()
    assert len(question_orders) > 1 and len(option_orders) > 1


def test_order_is_frozen_for_the_attempt(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, shuffle_questions=True, shuffle_options=True)
    attempt, _ = services.start_attempt(quiz, member)
    db.session.commit()
    before = [(a.question_id, tuple(a.option_order)) for a in attempt.answers]
    db.session.expire_all()
    again, _ = services.start_attempt(quiz, member)
    assert [(a.question_id, tuple(a.option_order)) for a in again.answers] == before


def test_option_ids_are_random_and_not_sequential(app):
    bank, qs = make_bank()
    ids = [o.public_id for q in qs for o in q.options]
    assert len(set(ids)) == len(ids) and all(len(i) >= 12 for i in ids)
    assert not any(i.isdigit() for i in ids)


def test_answers_must_belong_to_the_question(app, member, now):
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs)
    attempt, _ = services.start_attempt(quiz, member)
    other = attempt.answers[1].option_order[0]
    with pytest.raises(QuizError):
        services.save_answer(attempt, 1, [other])
    with pytest.raises(QuizError):
        services.save_answer(attempt, 1, attempt.answers[0].option_order[:2])  # single choice: one only
    with pytest.raises(QuizError):
        services.save_answer(attempt, 99, [])


def test_required_quiz_for_course_completion(app, member, now):
    from courses.models import Course, CourseStatus

    course = Course(title="学习党章", status=CourseStatus.PUBLISHED)
    db.session.add(course)
    db.session.commit()
    bank, qs = make_bank(course=course)
    quiz = make_quiz(bank, qs, course_id=course.id, required_for_completion=True)
    assert not services.required_quizzes_passed(member.id, course.id)
    attempt, _ = services.start_attempt(quiz, member)
    answer_all(attempt, correct_responses(attempt))
    services.submit_attempt(attempt)
    db.session.commit()
    assert services.required_quizzes_passed(member.id, course.id)


def test_exam_api_statements_per_request(committing_app, app, member, now, auth, client):
    """The burst's three requests stay cheap: start (the question draw comes from the quiz's cached plan), save
    (reads the one answered row and writes it with one guarded UPDATE), submit (one UPDATE wins, grading
    reads the answers once)."""
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs)
    services.set_draw_rules(quiz, [{"count": 4, "points": 5}])
    db.session.commit()
    headers = auth.token(member)

    def counted(method, path, **kwargs):
        return counted_request(client, method, path, headers, **kwargs)

    attempt, started = counted("POST", f"/api/v1/quizzes/{quiz.id}/attempts")
    first = attempt["questions"][0]
    response = [first["options"][0]["id"]] if first["options"] else "中央委员会"
    _, saved = counted("PUT", f"/api/v1/attempts/{attempt['id']}/answers/1", json={"response": response})
    _, saved_again = counted("PUT", f"/api/v1/attempts/{attempt['id']}/answers/1", json={"response": response})
    _, submitted = counted("POST", f"/api/v1/attempts/{attempt['id']}/submit")
    assert len(saved) <= 3 and len(saved_again) <= 3, saved  # the token, the answered row, one UPDATE
    assert [s.split()[0].upper() for s in saved] == ["SELECT", "SELECT", "UPDATE"]
    # start (building the quiz's plan on this first one) and submit: a handful, whatever the question count
    assert len(started) <= 8 and len(submitted) <= 6, "\n".join(s[:90] for s in started + submitted)
    db.session.expire_all()
    answer = db.session.scalar(select(Attempt).where(Attempt.id == attempt["id"])).answers[0]
    assert answer.response == response and answer.earned is not None  # saved, then graded


def test_passing_the_required_quiz_completes_a_fixed_credit_course(app, member, now):
    """The last thing a course needed was the quiz: passing it completes the course, issues the certificate
    and credits the course's fixed hours once, besides the quiz's own credit."""
    from courses.models import Course, CourseStatus, CreditMode, Lecture, LectureKind
    from learning.completion import lecture_completed
    from learning.models import Certificate

    course = Course(title="学习党章", status=CourseStatus.PUBLISHED, credit_mode=CreditMode.FIXED, credit_hours=1)
    db.session.add(course)
    db.session.flush()
    lecture = Lecture(course_id=course.id, position=1, title="总纲", kind=LectureKind.TEXT, body_markdown="党章总纲")
    db.session.add(lecture)
    db.session.commit()
    bank, qs = make_bank(course=course)
    quiz = make_quiz(bank, qs, course_id=course.id, required_for_completion=True, credit_seconds=600)
    lecture_completed(member.id, lecture.id, now.value)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0  # the quiz is still missing
    failed, _ = services.start_attempt(quiz, member)
    services.submit_attempt(failed)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
    attempt, _ = services.start_attempt(quiz, member)
    answer_all(attempt, correct_responses(attempt))
    services.submit_attempt(attempt)
    db.session.commit()
    certificate = db.session.scalar(select(Certificate).where(Certificate.user_id == member.id))
    assert certificate is not None and certificate.course_id == course.id
    by_source = dict(db.session.execute(select(HourEntry.source, func.sum(HourEntry.seconds))
                                        .where(HourEntry.user_id == member.id).group_by(HourEntry.source)).all())
    minutes = app.config["MINUTES_PER_HOUR_UNIT"]
    assert by_source == {HourSource.QUIZ: 600, HourSource.COURSE: minutes * 60}


def test_immediate_review_shows_each_questions_key_and_my_marks(app, member, client, auth):
    """The review a member reads right after submitting (from what the grading read) and later (read afresh)
    agree, question by question: my answer, its mark, the correct options in the order I saw them, a blank's
    accepted answers and the explanation."""
    bank, qs = make_bank()
    quiz = make_quiz(bank, qs, review_policy=ReviewPolicy.IMMEDIATELY, shuffle_options=True)
    headers = auth.token(member)
    started = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=headers).get_json()
    attempt = db.session.get(Attempt, started["id"])
    key = correct_responses(attempt)
    by_kind = {q["kind"]: q for q in started["questions"]}
    single, multiple = by_kind["single"], by_kind["multiple"]
    wrong_single = next(o["id"] for o in single["options"] if o["id"] not in key[single["position"]])
    mine = {single["position"]: [wrong_single], multiple["position"]: key[multiple["position"]],
            by_kind["truefalse"]["position"]: key[by_kind["truefalse"]["position"]],
            by_kind["blank"]["position"]: "党中央"}
    for position, response in mine.items():
        saved = client.put(f"/api/v1/attempts/{attempt.id}/answers/{position}", headers=headers,
                           json={"response": response})
        assert saved.status_code == 200
    submitted = client.post(f"/api/v1/attempts/{attempt.id}/submit", headers=headers).get_json()
    later = client.get(f"/api/v1/attempts/{attempt.id}/result", headers=headers).get_json()
    assert submitted["review"] is True and submitted["questions"] == later["questions"]
    assert submitted["result"]["score"] == 2 and submitted["result"]["max_score"] == 4
    shown = {q["kind"]: q for q in submitted["questions"]}
    assert shown["single"]["correct"] is False and shown["single"]["earned"] == 0
    assert shown["single"]["response"] == [wrong_single]
    assert shown["single"]["correct_options"] == key[single["position"]]
    assert shown["multiple"]["correct"] is True and shown["multiple"]["earned"] == 1
    order = [o["id"] for o in multiple["options"]]
    assert shown["multiple"]["correct_options"] == [pid for pid in order if pid in key[multiple["position"]]]
    assert shown["blank"]["correct"] is False and shown["blank"]["correct_options"] == []
    assert shown["blank"]["accepted_answers"] == ["中央委员会", "中共中央委员会"]
    assert shown["truefalse"]["explanation"] == "党章第七条。"
    assert shown["single"]["explanation"] == "1921年7月召开党的一大。"
