"""Settings a cluster depends on: one secret key for all servers, pooled connections that survive a database
restart, the shared cache's backend, scheduled jobs once per cluster."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from core.config import shared_secret_warning
from tests.conftest import DATABASE_URL, ON_POSTGRES


def test_servers_on_one_database_are_warned_when_each_would_use_its_own_key(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://ops:ops@db.example/ops",
                      "SECRET_KEY": None})
    app.config["SECRET_KEY"] = "from-instance"
    app.config["SECRET_KEY_FROM_INSTANCE_FILE"] = True
    assert "same key" in shared_secret_warning(app).lower()
    app.config["SECRET_KEY_FROM_INSTANCE_FILE"] = False  # FLASK_SECRET_KEY set: nothing to say
    assert shared_secret_warning(app) is None
    local = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    local.config["SECRET_KEY_FROM_INSTANCE_FILE"] = True
    assert shared_secret_warning(local) is None  # one SQLite file: one server


def test_a_key_written_to_the_instance_folder_is_noticed(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://ops:ops@db.example/ops"})
    app.instance_path = str(tmp_path)
    assert app.config.get("SECRET_KEY_FROM_INSTANCE_FILE") is True


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (the warning is about servers sharing a database)")
def test_make_run_says_loudly_that_every_server_needs_the_same_key(app, monkeypatch):
    app.config["SECRET_KEY_FROM_INSTANCE_FILE"] = True
    result = app.test_cli_runner().invoke(args=["check-secret-key"])
    assert "SECRET_KEY" in result.output and "SAME key" in result.output


def test_the_cache_is_redis_when_redis_url_is_set():
    from core.cache import cache

    def backend(app):
        return type(app.extensions["cache"][cache]).__name__

    assert backend(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x",
                               "REDIS_URL": "redis://127.0.0.1:1/0"})) == "RedisCache"
    assert backend(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})) == "SimpleCache"


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (a server restart drops pooled connections)")
def test_connections_dropped_by_a_database_restart_cost_no_request_an_error(tmp_path):
    from sqlalchemy.engine import make_url

    url = make_url(DATABASE_URL)
    name = f"{url.database}_restart"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url.set(database=name).render_as_string(hide_password=False),
                          "SECRET_KEY": "x", "SEARCH_INDEX_DIR": str(tmp_path / "index")})
        client = app.test_client()
        for _ in range(3):
            assert client.get("/healthz").status_code == 200  # a pooled connection now exists
        with admin.connect() as conn:  # what a restart does to every connection of the pool
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                         {"d": name})
        assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
        with app.app_context():
            from core.extensions import db

            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_flask_once_skips_a_job_another_server_is_running(app, tmp_path):
    from core.cluster import cluster_lock

    app.instance_path = str(tmp_path)
    with app.app_context():
        with cluster_lock("quizzes close-expired") as first:
            assert first
            result = app.test_cli_runner().invoke(args=["once", "quizzes", "close-expired"])
            assert "already running" in result.output
        result = app.test_cli_runner().invoke(args=["once", "quizzes", "close-expired"])
        assert "already running" not in result.output and result.exit_code == 0, result.output
