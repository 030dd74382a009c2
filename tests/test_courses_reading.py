"""Material reading pages: an anchor per passage (search links to it) and ?hl= marks the searched words."""
from __future__ import annotations

import io
import re

import pytest
from werkzeug.datastructures import FileStorage

from core.extensions import db
from courses.materials import add_material
from courses.reading import passage_anchor
from tests.course_helpers import make_course

TEXT = "中国共产党章程\n\n总纲\n党员必须履行下列义务。\n\n党的纪律是党的各级组织和全体党员必须遵守的行为规则。\n"


def stored(data: str, title: str, name: str = "a.txt"):
    material = add_material(FileStorage(io.BytesIO(data.encode()), filename=name), title=title)
    db.session.commit()
    return material


def ids_of(page: str) -> list[str]:
    return re.findall(r'id="(p-\d+)"', page)


@pytest.fixture
def reader(client, auth, grid):
    auth.login(grid["members"]["R-1-1"][0])
    return client


def test_each_line_of_a_text_material_has_an_anchor(reader):
    material = stored(TEXT, "党章节选")
    page = reader.get(f"/materials/{material.id}").get_data(as_text=True)
    assert ids_of(page) == ["p-1", "p-2", "p-3", "p-4"]
    assert re.search(r'<p id="p-4">党的纪律是党的各级组织', page)


def test_search_offset_maps_to_the_anchor_of_its_line():
    assert passage_anchor(TEXT, TEXT.index("纪律")) == "p-4"
    assert passage_anchor(TEXT, 0) == "p-1"
    assert passage_anchor(TEXT, TEXT.index("义务")) == "p-3"


def test_markdown_blocks_carry_the_numbers_of_their_lines(reader):
    source = "# 标题\n\n第一段第一行\n第一段第二行\n\n```\ncode\n\nmore\n```\n\n最后一段"
    material = stored(source, "MD 资料", "a.md")
    page = reader.get(f"/materials/{material.id}").get_data(as_text=True)
    assert ids_of(page) == ["p-1", "p-2", "p-3", "p-4", "p-5", "p-6", "p-7", "p-8"]
    assert re.search(r'id="p-8">\s*<p>最后一段', page)
    assert "<h1>标题</h1>" in page


def test_hl_marks_every_occurrence(reader):
    material = stored(TEXT, "党章节选")
    page = reader.get(f"/materials/{material.id}", query_string={"hl": "党员"}).get_data(as_text=True)
    assert page.count("<mark>党员</mark>") == 2
    assert reader.get(f"/materials/{material.id}").get_data(as_text=True).count("<mark>") == 0


def test_hl_with_several_words(reader):
    material = stored(TEXT, "党章节选")
    page = reader.get(f"/materials/{material.id}", query_string={"hl": "纪律 总纲"}).get_data(as_text=True)
    assert "<mark>纪律</mark>" in page and "<mark>总纲</mark>" in page


HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "amp", "p-1", "mark", "&lt;", "<", "id"]


@pytest.mark.parametrize("hl", HOSTILE)
def test_hostile_hl_is_shown_as_text_never_as_markup(reader, hl):
    material = stored("危险<script>alert(1)</script>示例 & amp \"引号\" id p-1\n第二行 < 号", "危险样本")
    page = reader.get(f"/materials/{material.id}", query_string={"hl": hl}).get_data(as_text=True)
    article = page.split('<article class="ops-reading', 1)[1].split("</article>", 1)[0]
    assert "<script" not in article and "<img" not in article and "onerror" not in article.replace("&", "")
    # The text is still all there, escaped, and the anchors survive whatever is marked.
    assert ids_of(page) == ["p-1", "p-2"]
    assert re.sub(r"</?mark>", "", article).count("&lt;script&gt;alert(1)&lt;/script&gt;") == 1
    assert "&amp; amp" in re.sub(r"</?mark>", "", article)


def test_hl_marks_text_of_a_markdown_page_but_not_its_links(reader):
    material = stored("[党章](https://www.12371.cn/dangzhang) 学习党章", "MD 链接", "b.md")
    page = reader.get(f"/materials/{material.id}", query_string={"hl": "12371 党章"}).get_data(as_text=True)
    assert 'href="https://www.12371.cn/dangzhang"' in page
    assert page.count("<mark>党章</mark>") == 2


def test_lecture_page_marks_hl_too(reader, grid):
    course = make_course(grid["trainer"], lectures=1)
    lecture_id = course.lectures[0].id if course.lectures else None
    page = reader.get(f"/lectures/{lecture_id}", query_string={"hl": "内容"}).get_data(as_text=True)
    assert "<mark>内容</mark>" in page
    hostile = reader.get(f"/lectures/{lecture_id}", query_string={"hl": "<script>"}).get_data(as_text=True)
    assert "<mark>" not in hostile and "<script>" not in hostile.split('class="lecture-body"', 1)[1].split("</div>")[0]
