"""Text inside uploaded PDF and Word files (tables included) is found, through the real upload path."""
from __future__ import annotations

import pytest

import io

import docx

from core.extensions import db
from courses.demo_library import simple_pdf
from courses.materials import add_material
from search import services

# the index catches up on a connection of its own after each commit: these tests need real commits
pytestmark = pytest.mark.usefixtures("committing_app")


def word_file(paragraphs: list[str], table: list[list[str]]) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    grid = document.add_table(rows=len(table), cols=len(table[0]))
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_pdf_text_is_found_even_across_a_line_break(app, grid):
    long_line = "第十条 党员必须" + "履行" * 14 + "按期交纳党费的义务，这是党员对党组织应尽的责任。"
    add_material(io.BytesIO(simple_pdf("党费工作规定", ["第一条 为了规范党费收缴。", long_line])), title="党费工作规定PDF")
    db.session.commit()
    member = grid["members"]["R-1-1"][0]
    [hit] = services.search(member, "党费收缴").results
    assert hit.title == "党费工作规定PDF" and "<mark>党费收缴</mark>" in str(hit.snippet)
    assert [r.title for r in services.search(member, '"按期交纳党费"').results] == ["党费工作规定PDF"]


def test_docx_paragraphs_and_table_cells_are_found(app, grid):
    data = word_file(["支部学习记录", "本季度围绕主题教育开展学习。"],
                     [["活动", "次数"], ["三会一课", "12"], ["主题党日", "3"]])
    add_material(io.BytesIO(data), title="学习记录表")
    db.session.commit()
    member = grid["members"]["R-1-1"][0]
    assert [r.title for r in services.search(member, "主题教育").results] == ["学习记录表"]
    [hit] = services.search(member, "三会一课").results  # a table cell
    assert hit.title == "学习记录表" and "<mark>三会一课</mark>" in str(hit.snippet)
    assert [r.title for r in services.search(member, "主题党日").results] == ["学习记录表"]
