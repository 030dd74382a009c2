"""Demo quizzes: a shared bank (党的基本知识) with a practice quiz, and for every course present at load
time a bank of at least 20 questions and a quiz; the first course about the Party constitution (or
else the first course) also gets a timed yearly exam. Idempotent: banks and quizzes are found by title."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.extensions import db
from courses.models import Course, CourseStatus
from quizzes import banks, importexport, services
from quizzes.demo_questions import PARTY_BASICS, questions_for
from quizzes.models import QuestionBank, Quiz, ReviewPolicy

SHARED_BANK = "党的基本知识题库（共享）"
SHARED_QUIZ = "党的基本知识自测"
EXAM_TITLE = "年度党章党规知识考试"


def _bank(title: str, rows: list[tuple], course: Course | None, category: str) -> QuestionBank:
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.title == title))
    if bank is not None:
        return bank
    bank = banks.create_bank(title, course=course, category=category,
                                description="演示题库：题目为本项目编写，仅供学习演示。")
    for kind, stem, options, answer, explanation, tags, difficulty in rows:
        cells = {"题型": kind, "题干": stem, "答案": answer, "解析": explanation, "标签": tags, "难度": difficulty}
        cells.update(zip(importexport.OPTION_COLUMNS, options))
        banks.add_question(bank, importexport.parse_row(cells))
    return bank


def _quiz(title: str, bank: QuestionBank, course: Course | None, draw: int, **settings) -> Quiz:
    quiz = db.session.scalar(select(Quiz).where(Quiz.title == title))
    if quiz is not None:
        return quiz
    quiz = Quiz(title=title, bank_id=bank.id, course_id=course.id if course else None, published=True, **settings)
    db.session.add(quiz)
    db.session.flush()
    services.set_draw_rules(quiz, [{"count": draw, "points": 1}])
    return quiz


def load() -> dict:
    """Create what is missing; return counts for the demo command's message."""
    shared = _bank(SHARED_BANK, PARTY_BASICS, None, "党的基本知识")
    _quiz(SHARED_QUIZ, shared, None, 10, description="从共享题库随机抽取 10 题，可反复练习。",
          pass_percent=60, review_policy=ReviewPolicy.IMMEDIATELY, credit_seconds=0)
    # Only the catalog's published courses: training classes keep hidden draft courses for their sessions.
    courses = list(db.session.scalars(
        select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.id)))
    exam_course = next((c for c in courses if any(k in c.title for k in ("党章", "党规", "党员"))),
                       courses[0] if courses else None)
    for course in courses:
        bank = _bank(f"《{course.title}》题库", questions_for(course.title), course, course.category or "")
        _quiz(f"《{course.title}》随堂测验", bank, course, 10,
              description="随机抽取 10 题，限时 15 分钟，可作答 3 次，及格后计入 10 分钟学习时长。",
              time_limit_seconds=15 * 60, max_attempts=3, pass_percent=60, partial_credit=True,
              review_policy=ReviewPolicy.IMMEDIATELY, credit_seconds=10 * 60, required_for_completion=True)
        if course is exam_course:
            now = clock.utcnow().replace(second=0, microsecond=0)
            _quiz(EXAM_TITLE, bank, course, 20,
                  description="年度考试：限时 30 分钟，只能作答一次，考试关闭后公布答案与解析。",
                  is_exam=True, time_limit_seconds=30 * 60, pass_percent=60, opens_at=now - timedelta(days=1),
                  closes_at=now + timedelta(days=30), review_policy=ReviewPolicy.AFTER_CLOSE,
                  credit_seconds=30 * 60)
    return {"courses": len(courses)}
