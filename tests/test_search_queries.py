"""Any query gives results or a friendly "nothing found", on the page and in the API; the API's shape."""
from __future__ import annotations

import pytest

from tests.search_helpers import add_text_material

# the index catches up on a connection of its own after each commit: these tests need real commits
pytestmark = pytest.mark.usefixtures("committing_app")

ODD_QUERIES = [
    '"unbalanced', 'a "b" "c', '"', '""', "“", "AND", "OR", "NOT", "-", "+", "*", "?", "~", "^2", "title:x",
    "key:material:1", "[a TO b]", "(党", "党)", "{}", "\\", "'; DROP TABLE materials; --", "%", "_", "%' OR '1'='1",
    "\x00\x01\x02", "\u200b", "党\x07建", "a" * 10_000, "党" * 10_000, "中" * 3000 + '"', "😀", "<script>alert(1)</script>",
    "   ", "\t\n", "／／", "…", "第一条", "1e309", "-1", "０",
]


@pytest.fixture
def documents(app):
    add_text_material("党建工作", "抓好党建工作，2017年开展学习。Script <b>tags</b> % _ 100%")


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_queries_never_fail(client, documents, query):
    page = client.get("/search", query_string={"q": query})
    assert page.status_code == 200
    api = client.get("/api/v1/search", query_string={"q": query})
    assert api.status_code == 200 and isinstance(api.get_json()["total"], int)


def test_nothing_found_is_said_kindly(client, documents):
    html = client.get("/search", query_string={"q": "量子纠缠"}).get_data(as_text=True)
    assert "没有找到与“量子纠缠”相关的内容" in html


def test_html_in_queries_and_documents_is_escaped(client, documents):
    html = client.get("/search", query_string={"q": "<script>alert(1)</script> 党建"}).get_data(as_text=True)
    assert "<script>alert(1)" not in html
    data = client.get("/api/v1/search", query_string={"q": "tags"}).get_json()
    assert "&lt;b&gt;" in data["results"][0]["snippet"]


def test_api_shape_filters_and_paging(client, app, grid):
    course_material = [add_text_material(f"资料{i}", f"第{i}份关于廉洁的资料", category="廉政") for i in range(12)]
    add_text_material("其他", "廉洁", category="其他")
    data = client.get("/api/v1/search", query_string={"q": "廉洁", "per_page": 5, "page": 2}).get_json()
    assert data["total"] == 13 and len(data["results"]) == 5
    first = data["results"][0]
    assert set(first) >= {"kind", "id", "title", "snippet", "url", "score"}
    assert first["kind"] == "material" and first["url"].startswith(f"/materials/{first['id']}")
    assert "<mark>廉洁</mark>" in first["snippet"]
    only = client.get("/api/v1/search", query_string={"q": "廉洁", "category": "其他"}).get_json()
    assert [r["title"] for r in only["results"]] == ["其他"]
    assert client.get("/api/v1/search", query_string={"q": "廉洁", "kind": "course"}).get_json()["total"] == 0
    assert client.get("/api/v1/search", query_string={"q": "x", "kind": "bogus"}).status_code == 400
    assert client.get("/api/v1/search", query_string={"q": "x", "page": "two"}).status_code == 400
    assert len(course_material) == 12


def test_results_page_has_filters_and_pagination(client, app):
    for i in range(12):
        add_text_material(f"资料{i}", "关于廉洁的资料")
    html = client.get("/search", query_string={"q": "廉洁"}).get_data(as_text=True)
    assert "共 12 条结果" in html and 'name="kind"' in html and "page=2" in html
    assert client.get("/search", query_string={"q": "廉洁", "page": 2}).get_data(as_text=True).count("<mark>") >= 2


def test_search_box_on_every_page(client, app):
    html = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in html and 'name="q"' in html


def test_search_is_in_the_openapi_document(client, app):
    from core.api import build_openapi

    spec = build_openapi(app)
    assert "/api/v1/search" in spec["paths"] and spec["paths"]["/api/v1/search"]["get"]["tags"] == ["search"]
