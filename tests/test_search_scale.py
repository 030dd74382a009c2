"""What keeps search fast on a large library: bounded work per query, and bulk imports indexed once."""
from __future__ import annotations

import pytest

from flask_login import AnonymousUserMixin

from courses.cli import import_folder
from search import indexing, services
from search.engine import Access, Filters, IndexDocument
from search.query import parse
from search.whoosh_backend import WhooshEngine
from tests.search_helpers import add_text_material

# the index catches up on a connection of its own after each commit: these tests need real commits
pytestmark = pytest.mark.usefixtures("committing_app")


def test_a_query_matching_more_than_the_scan_limit_shows_an_estimated_total(app, client):
    app.config["SEARCH_SCAN_LIMIT"] = 5
    app.extensions["search"] = None  # the engine is made again with the new limit
    for i in range(25):
        add_text_material(f"安全生产条例 第{i + 1}条", f"安全生产 第{i + 1}条的内容")
    html = client.get("/search", query_string={"q": "条例"}).get_data(as_text=True)
    assert "约 25 条结果" in html  # each pass stopped after 20 matches (2 × the page): the index's estimate
    data = client.get("/api/v1/search", query_string={"q": "条例"}).get_json()
    assert data["total_is_estimate"] is True and len(data["results"]) == 10
    exact = client.get("/api/v1/search", query_string={"q": "第3条"}).get_json()
    assert exact["total"] == 1 and exact["total_is_estimate"] is False
    assert [r["title"] for r in exact["results"]] == ["安全生产条例 第3条"]


def test_titles_holding_the_query_come_before_bodies_that_mention_it_often(app):
    add_text_material("学习笔记", "知识产权保护。知识产权运用。知识产权管理。知识产权服务。")
    add_text_material("知识产权保护条例", "为了加强保护，制定本条例。")
    with app.test_request_context():
        results = services.search(AnonymousUserMixin(), "知识产权").results
    assert [r.title for r in results] == ["知识产权保护条例", "学习笔记"]


def test_a_folder_import_indexes_once_at_the_end(app, tmp_path, monkeypatch):
    add_text_material("已有资料", "索引已经存在")  # the index exists before the import
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(5):
        (folder / f"规定{i}.txt").write_text(f"批量导入规定 第{i}篇\n只在最后建索引。", encoding="utf-8")
    applied = []
    original = WhooshEngine.apply

    def counting_apply(self, upserts, deletes, applied_seq, directory=None, merge=True):
        upserts = list(upserts)
        applied.append((len(upserts), merge))
        return original(self, upserts, deletes, applied_seq, directory=directory, merge=merge)

    monkeypatch.setattr(WhooshEngine, "apply", counting_apply)
    report = import_folder(folder, batch_size=1)  # five commits
    assert len(report.imported) == 5
    assert applied == [(5, False)]  # one batch after the last commit, not one per commit
    with app.test_request_context():
        found = services.search(AnonymousUserMixin(), "批量导入规定", per_page=10)
    assert found.total == 5 and indexing.get_engine().stats()["documents"] == 6


def test_a_searcher_open_before_a_bulk_merge_counts_every_document_once(tmp_path):
    """A worker's searcher outlives a bulk import (segments added unmerged, then one optimize): its next
    search must see each document once, not the merged segment beside the segments it replaced."""
    engine = WhooshEngine(tmp_path / "index")
    engine.swap(engine.build([IndexDocument(kind="material", id=i, title=f"党建资料{i}", body="加强党建工作")
                              for i in range(1, 13)], 1))
    assert engine.search(parse("党建"), Access(), Filters(), 0, 10).total == 12  # a searcher is open
    with engine.writer_lock():
        for batch in range(3):
            engine.apply([IndexDocument(kind="material", id=100 + 10 * batch + j, title=f"法律{batch}-{j}", body="条文")
                          for j in range(10)], [], 2 + batch, merge=False)
        engine.optimize()
    found = engine.search(parse("党建"), Access(), Filters(), 0, 50)
    assert found.total == 12 and sorted(h.id for h in found.hits) == list(range(1, 13))
    assert engine.stats()["documents"] == 42


def test_a_phrase_is_found_exactly_across_many_posting_blocks(tmp_path):
    """Phrase terms skip through long posting lists (several blocks each): no literal occurrence is
    missed and no document holding the grams apart is found."""
    engine = WhooshEngine(tmp_path / "index")
    literal = {i for i in range(700) if i % 37 == 0 or i in (127, 128, 129, 255, 256, 699)}
    docs = [IndexDocument(kind="material", id=i, title=f"第{i}号",
                          body="违反本法规定的，予以处罚。" if i in literal else "违反本法，依照有关法规定处理。")
            for i in range(700)]
    engine.swap(engine.build(docs, 1))
    found = engine.search(parse('"违反本法规定"'), Access(), Filters(), 0, 50)
    assert {h.id for h in found.hits} == literal
    assert found.total == len(literal) and not found.total_is_estimate


def test_a_phrase_skips_documents_replaced_or_deleted_since_the_segment_was_written(tmp_path):
    engine = WhooshEngine(tmp_path / "index")
    engine.swap(engine.build([IndexDocument(kind="material", id=i, title=f"第{i}号",
                                            body="违反本法规定的，予以处罚。" if i % 3 == 0 else "违反本法，依照有关法规定处理。")
                              for i in range(300)], 1))
    with engine.writer_lock():  # the old segment keeps the replaced and deleted documents, marked deleted
        engine.apply([IndexDocument(kind="material", id=i, title=f"第{i}号", body="不再违反本法。")
                      for i in range(0, 30, 3)], ["material:33"], 2)
    found = engine.search(parse('"违反本法规定"'), Access(), Filters(), 0, 200)
    assert sorted(h.id for h in found.hits) == [i for i in range(30, 300, 3) if i != 33]
    assert found.total == 89
