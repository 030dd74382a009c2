"""Search as a member sees it in Chromium (issue 17): a question typed in the navbar box finds the regulation
that answers it, says that no result holds every word, shows text (not Markdown) and opens the passage with the
words marked. A screenshot goes to the test's folder for review."""
from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from werkzeug.datastructures import FileStorage

from core.extensions import db
from courses.demo_library import simple_pdf
from courses.materials import add_material

pytestmark = pytest.mark.browser


@pytest.fixture
def library(live_server, make_org, make_member):
    member = make_member(make_org("幸福社区", code="XF"), name="赵建国")
    add_material(io.BytesIO("第二十条 市、县党委每年应当组织党员集中轮训。党员每年集中学习培训时间一般不少于32学时。".encode()),
                 title="中国共产党党员教育管理工作条例")
    add_material(FileStorage(io.BytesIO("# 组织原则\n\n坚持**民主集中制**，这是党的根本组织原则。\n".encode()),
                             filename="组织原则.md"), title="组织原则笔记")
    add_material(io.BytesIO(simple_pdf("⺠主生活会记录", ["会议⾃查⾃纠，党⽀部书记主持。"])), title=None)
    db.session.commit()
    return member


def test_a_member_asks_a_question(page, login, library, tmp_path):
    login(page, library)
    box = page.get_by_role("search").get_by_role("searchbox")
    box.fill("党员每年学习培训多少学时")
    box.press("Enter")
    expect(page.get_by_text("没有完全匹配的结果，以下结果包含部分关键词")).to_be_visible()
    first = page.locator(".search-results > li").first
    expect(first).to_contain_text("中国共产党党员教育管理工作条例")
    expect(first.locator("mark", has_text="学时")).to_be_visible()
    page.screenshot(path=str(tmp_path / "search-question.png"), full_page=True)
    first.get_by_role("link").click()
    expect(page.locator("mark", has_text="学时").first).to_be_visible()


def test_markdown_and_radicals_read_as_text(page, login, library):
    login(page, library)
    page.goto("/search?q=民主集中制")
    result = page.locator(".search-results > li").first
    expect(result).to_contain_text("坚持民主集中制，这是党的根本组织原则")
    expect(result).not_to_contain_text("**")
    page.goto("/search?q=党支部书记")
    expect(page.locator(".search-results > li").first).to_contain_text("民主生活会记录")
    expect(page.locator(".search-results > li").first).to_contain_text("自查自纠")
