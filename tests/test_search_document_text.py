"""What search reads is what members read (issue 17): PDF text with CJK radical look-alikes (⺠ ⾃ ⽀) is
found as 民 自 支, and Markdown is indexed and shown as its text, never as ``**…**``."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from core.extensions import db
from core.markdown import markdown_plain_text
from courses.demo_library import simple_pdf
from courses.materials import add_material
from courses.models import Material
from courses.textnorm import normalize_document_text
from search import services
from tests.search_helpers import published_course

pytestmark = pytest.mark.usefixtures("committing_app")  # the index catches up after real commits

# What a browser-printed PDF gave: Kangxi radicals (⾃ U+2F83, ⽀ U+2F40) and the CJK Radicals Supplement
# (⺠ U+2EA0, which NFKC leaves alone) where 自, 支, 民 were meant.
RADICAL_TITLE = "⺠主集中制学习提纲"
RADICAL_TEXT = ["坚持⺠主集中制，⾃觉维护党⽀部的团结统一。"]


@pytest.fixture
def reader(grid):
    return grid["members"]["R-1-1"][0]


def test_radicals_become_the_ideographs_meant():
    assert normalize_document_text("⺠主⾃觉⽀部⻓⺟") == "民主自觉支部长母"
    text = "第一条，（一）党员……“民主”：ＡＢＣ"
    assert normalize_document_text(text) == text  # Chinese punctuation and full-width letters stay as written


def test_a_pdf_with_radicals_is_found_and_shown_with_the_ideographs(app, client, reader, auth):
    pdf = add_material(io.BytesIO(simple_pdf(RADICAL_TITLE, RADICAL_TEXT)), title=None)
    db.session.commit()
    assert "民主集中制" in pdf.text and "自觉维护党支部" in pdf.text and "⺠" not in pdf.text
    assert pdf.title == "民主集中制学习提纲"
    page = services.search(reader, "民主集中制")
    assert [r.id for r in page.results] == [pdf.id]
    assert "<mark>民主集中制</mark>" in str(page.results[0].snippet)
    assert services.search(reader, "党支部").results[0].id == pdf.id
    auth.login(reader)
    html = client.get(f"/materials/{pdf.id}").get_data(as_text=True)
    assert "自觉维护党支部" in html and "⾃" not in html


def test_a_query_pasted_with_radicals_finds_the_text(app, reader):
    add_material(io.BytesIO("坚持民主集中制原则。".encode()), title="原则")
    db.session.commit()
    assert [r.title for r in services.search(reader, "⺠主集中制").results] == ["原则"]


MARKDOWN = "# 组织原则\n\n坚持**民主集中制**，维护[党的团结](https://example.org/unity)。\n\n- **民主**集中制是根本组织原则\n"


def markdown_file(text: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(text.encode()), filename="笔记.md")


def test_markdown_is_shown_as_text(app, reader):
    add_material(markdown_file(MARKDOWN), title="组织原则笔记")
    db.session.commit()
    assert db.session.scalar(select(Material.file_kind)) == "md"
    result = services.search(reader, "民主集中制").results[0]
    assert "**" not in str(result.snippet) and "](" not in str(result.snippet)
    assert "<mark>民主集中制</mark>" in str(result.snippet)


def test_markdown_emphasis_inside_a_word_does_not_hide_it(app, reader):
    """**民主**集中制 reads 民主集中制: the ``**`` must not cut the phrase in the index."""
    add_material(markdown_file("# 笔记\n\n**民主**集中制是党的根本组织原则。\n"), title="笔记")
    db.session.commit()
    assert [r.title for r in services.search(reader, '"民主集中制"').results] == ["笔记"]


def test_course_summaries_and_lectures_show_text(app, grid, reader):
    published_course(grid["trainer"], "组织原则课", summary="本课讲解**民主集中制**的_基本原则_。",
                     lectures=[("第一讲", "## 要点\n\n> 坚持**民主集中制**\n\n| 原则 | 说明 |\n|---|---|\n| 民主集中制 | 根本 |")])
    found = {r.kind: str(r.snippet) for r in services.search(reader, "民主集中制").results}
    assert set(found) == {"course", "lecture"}
    for snippet in found.values():
        assert "<mark>民主集中制</mark>" in snippet
        assert not any(mark in snippet for mark in ("**", "##", "&gt;", "|", "_基本"))


def test_markdown_plain_text_keeps_lines():
    source = "# 标题\n\n```\ncode **x**\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n[链接](http://x) ![图](y.png) <b>粗</b> &amp;"
    text = markdown_plain_text(source)
    assert text.count("\n") == source.count("\n")  # passage anchors stay right
    assert text.split("\n") == ["标题", "", "", "code **x**", "", "a b", "", "1 2", "链接 图 粗 &"]
