"""Chinese (and English) is found the way members expect: every failure measured in issue 7 is a case."""
from __future__ import annotations

import pytest

from search import services
from tests.search_helpers import add_text_material

# the index catches up on a connection of its own after each commit: these tests need real commits
pytestmark = pytest.mark.usefixtures("committing_app")


def titles(user, query: str, **kwargs) -> list[str]:
    return [r.title for r in services.search(user, query, **kwargs).results]


@pytest.fixture
def reader(grid):
    return grid["members"]["R-1-1"][0]


def test_word_inside_a_longer_word_is_found(app, reader):
    add_text_material("十九大报告", "党的十九大是在全面建成小康社会决胜阶段召开的一次十分重要的大会。")
    add_text_material("睢阳区志", "睢阳区位于河南省商丘市。")
    assert titles(reader, "九大") == ["十九大报告"]
    assert titles(reader, "睢阳") == ["睢阳区志"]


def test_single_characters_are_found(app, reader):
    add_text_material("学习笔记", "今天学了新知识。")
    add_text_material("组织生活", "支部按时召开党员大会。")
    assert titles(reader, "学") == ["学习笔记"]
    assert titles(reader, "党") == ["组织生活"]


def test_quoted_date_does_not_match_a_date_holding_the_same_digits(app, reader):
    add_text_material("八月通知", "定于2017年8月6日召开全体党员大会。")
    add_text_material("六月通知", "定于2017年6月召开全体党员大会。")
    assert titles(reader, '"2017年6月"') == ["六月通知"]
    assert titles(reader, "2017年6月") == ["六月通知"]  # digits with characters must occur as typed
    assert set(titles(reader, "2017")) == {"八月通知", "六月通知"}


def test_full_width_and_half_width_are_the_same(app, reader):
    add_text_material("全角年份", "２０１７年，ＡＢＣ公司成立。")
    add_text_material("半角年份", "2018年的工作。")
    assert titles(reader, "2017") == ["全角年份"]
    assert titles(reader, "２０１７") == ["全角年份"]
    assert titles(reader, "abc") == ["全角年份"]


def test_mixed_strings_are_found_exactly(app, reader):
    add_text_material("党建加", "探索党建+互联网的新模式。")
    add_text_material("党建", "加强党建工作。")
    add_text_material("学做", "深入开展两学一做学习教育。")
    add_text_material("两个学", "两个人一起学习，做好工作。")
    assert titles(reader, "党建+") == ["党建加"]
    assert titles(reader, "两学一做") == ["学做"]


def test_a_word_ranks_above_the_same_characters_across_words(app, reader):
    add_text_material("甲文", "政党建设是一门学问。政党建设需要理论，政党建设要长抓。")
    add_text_material("乙文", "抓好基层党建，推动工作上台阶。")
    assert titles(reader, "党建") == ["乙文", "甲文"]


def test_titles_weigh_more_than_bodies(app, reader):
    add_text_material("会议纪要", "会上传达了党章学习的要求，党章是根本大法。党章要常学。")
    add_text_material("党章学习", "本文介绍学习方法。")
    assert titles(reader, "党章")[0] == "党章学习"


def test_pinyin_of_titles_when_nothing_matches(app, reader):
    add_text_material("党章学习", "认真学习。")
    add_text_material("廉洁自律准则", "廉洁自律。")
    page = services.search(reader, "dzxx")
    assert [r.title for r in page.results] == ["党章学习"] and page.pinyin_fallback
    assert titles(reader, "lianjie") == ["廉洁自律准则"]


def test_english_is_stemmed(app, reader):
    add_text_material("Party education", "Members study the educational policies of the Party.")
    assert titles(reader, "education policy") == ["Party education"]
    assert titles(reader, "EDUCATIONAL") == ["Party education"]


def test_phrase_search_with_quotes(app, reader):
    add_text_material("顺序对", "全面从严治党永远在路上。")
    add_text_material("顺序乱", "治党要全面，从严是关键。")
    assert titles(reader, '"全面从严治党"') == ["顺序对"]
    assert titles(reader, "“全面从严治党”") == ["顺序对"]


def test_snippet_marks_the_passage(app, reader):
    add_text_material("长文", "开头的话。\n" + "无关内容。" * 60 + "\n这里讲到两学一做的要求。\n结尾。")
    result = services.search(reader, "两学一做").results[0]
    assert "<mark>两学一做</mark>" in str(result.snippet)
    assert "开头的话" not in str(result.snippet)
    assert result.url.endswith("#p-2") and "hl=" in result.url


def test_a_quoted_phrase_finds_exactly_the_documents_holding_it(app, reader):
    """Phrases are checked on their covering grams (违反@0 本法@2 规定@4): every gram in place, no more."""
    add_text_material("原文", "违反本法规定的，依法追究刑事责任。")
    add_text_material("拆开", "违反本法，依照有关法规定处罚。")  # every gram of the phrase, not in a row
    add_text_material("颠倒", "规定本法违反的情形。")
    add_text_material("跨标点", "不得违反本法。规定如下：")
    add_text_material("标题里违反本法规定", "正文无关。")
    assert set(titles(reader, '"违反本法规定"')) == {"原文", "标题里违反本法规定"}
    assert set(titles(reader, '"依法追究刑事责任"')) == {"原文"}
    assert titles(reader, '"本法规定的"') == ["原文"]
