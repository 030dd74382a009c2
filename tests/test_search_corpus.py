"""The labelled query set (bench/search_queries.json) over the shared corpus: ≥ 95% of the queries find a right
document in the top 3, questions included, and none finds nothing. The same measure as ``python -m bench
search`` prints, on the 35 documents alone (seconds, not the bulk laws).

Needs ../shared/corpus (skipped with a message when it is absent). The app here is its own, on a SQLite file:
what is measured is the index's ranking, which does not depend on the database, and the corpus is loaded
once for the module (about 10 s) whatever isolation the shared fixtures give each test."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
QUERIES = json.loads((ROOT / "bench" / "search_queries.json").read_text(encoding="utf-8"))["queries"]

pytestmark = pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(),
                                reason=f"the shared corpus is not on this machine ({CORPUS})")


def corpus_titles() -> dict[str, str]:
    """File stem → Chinese title, from the corpus's SOURCES.md."""
    titles = {}
    for line in (CORPUS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([^`]+)\.txt` \| ([^|]+) \|", line)
        if match:
            titles[match.group(1)] = match.group(2).strip()
    return titles


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    """Every labelled query → the corpus file stems of its materials, best first."""
    from flask_login import AnonymousUserMixin

    from app import create_app
    from core.extensions import db
    from courses.materials import add_material
    from search import services

    folder = tmp_path_factory.mktemp("corpus")
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SERVER_NAME": None,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'corpus.sqlite3'}",
                      "UPLOAD_FOLDER": str(folder / "uploads"), "SEARCH_INDEX_DIR": str(folder / "index")})
    app.instance_path = str(folder / "instance")
    titles = corpus_titles()
    answers = {}
    with app.app_context():
        db.create_all()
        names = {}
        for path in sorted(CORPUS.glob("*.txt")):
            names[add_material(path, title=titles.get(path.stem, path.stem)).id] = path.stem
        db.session.commit()  # the index catches up after the commit
        with app.test_request_context():
            for item in QUERIES:
                results = services.search(AnonymousUserMixin(), item["query"], per_page=10).results
                answers[item["query"]] = [names.get(r.id) for r in results if r.kind == "material"]
        db.session.remove()
        db.engine.dispose()
    return answers


def test_the_labelled_set_is_large_and_holds_questions():
    assert len(QUERIES) >= 40
    assert sum(q["type"] == "question" for q in QUERIES) >= 10
    assert {"十五五规划建议", "党员每年学习培训多少学时"} <= {q["query"] for q in QUERIES}


def test_no_labelled_query_finds_nothing(ranked):
    assert [q for q, found in ranked.items() if not found] == []


def test_top3_recall_is_at_least_95_percent(ranked):
    misses = [(q["query"], ranked[q["query"]][:3]) for q in QUERIES if not set(q["expect"]) & set(ranked[q["query"]][:3])]
    assert len(misses) <= 0.05 * len(QUERIES), misses


def test_questions_find_their_answer_in_the_top_3(ranked):
    questions = [q for q in QUERIES if q["type"] == "question"]
    right = [q for q in questions if set(q["expect"]) & set(ranked[q["query"]][:3])]
    assert len(right) >= 0.95 * len(questions), [(q["query"], ranked[q["query"]][:3]) for q in questions if q not in right]
