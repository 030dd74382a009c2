"""Search that answers questions (issue 17): when fewer than a page holds every word, documents holding some
of the meaningful words follow, ranked by them (question words dropped, synonyms and abbreviations added),
and the page says so."""
from __future__ import annotations

import pytest

from search import services
from search.query import QUESTION_WORDS, load_synonyms, parse, parse_synonyms
from tests.search_helpers import add_text_material

pytestmark = pytest.mark.usefixtures("committing_app")  # the index catches up after real commits

NO_EXACT = "没有完全匹配的结果，以下结果包含部分关键词"


@pytest.fixture
def reader(grid):
    return grid["members"]["R-1-1"][0]


@pytest.fixture
def library(app):
    add_text_material("中国共产党党员教育管理工作条例",
                      "第十九条 基层党组织应当注重分析党员思想状况。\n"
                      "第二十条 市、县党委每年应当组织党员集中轮训。党员每年集中学习培训时间一般不少于32学时。")
    add_text_material("社区体检通知", "社区每年组织老年人体检，请带好身份证。")
    add_text_material("中共中央关于制定国民经济和社会发展第十五个五年规划的建议",
                      "制定国民经济和社会发展第十五个五年规划，提出以下建议。")
    add_text_material("支部组织生活制度", "支部按期召开支部党员大会、支部委员会、党小组会，按时上好党课。")
    add_text_material("党费工作规定", "党员应当按月交纳党费，党费由党支部收缴。")


def test_a_question_finds_the_document_that_answers_it(client, auth, reader, library):
    data = client.get("/api/v1/search", query_string={"q": "党员每年学习培训多少学时"}).get_json()
    assert data["results"], "a question must not come back empty"
    first = data["results"][0]
    assert first["title"] == "中国共产党党员教育管理工作条例" and first["partial"] is True
    assert data["strict_total"] == 0
    assert "<mark>学时</mark>" in first["snippet"] and "32" in first["snippet"]  # the passage that answers
    auth.login(reader)
    reading = client.get(first["url"]).get_data(as_text=True)  # the link marks the words on the page
    assert "<mark>学时</mark>" in reading and "<mark>培训</mark>" in reading
    html = client.get("/search", query_string={"q": "党员每年学习培训多少学时"}).get_data(as_text=True)
    assert NO_EXACT in html and "工作条例</a>" in html


def test_question_words_are_dropped(app, reader, library):
    assert "怎么" in QUESTION_WORDS and "多少" in QUESTION_WORDS
    page = services.search(reader, "党费怎么交")
    assert [r.title for r in page.results][:1] == ["党费工作规定"]
    assert [t.text for t in parse("党费怎么交").terms] == ["党费"]


def test_abbreviations_find_the_full_names(app, reader, library):
    page = services.search(reader, "十五五规划建议")
    assert page.results[0].title == "中共中央关于制定国民经济和社会发展第十五个五年规划的建议"
    assert "<mark>第十五个五年规划</mark>" in str(page.results[0].title_html) + str(page.results[0].snippet)
    page = services.search(reader, "三会一课")
    assert [r.title for r in page.results] == ["支部组织生活制度"]
    assert "<mark>党小组会</mark>" in str(page.results[0].snippet)


def test_results_holding_every_word_come_without_a_notice(client, library):
    data = client.get("/api/v1/search", query_string={"q": "党费"}).get_json()
    assert data["strict_total"] is None and not any(r["partial"] for r in data["results"])
    html = client.get("/search", query_string={"q": "党费"}).get_data(as_text=True)
    assert NO_EXACT not in html and "包含部分关键词" not in html


def test_partial_results_are_marked_beside_complete_ones(client, library):
    """体检 holds every word of 社区体检; 社区 alone is in no other document, 体检通知 only in one."""
    add_text_material("社区工作简报", "本月社区开展了志愿服务。")
    data = client.get("/api/v1/search", query_string={"q": "社区 体检"}).get_json()
    by_title = {r["title"]: r["partial"] for r in data["results"]}
    assert by_title == {"社区体检通知": False, "社区工作简报": True}
    assert data["strict_total"] == 1 and data["total"] == 2
    html = client.get("/search", query_string={"q": "社区 体检"}).get_data(as_text=True)
    assert html.count("包含部分关键词") == 1 and NO_EXACT not in html


def test_nothing_relevant_is_still_nothing(client, library):
    html = client.get("/search", query_string={"q": "量子纠缠是什么"}).get_data(as_text=True)
    assert "没有找到与“量子纠缠是什么”相关的内容" in html


def test_the_notice_in_english(client, library):
    html = client.get("/search", query_string={"q": "党员每年学习培训多少学时"},
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "No exact matches" in html and NO_EXACT not in html


def test_synonyms_file_format():
    table = parse_synonyms(["# 注释", "十五五 = 第十五个五年规划", "三会一课：支部党员大会、党小组会、党课", "", "甲=乙=丙"])
    assert table["十五五"] == (("第十五个五年规划",), False)
    assert table["第十五个五年规划"] == (("十五五",), False)
    assert table["三会一课"] == (("支部党员大会", "党小组会", "党课"), True)
    assert "党课" not in table  # an abbreviation's part does not expand back
    assert table["乙"] == (("甲", "丙"), False)


def test_the_maintained_list_holds_the_common_abbreviations():
    table, pattern = load_synonyms()
    assert "第十五个五年规划" in table["十五五"][0]
    assert set(table["两学一做"][0]) == {"学党章党规", "学系列讲话", "做合格党员"}
    assert set(table["三会一课"][0]) == {"支部党员大会", "支部委员会", "党小组会", "党课"}
    assert pattern.search("十五五规划建议").group() == "十五五"
