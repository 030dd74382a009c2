"""Demo quizzes: every course gets a bank of at least 20 Chinese questions and a quiz; one timed exam."""
from sqlalchemy import func, select

from core.extensions import db
from courses.models import Course, CourseStatus
from quizzes import banks, demo, importexport
from quizzes.demo_questions import TOPICS
from quizzes.models import QuestionBank, Quiz


def test_every_demo_question_set_is_valid_and_large_enough():
    for _keywords, rows in TOPICS:
        assert len(rows) >= 20
        stems = set()
        for kind, stem, options, answer, explanation, tags, difficulty in rows:
            cells = {"题型": kind, "题干": stem, "答案": answer, "解析": explanation, "标签": tags, "难度": difficulty}
            cells.update(zip(importexport.OPTION_COLUMNS, options))
            importexport.parse_row(cells)
            stems.add(stem)
        assert len(stems) == len(rows)


def test_demo_gives_each_course_a_bank_and_quiz_and_one_exam(app):
    for title in ("学习党章 做合格党员", "百年党史中的初心故事", "社区治理与志愿服务"):
        db.session.add(Course(title=title, status=CourseStatus.PUBLISHED))
    db.session.commit()
    demo.load()
    db.session.commit()
    demo.load()  # idempotent
    db.session.commit()
    for course in db.session.scalars(select(Course)):
        bank = db.session.scalar(select(QuestionBank).where(QuestionBank.course_id == course.id))
        assert len(banks.bank_questions(bank.id)) >= 20
        assert db.session.scalar(select(func.count()).select_from(Quiz).where(Quiz.course_id == course.id)) >= 1
    exams = db.session.scalars(select(Quiz).where(Quiz.is_exam.is_(True))).all()
    assert len(exams) == 1 and exams[0].time_limit_seconds and exams[0].course.title == "学习党章 做合格党员"
    history = db.session.scalar(select(QuestionBank).where(QuestionBank.title.contains("百年党史")))
    assert any("遵义会议" in q.stem for q in banks.bank_questions(history.id))


def test_demo_without_courses_still_offers_the_shared_quiz(app):
    demo.load()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Quiz)) == 1
