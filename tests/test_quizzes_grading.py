"""Grading is a pure function: every question type, with the edge cases members actually produce."""
import pytest

from quizzes.grading import AnswerKey, grade_attempt, grade_question, normalise_blank

SINGLE = AnswerKey("single", 2, correct=frozenset({"b"}))
TRUE_FALSE = AnswerKey("truefalse", 1, correct=frozenset({"t"}))
MULTIPLE = AnswerKey("multiple", 4, correct=frozenset({"a", "c"}))
BLANK = AnswerKey("blank", 1, accepted=("中国共产党", "CPC"))


@pytest.mark.parametrize("response, earned", [("b", 2), (["b"], 2), (["a"], 0), (["a", "b"], 0), ([], 0),
                                              (None, 0), ("", 0), (42, 0)])
def test_single_choice(response, earned):
    grade = grade_question(SINGLE, response)
    assert grade.earned == earned and grade.correct is (earned == 2)


def test_true_false():
    assert grade_question(TRUE_FALSE, ["t"]).correct
    assert not grade_question(TRUE_FALSE, ["f"]).correct
    assert not grade_question(TRUE_FALSE, ["t", "f"]).correct


def test_multiple_choice_needs_exactly_the_correct_set():
    assert grade_question(MULTIPLE, ["c", "a"]).earned == 4
    assert grade_question(MULTIPLE, ["a"]).earned == 0
    assert grade_question(MULTIPLE, []).earned == 0


def test_multiple_choice_partial_credit_never_pays_for_choosing_everything():
    assert grade_question(MULTIPLE, ["a"], partial_credit=True).earned == 2
    assert grade_question(MULTIPLE, ["a"], partial_credit=True).correct is False
    assert grade_question(MULTIPLE, ["a", "b", "c", "d"], partial_credit=True).earned == 0
    assert grade_question(MULTIPLE, ["a", "b", "c", "d"]).earned == 0
    assert grade_question(MULTIPLE, [], partial_credit=True).earned == 0
    assert grade_question(MULTIPLE, ["a", "c"], partial_credit=True).earned == 4


@pytest.mark.parametrize("response", ["中国共产党", " 中国 共产党 ", "中国\u3000共产党", "ＣＰＣ", "cpc", "Ｃ Ｐ Ｃ"])
def test_blank_accepts_full_width_case_and_spacing_variants(response):
    assert grade_question(BLANK, response).correct


@pytest.mark.parametrize("response", ["", "   ", None, ["中国共产党"], "中国共青团"])
def test_blank_refuses_empty_and_wrong_answers(response):
    assert grade_question(BLANK, response).earned == 0


def test_blank_with_full_width_digits_and_punctuation():
    key = AnswerKey("blank", 1, accepted=("1921年7月",))
    assert grade_question(key, "１９２１年７月").correct
    assert normalise_blank("（Ａ）") == "(a)"


def test_attempt_percent_and_pass_mark():
    keys = [SINGLE, MULTIPLE, BLANK, TRUE_FALSE]  # 8 points
    result = grade_attempt(keys, ["b", ["a"], "ｃｐｃ", None], pass_percent=60, partial_credit=True)
    assert result.earned == 5 and result.maximum == 8 and result.percent == 62.5 and result.passed
    result = grade_attempt(keys, ["b", ["a"], "ｃｐｃ", None], pass_percent=60)
    assert result.earned == 3 and result.percent == 37.5 and not result.passed
    assert [g.correct for g in result.questions] == [True, False, True, False]


def test_empty_attempt_scores_zero():
    result = grade_attempt([SINGLE, BLANK], [None, None], pass_percent=0.1)
    assert result.earned == 0 and not result.passed


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError):
        grade_question(AnswerKey("essay"), "x")
