"""Search benchmark: quality on the labelled corpus, then speed at bulk scale against a LIKE scan.

    flock /tmp/ops_bench.lock .venv/bin/python -m bench.search               # everything (1,510 laws → ~64k articles)
    flock /tmp/ops_bench.lock .venv/bin/python -m bench.search --laws 200    # a quicker run
    .venv/bin/python -m bench.search --database postgresql+psycopg://ops:ops@127.0.0.1:5432/ops_f
    flock /tmp/ops_bench.lock .venv/bin/python -m bench.search --keep /tmp/search-bulk   # build once, keep it
    flock /tmp/ops_bench.lock .venv/bin/python -m bench.search --reuse /tmp/search-bulk  # queries only (seconds)

   (``--reuse`` prints the build's indexing rate and quality, asks the labelled queries again beside the bulk
   laws — stricter: 62,000 more documents compete — and times the query set; ``--reuse DIR --rebuild``
   also times ``flask search rebuild`` of the kept database.)

1. Quality: the 35 documents of ../shared/corpus go into the library through ``add_material`` (the
   service behind ``flask materials import``; titles from SOURCES.md), the index catches up, and every
   query of bench/search_queries.json is asked: share with a right document at rank 1 and in the top 3
   (target ≥ 95%; also per type: literal, topic, question), whether every literal query finds its document
   at all, and which queries find nothing (target: none).
2. Scale: the laws of ../shared/corpus/bulk/prc-laws-lawrefbook.jsonl are split into their articles
   (第X条), written as text files and imported with ``import_folder`` (``flask materials import``: the
   commits only log the changes, one catch-up at the end indexes them in batches). Reported: documents
   indexed per second (that catch-up; with ``--rebuild`` also ``flask search rebuild``), index size, and
   p50/p95 latency of a mixed query set answered with highlighted snippets (``search.services.search``,
   in-process), against the same queries answered by ``LIKE '%…%'`` over the same rows (count + first
   page), in the same run.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import fresh_database, product_app  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
QUERIES = ROOT / "bench" / "search_queries.json"
MIXED = ["党", "学", "党建", "人民法院", "九大", "合同", "劳动合同", "知识产权", "环境保护", "未成年人",
         "2017年6月", '"依法追究刑事责任"', "两学一做", "党建+", "第一条", "行政处罚", "国务院", "食品安全",
         "中华人民共和国", "违反本法规定", "社会保险", "网络安全", "education", "个人信息保护",
         "全面从严治党", "dzxx", "乡村振兴", "税收", "消费者权益", "安全生产"]
ARTICLE = re.compile(r"^(第[一二三四五六七八九十百千零〇两]+条)")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def corpus_titles() -> dict[str, str]:
    titles = {}
    for line in (CORPUS / "SOURCES.md").read_text().splitlines():
        match = re.match(r"\| `([^`]+)\.txt` \| ([^|]+) \|", line)
        if match:
            titles[match.group(1)] = match.group(2).strip()
    return titles


def load_corpus(app) -> dict[int, str]:
    from core.extensions import db
    from courses.materials import add_material

    names = {}
    titles = corpus_titles()
    with app.app_context():
        for path in sorted(CORPUS.glob("*.txt")):
            material = add_material(path, title=titles.get(path.stem, path.stem), category="党内法规")
            names[material.id] = path.stem
        db.session.commit()
    return names


def quality(app, names: dict[int, str]) -> dict:
    from flask_login import AnonymousUserMixin

    from search import services

    queries = json.loads(QUERIES.read_text())["queries"]
    rank1 = top3 = literal_found = literal_total = 0
    misses, empty = [], []
    by_type: dict[str, list[int]] = {}  # type: [queries, right in the top 3]
    with app.test_request_context():
        for item in queries:
            results = services.search(AnonymousUserMixin(), item["query"], per_page=50).results
            ranked = [names.get(r.id) for r in results if r.kind == "material"]
            expect = set(item["expect"])
            rank1 += bool(ranked[:1] and ranked[0] in expect)
            top3 += bool(expect & set(ranked[:3]))
            counts = by_type.setdefault(item["type"], [0, 0])
            counts[0] += 1
            counts[1] += bool(expect & set(ranked[:3]))
            if not results:
                empty.append(item["query"])
            if item["type"] == "literal":
                literal_total += 1
                literal_found += bool(expect & set(ranked))
            if not expect & set(ranked[:3]):
                misses.append({"query": item["query"], "expect": item["expect"], "got": ranked[:3]})
    n = len(queries)
    return {"queries": n, "rank1": round(rank1 / n, 3), "top3": round(top3 / n, 3),
            "literal_found": f"{literal_found}/{literal_total}", "misses": misses, "no_results": empty,
            "top3_by_type": {t: f"{right}/{count}" for t, (count, right) in by_type.items()}}


def write_articles(folder: Path, laws: int | None) -> int:
    """Each law's articles as text files named '<law> 第X条.txt'; returns how many."""
    count = 0
    with open(CORPUS / "bulk" / "prc-laws-lawrefbook.jsonl", encoding="utf-8") as fh:
        for index, line in enumerate(fh):
            if laws is not None and index >= laws:
                break
            record = json.loads(line)
            title = re.sub(r"[/\\\x00]", "_", record["title"])[:60]
            law_dir = folder / f"{index:04d}"
            law_dir.mkdir()
            articles: list[tuple[str, list[str]]] = []
            for text_line in record["text"].split("\n"):
                match = ARTICLE.match(text_line.strip())
                if match:
                    articles.append((match.group(1), [text_line.strip()]))
                elif articles:
                    articles[-1][1].append(text_line.strip())
            seen = set()
            for number, lines in articles:
                name = f"{title} {number}"
                if name in seen:
                    continue
                seen.add(name)
                (law_dir / f"{name}.txt").write_text("\n".join(lines), encoding="utf-8")
                count += 1
    return count


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def speed(app, repeat: int) -> dict:
    from flask_login import AnonymousUserMixin
    from sqlalchemy import func, or_, select

    from core.extensions import db
    from courses.models import Material
    from search import services

    search_ms, like_ms = [], []
    per_query = []
    with app.test_request_context():
        anyone = AnonymousUserMixin()
        for query in MIXED:  # warm the searcher and the OS cache
            services.search(anyone, query)
        for query in MIXED:
            literal = query.strip('"')
            s = timed(lambda: services.search(anyone, query), repeat)

            def like():
                pattern = f"%{literal}%"
                condition = Material.deleted_at.is_(None) & or_(Material.title.like(pattern), Material.text.like(pattern))
                db.session.scalar(select(func.count()).select_from(Material).where(condition))
                db.session.execute(select(Material.id, Material.title, Material.text).where(condition)
                                   .order_by(Material.id).limit(10)).all()

            like_times = timed(like, max(1, repeat // 3))
            found = services.search(anyone, query)
            total = f"~{found.total}" if found.total_is_estimate else str(found.total)
            search_ms += s
            like_ms += like_times
            per_query.append({"query": query, "total": total, "search_p50": round(statistics.median(s), 1),
                              "like_p50": round(statistics.median(like_times), 1)})
    result = {
        "search_p50_ms": round(percentile(search_ms, 50), 1), "search_p95_ms": round(percentile(search_ms, 95), 1),
        "like_p50_ms": round(percentile(like_ms, 50), 1), "like_p95_ms": round(percentile(like_ms, 95), 1),
        "per_query": per_query,
    }
    result["ratio_p50"] = round(result["like_p50_ms"] / result["search_p50_ms"], 1)
    result["ratio_p95"] = round(result["like_p95_ms"] / result["search_p95_ms"], 1)
    return result


def rebuild(app) -> dict:
    from search import indexing

    with app.app_context():
        start = time.perf_counter()
        stats = indexing.rebuild()
        seconds = time.perf_counter() - start
    return {"documents": stats["documents"], "seconds": round(seconds, 1),
            "docs_per_second": round(stats["documents"] / seconds, 1), "index_mb": round(stats["bytes"] / 1e6, 1)}


def build(app, tmp: Path, laws: int | None, rebuild_too: bool, out: dict) -> None:
    """Import the bulk laws (through the real import path) and record the indexing rate in ``out``."""
    folder = tmp / "articles"
    folder.mkdir()
    written = write_articles(folder, laws)
    from courses.cli import import_folder
    from search import indexing

    catch_up, caught_up = indexing.catch_up, []

    def timed_catch_up(*a, **kw):  # the import's one catch-up at the end (then one merge): the indexing rate
        caught_up.append(time.perf_counter())
        applied = catch_up(*a, **kw)
        caught_up.append(applied)
        return applied

    indexing.catch_up = timed_catch_up
    with app.app_context():
        start = time.perf_counter()
        report = import_folder(folder, category="法律法规", batch_size=500)
        end = time.perf_counter()
        stats = indexing.get_engine().stats()
    indexing.catch_up = catch_up
    shutil.rmtree(folder, ignore_errors=True)
    seconds, (index_start, applied) = end - start, caught_up[-2:]
    index_seconds = end - index_start
    out["import"] = {"files": written, "imported": len(report.imported), "duplicates": len(report.duplicates),
                     "failed": len(report.failed), "seconds": round(seconds, 1),
                     "index_seconds": round(index_seconds, 1), "indexed": applied,
                     "docs_per_second": round(applied / index_seconds, 1),
                     "documents": stats["documents"], "index_mb": round(stats["bytes"] / 1e6, 1)}
    if rebuild_too:
        out["bulk_index"] = rebuild(app)


def print_build(out: dict) -> None:
    if "import" in out:
        i = out["import"]
        print(f"import: {i['imported']} of {i['files']} files in {i['seconds']} s, of which the catch-up indexed "
              f"{i['indexed']} documents in {i['index_seconds']} s = {i['docs_per_second']} docs/s; "
              f"index {i['documents']} documents, {i['index_mb']} MB")
    if "bulk_index" in out:
        b = out["bulk_index"]
        print(f"rebuild: {b['documents']} documents in {b['seconds']} s = {b['docs_per_second']} docs/s, "
              f"{b['index_mb']} MB")


def print_quality(q: dict, label: str) -> None:
    print(f"quality ({label}): {q['queries']} queries, rank 1 {q['rank1']:.0%}, top 3 {q['top3']:.0%} "
          f"(target ≥ 95%), literal found {q['literal_found']}")
    if "top3_by_type" in q:
        print("  top 3 by type: " + ", ".join(f"{t} {v}" for t, v in q["top3_by_type"].items())
              + f"; queries with no result: {len(q['no_results'])} (target 0) {' '.join(q['no_results'])}")
    for miss in q["misses"]:
        print(f"  miss: {miss['query']} → {miss['got']} (expected {miss['expect']})")


def print_speed(s: dict) -> None:
    print(f"{'query':<24}{'hits':>8}{'search p50':>12}{'LIKE p50':>10}")
    for row in s["per_query"]:
        print(f"{row['query']:<24}{row['total']:>8}{row['search_p50']:>12}{row['like_p50']:>10}")
    print(f"search with snippets: p50 {s['search_p50_ms']} ms, p95 {s['search_p95_ms']} ms "
          f"(target p95 < 50 ms)")
    print(f"LIKE '%…%' scan:      p50 {s['like_p50_ms']} ms, p95 {s['like_p95_ms']} ms")
    print(f"ratio LIKE/search:    p50 {s['ratio_p50']}×, p95 {s['ratio_p95']}× (target ≥ 20×)")


def kept_app(folder: Path):
    """The app on a kept build: its SQLite file, index and uploads."""
    return product_app(f"sqlite:///{folder / 'bench.sqlite3'}", SEARCH_INDEX_DIR=str(folder / "index"),
                       UPLOAD_FOLDER=str(folder / "uploads"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="PostgreSQL URL (emptied!); default: a fresh SQLite file")
    parser.add_argument("--laws", type=int, default=None, help="only the first N laws of the bulk file")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per query")
    parser.add_argument("--rebuild", action="store_true", help="also time `search rebuild` of the bulk set")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build into DIR (new or empty; SQLite only) and keep it for --reuse")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="time the queries against a build kept with --keep (no import)")
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"skipped: {CORPUS} is missing (the shared corpus)")
    if args.reuse:
        reuse(args)
        return
    if args.keep and (args.database or (args.keep.exists() and any(args.keep.iterdir()))):
        sys.exit("--keep needs a new or empty folder and SQLite")
    out: dict = {}
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = args.keep.resolve()
            database = stack.enter_context(fresh_database(f"sqlite:///{tmp / 'bench.sqlite3'}"))
            app = kept_app(tmp)
        else:
            database = stack.enter_context(fresh_database(args.database))
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            app = product_app(database.url, SEARCH_INDEX_DIR=f"{tmp}/index", UPLOAD_FOLDER=f"{tmp}/uploads")
        out["database"] = database.url.split(":")[0]
        names = load_corpus(app)  # indexed by the catch-up after its commit
        out["quality"] = quality(app, names)
        print_quality(out["quality"], "the 35 documents alone")
        build(app, tmp, args.laws, args.rebuild, out)
        print_build(out)
        if args.keep:
            (tmp / "names.json").write_text(json.dumps(names))
            (tmp / "build.json").write_text(json.dumps(out, ensure_ascii=False, indent=2))
        out["speed"] = speed(app, args.repeat)
        print_speed(out["speed"])
    write_out(out)


def reuse(args) -> None:
    """Quality (with the bulk laws beside the 35 documents) and speed against a kept build."""
    folder = args.reuse.resolve()
    out = json.loads((folder / "build.json").read_text())
    out["reused"] = str(folder)
    print_build(out)
    app = kept_app(folder)
    names = {int(k): v for k, v in json.loads((folder / "names.json").read_text()).items()}
    if args.rebuild:
        out.pop("import", None)
        out["bulk_index"] = rebuild(app)
        print_build(out)
    print_quality(out["quality"], "the 35 documents alone, at build time")
    out["quality_bulk"] = quality(app, names)
    print_quality(out["quality_bulk"], "beside the bulk laws")
    out["speed"] = speed(app, args.repeat)
    print_speed(out["speed"])
    write_out(out)


def write_out(out: dict) -> None:
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"search-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
