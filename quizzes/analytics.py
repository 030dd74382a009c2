"""Quiz analytics over submitted attempts: score distribution, pass rate, each question's difficulty
(share answering correctly) and discrimination (share correct among the top 27% of attempts by score
minus the share among the bottom 27%), the most-missed questions; and the results table for export."""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.extensions import db
from quizzes.models import Attempt, AttemptAnswer, AttemptStatus, Question, Quiz

BUCKETS = [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 60), (60, 70), (70, 80), (80, 90), (90, 101)]
GROUP_SHARE = 0.27


@dataclass
class QuestionStats:
    question: Question
    answered: int
    correct: int
    difficulty: float  # share correct, 0..1 (higher: easier)
    discrimination: float | None  # upper-27% share correct minus lower-27% (None: too few attempts)


@dataclass
class QuizStats:
    attempts: int
    members: int
    pass_rate: float
    mean_percent: float
    distribution: list[tuple[str, int]]
    questions: list[QuestionStats]

    @property
    def most_missed(self) -> list[QuestionStats]:
        return sorted(self.questions, key=lambda s: (s.difficulty, -s.answered))[:5]


def submitted_attempts(quiz: Quiz) -> list[Attempt]:
    return list(db.session.scalars(
        select(Attempt).where(Attempt.quiz_id == quiz.id, Attempt.status == AttemptStatus.SUBMITTED)
        .options(selectinload(Attempt.answers).selectinload(AttemptAnswer.question), selectinload(Attempt.user))
        .order_by(Attempt.submitted_at, Attempt.id)))


def quiz_stats(quiz: Quiz) -> QuizStats:
    attempts = submitted_attempts(quiz)
    n = len(attempts)
    distribution = []
    for low, high in BUCKETS:
        label = f"{low}–{min(high, 100)}"
        distribution.append((label, sum(1 for a in attempts if low <= (a.percent or 0) < high)))
    ranked = sorted(attempts, key=lambda a: (a.percent or 0, a.id))
    group = math.ceil(n * GROUP_SHARE) if n >= 4 else 0
    lower, upper = {a.id for a in ranked[:group]}, {a.id for a in ranked[n - group:]} if group else set()
    per_question: dict[int, dict] = {}
    for attempt in attempts:
        for answer in attempt.answers:
            row = per_question.setdefault(answer.question_id, {"question": answer.question, "answered": 0,
                                                                "correct": 0, "up": [], "low": []})
            row["answered"] += 1
            row["correct"] += bool(answer.correct)
            if attempt.id in upper:
                row["up"].append(bool(answer.correct))
            if attempt.id in lower:
                row["low"].append(bool(answer.correct))
    questions = []
    for row in per_question.values():
        disc = None
        if row["up"] and row["low"]:
            disc = round(sum(row["up"]) / len(row["up"]) - sum(row["low"]) / len(row["low"]), 3)
        questions.append(QuestionStats(row["question"], row["answered"], row["correct"],
                                       round(row["correct"] / row["answered"], 3), disc))
    questions.sort(key=lambda s: s.question.position)
    return QuizStats(attempts=n, members=len({a.user_id for a in attempts}),
                     pass_rate=round(sum(1 for a in attempts if a.passed) / n, 3) if n else 0.0,
                     mean_percent=round(sum(a.percent or 0 for a in attempts) / n, 2) if n else 0.0,
                     distribution=distribution, questions=questions)


RESULT_COLUMNS = ["姓名", "组织", "第几次", "开始时间", "提交时间", "自动提交", "得分", "满分", "百分制得分", "是否通过"]


def results_rows(quiz: Quiz, to_local) -> list[list[object]]:
    rows = []
    for a in submitted_attempts(quiz):
        org = a.user.organization.name if a.user.organization else ""
        rows.append([a.user.name, org, a.number, to_local(a.started_at), to_local(a.submitted_at),
                     "是" if a.auto_submitted else "否", a.earned_points, a.max_points, a.percent,
                     "通过" if a.passed else "未通过"])
    return rows
