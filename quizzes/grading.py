"""Grading: pure functions of the questions' keys and the member's responses. No database, no clock.

Rules:
- single choice and true/false: full points when exactly the correct option is chosen, else 0;
- multiple choice: full points when exactly the correct set is chosen. With partial credit on, a
  choice that contains no wrong option earns points × (correct chosen ÷ correct total); any wrong
  option earns 0 (so "choose everything" never pays);
- fill in the blank: full points when the normalised response equals any normalised accepted answer.
  Normalisation (``normalise_blank``): Unicode NFKC (full-width letters, digits and punctuation become
  half-width), case folded, all whitespace removed (including the full-width space).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence

SINGLE, MULTIPLE, TRUE_FALSE, BLANK = "single", "multiple", "truefalse", "blank"


def normalise_blank(value: object) -> str:
    if value is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(value)).casefold()
    return "".join(ch for ch in folded if not ch.isspace())


@dataclass(frozen=True)
class AnswerKey:
    """What a question accepts: ``correct`` option ids (choice kinds) or ``accepted`` texts (blanks)."""

    kind: str
    points: float = 1
    correct: frozenset[str] = frozenset()
    accepted: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionGrade:
    earned: float
    correct: bool


@dataclass(frozen=True)
class AttemptGrade:
    earned: float
    maximum: float
    percent: float
    passed: bool
    questions: tuple[QuestionGrade, ...] = field(default_factory=tuple)


def chosen_options(response: object) -> frozenset[str]:
    """The option ids in a response; anything else (None, a number, a dict) chooses nothing."""
    if isinstance(response, str):
        return frozenset([response]) if response else frozenset()
    if isinstance(response, (list, tuple, set, frozenset)):
        return frozenset(item for item in response if isinstance(item, str) and item)
    return frozenset()


def grade_question(key: AnswerKey, response: object, *, partial_credit: bool = False) -> QuestionGrade:
    if key.kind == BLANK:
        given = normalise_blank(response if isinstance(response, str) else None)
        ok = bool(given) and any(given == normalise_blank(a) for a in key.accepted if normalise_blank(a))
        return QuestionGrade(float(key.points) if ok else 0.0, ok)
    chosen = chosen_options(response)
    if key.kind in (SINGLE, TRUE_FALSE):
        ok = len(chosen) == 1 and chosen == key.correct
        return QuestionGrade(float(key.points) if ok else 0.0, ok)
    if key.kind == MULTIPLE:
        if chosen and chosen == key.correct:
            return QuestionGrade(float(key.points), True)
        if partial_credit and chosen and chosen <= key.correct and key.correct:
            return QuestionGrade(round(key.points * len(chosen) / len(key.correct), 4), False)
        return QuestionGrade(0.0, False)
    raise ValueError(f"unknown question kind {key.kind!r}")


def grade_attempt(keys: Sequence[AnswerKey], responses: Sequence[object], *, pass_percent: float,
                  partial_credit: bool = False) -> AttemptGrade:
    """Grade every question; ``percent`` is earned ÷ maximum × 100 rounded to 2 places."""
    if len(keys) != len(responses):
        raise ValueError("one response per question")
    grades = tuple(grade_question(k, r, partial_credit=partial_credit) for k, r in zip(keys, responses))
    earned = round(sum(g.earned for g in grades), 4)
    maximum = float(sum(k.points for k in keys))
    percent = round(earned * 100 / maximum, 2) if maximum else 0.0
    return AttemptGrade(earned, maximum, percent, percent >= pass_percent, grades)


def share(values: Iterable[bool]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
