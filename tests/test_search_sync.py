"""The index follows the database: edits, several writers at once, a worker killed after answering,
two application servers with their own index folders on one database, a rebuild while searching."""
from __future__ import annotations

import json
import time
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import insert

from app import create_app
from core import clock
from core.extensions import db
from courses import services as course_services
from courses.materials import archive_material
from search import indexing, services
from search.models import IndexLogEntry
from tests.conftest import DATABASE_URL, ON_POSTGRES, reset_database
from tests.conftest import testing_config as config_for_tests
from tests.search_helpers import add_text_material, published_course

# the index catches up on a connection of its own after each commit: these tests need real commits
pytestmark = pytest.mark.usefixtures("committing_app")

ROOT = Path(__file__).resolve().parent.parent
ANYONE = AnonymousUserMixin()


def titles(query: str, user=ANYONE) -> list[str]:
    return [r.title for r in services.search(user, query, per_page=50).results]


def test_index_follows_publish_edit_archive_delete(app, grid):
    trainer, member = grid["trainer"], grid["members"]["R-1-1"][0]
    course = published_course(trainer, "基层治理课程", summary="网格化管理", publish=False,
                              lectures=[("第一讲 网格员", "网格员的职责。")])
    assert titles("网格", member) == []  # a draft is never found

    course_services.publish(course, trainer)
    db.session.commit()
    assert set(titles("网格", member)) == {"基层治理课程", "第一讲 网格员"}

    course_services.update_course(course, trainer, title="社区治理课程")
    db.session.commit()
    assert "社区治理课程" in titles("网格", member) and "基层治理课程" not in titles("网格", member)

    course_services.delete_lecture(course.lectures[0], trainer)
    db.session.commit()
    assert titles("网格员", member) == []

    material = add_text_material("网格化手册", "网格化服务管理手册。")
    assert "网格化手册" in titles("网格化")
    archive_material(material, trainer)
    db.session.commit()
    assert "网格化手册" not in titles("网格化")

    db.session.delete(material)
    db.session.commit()
    assert "网格化手册" not in titles("网格化")


def test_a_gap_no_transaction_can_fill_is_skipped_without_any_clock(app):
    add_text_material("先来", "顺序测试甲")
    head = indexing.log_head()
    # seq head+1 was never committed (a rolled-back transaction); head+2 committed
    db.session.execute(insert(IndexLogEntry.__table__).values(seq=head + 2, kind="material", object_id=999,
                                                              at=clock.utcnow()))
    db.session.commit()
    engine = indexing.get_engine()
    indexing.catch_up(blocking=True)  # PostgreSQL: notes the transactions running when it saw the gap
    indexing.catch_up(blocking=True)  # ... all ended since: nothing can fill it any more
    assert engine.applied_seq() == head + 2


# --- several processes ---------------------------------------------------------------------------------

WORKER = r"""
import json, os, signal, sys
from app import create_app
from core.extensions import db
from tests.search_helpers import add_text_material
from search import indexing

spec = json.loads(sys.argv[1])
app = create_app({"SECRET_KEY": "t", "SEARCH_INDEX_DIR": spec["index"]})
with app.app_context():
    if spec.get("die_while_indexing"):
        engine = indexing.get_engine()
        def die(*args, **kwargs):
            print("acknowledged", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # mid-indexing, holding the writer locks
        engine.apply = die
    for i in range(spec["count"]):
        add_text_material(f"{spec['tag']}第{i}号", f"{spec['tag']} 并发写入测试 第{i}号")
    print("done", flush=True)
"""


@pytest.fixture
def shared_database(tmp_path):
    """A database several processes can open: the test PostgreSQL database, or an SQLite file."""
    url = DATABASE_URL if ON_POSTGRES else f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    main = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=url, SEARCH_INDEX_DIR=str(tmp_path / "index-main")))
    with main.app_context():
        reset_database()
    yield url
    with main.app_context():
        db.session.remove()
        db.drop_all()


def app_on(url: str, index_dir: Path):
    return create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=url, SEARCH_INDEX_DIR=str(index_dir)))


def run_workers(url: str, specs: list[dict]) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(spec)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for spec in specs]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_several_workers_writing_at_once_lose_nothing(shared_database, tmp_path):
    index_dir = tmp_path / "server-index"
    specs = [{"tag": tag, "count": 5, "index": str(index_dir)} for tag in ("甲组", "乙组", "丙组", "丁组")]
    for result in run_workers(shared_database, specs):
        assert result.returncode == 0, result.stderr
        assert "LockError" not in result.stderr and "catch-up after commit failed" not in result.stderr
    with app_on(shared_database, index_dir).app_context():
        assert indexing.get_engine().stats()["documents"] == 20  # every worker's commit was applied
        for tag in ("甲组", "乙组", "丙组", "丁组"):
            assert len(titles(tag)) == 5


def test_a_worker_killed_after_acknowledging_loses_nothing(shared_database, tmp_path):
    index_dir = tmp_path / "server-index"
    with app_on(shared_database, index_dir).app_context():
        indexing.catch_up(blocking=True)  # the server's index exists; the worker only has to apply
    [result] = run_workers(shared_database, [{"tag": "遗言", "count": 1, "index": str(index_dir),
                                             "die_while_indexing": True}])
    assert result.returncode == -9 and "acknowledged" in result.stdout  # committed, then killed
    with app_on(shared_database, index_dir).app_context():
        assert titles("遗言") == ["遗言第0号"]


def test_two_servers_with_their_own_index_on_one_database(shared_database, tmp_path):
    server_a = app_on(shared_database, tmp_path / "index-a")
    server_b = app_on(shared_database, tmp_path / "index-b")
    with server_b.app_context():
        assert titles("两地") == []  # server B has built its (empty) index
    with server_a.app_context():
        material = add_text_material("两地同步", "在一台服务器发布，两地同步可查")
        material_id = material.id
    with server_b.app_context():
        assert titles("两地") == ["两地同步"]
        archive_material(db.session.get(type(material), material_id))
        db.session.commit()
    with server_a.app_context():
        assert titles("两地") == []
    assert (tmp_path / "index-a" / "current").exists() and (tmp_path / "index-b" / "current").exists()


# --- rebuild -------------------------------------------------------------------------------------------

def test_rebuild_while_searching(app, client):
    for i in range(30):
        add_text_material(f"重建资料{i}", f"重建测试文本 第{i}篇")
    old_dir = indexing.get_engine().current_dir()
    seen_during = []

    def progress(count: int):
        if count == 10:
            seen_during.append(client.get("/api/v1/search", query_string={"q": "重建测试"}).get_json()["total"])
            add_text_material("重建中新增", "重建测试文本 新增的一篇")  # committed during the rebuild

    stats = indexing.rebuild(progress=progress)
    assert seen_during == [30]  # the old index answered during the rebuild
    assert indexing.get_engine().current_dir() != old_dir
    assert stats["documents"] == 31
    data = client.get("/api/v1/search", query_string={"q": "重建测试", "per_page": 50}).get_json()
    assert data["total"] == 31 and "重建中新增" in [r["title"] for r in data["results"]]


def test_rebuild_and_catch_up_commands(app, runner):
    add_text_material("命令行资料", "命令行重建测试")
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "索引已重建：1 篇文档" in result.output
    result = runner.invoke(args=["search", "catch-up"])
    assert result.exit_code == 0 and "索引中共 1 篇文档" in result.output
    assert titles("命令行") == ["命令行资料"]


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: a transaction committing after a later one "
                                            "(SQLite writes one transaction at a time, so its log has no such gap)")
def test_a_slow_transaction_is_indexed_on_every_server(shared_database, tmp_path, monkeypatch):
    """A change whose log row was written 45 s (by the clock) before its commit, while later changes committed
    and were indexed: every server indexes it once it commits (the log used to drop gaps older than 30 s)."""
    from sqlalchemy.orm import Session

    from courses.models import Material

    servers = [app_on(shared_database, tmp_path / "index-a"), app_on(shared_database, tmp_path / "index-b")]
    with servers[0].app_context():
        add_text_material("先建索引", "慢事务测试 起点")
        slow = Session(db.engine)  # another connection: its log row now, its commit much later
        slow.add(Material(title="慢事务资料", file_kind="txt", file_key="test/slow.txt", filename="slow.txt",
                          mime="text/plain", size=9, text="迟到的提交 慢事务", category="", sha256="f" * 64))
        slow.flush()
        add_text_material("后提交的资料", "后来者 慢事务")  # a later sequence number, committed first
    for server in servers:
        with server.app_context():
            indexing.catch_up(blocking=True)
            assert "后提交的资料" in titles("慢事务") and "慢事务资料" not in titles("慢事务")
    real_now = clock.utcnow()
    monkeypatch.setattr(clock, "utcnow", lambda: real_now + timedelta(seconds=45))
    for server in servers:  # 45 s later by the clock, still open: still waited for
        with server.app_context():
            indexing.catch_up(blocking=True)
    slow.commit()
    slow.close()
    for server in servers:
        with server.app_context():
            indexing.catch_up(blocking=True)
            assert {"后提交的资料", "慢事务资料"} <= set(titles("慢事务"))
            assert indexing.get_engine().applied_seq() == indexing.log_head()
            db.session.remove()


def test_with_the_background_indexer_no_request_indexes(shared_database, tmp_path, monkeypatch):
    """Under gunicorn each worker runs the indexer thread: a commit only wakes it, a search never waits for it."""
    import threading

    calls = []
    real_catch_up = indexing.catch_up

    def recording_catch_up(*args, **kwargs):
        calls.append(threading.current_thread().name)
        return real_catch_up(*args, **kwargs)

    monkeypatch.setattr(indexing, "catch_up", recording_catch_up)
    app = app_on(shared_database, tmp_path / "index-bg")  # a database the indexer thread's connection shares
    app.config["SEARCH_WORKER_INTERVAL"] = 0.2
    context = app.app_context()
    context.push()
    indexing.start_indexer(app)
    try:
        add_text_material("后台索引的资料", "后台线程 建立索引")  # committed here: the thread indexes it
        titles("后台线程")  # a search: answered from the index as it is
        deadline = time.monotonic() + 10
        while "后台索引的资料" not in titles("后台线程") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "后台索引的资料" in titles("后台线程")
        assert calls and set(calls) == {"search-indexer"}  # never in the request's (here: the test's) thread
    finally:
        app.extensions.pop("search_indexer").stop()
        db.session.remove()
        context.pop()


def test_flask_search_worker_once_catches_up(app):
    add_text_material("命令行索引", "命令行 工作进程")
    result = app.test_cli_runner().invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert indexing.get_engine().applied_seq() == indexing.log_head()
