"""The application factory and configuration."""
import os

from app import create_app
from core.config import instance_secret_key, normalise_database_url


def test_testing_config_is_applied(app):
    assert app.testing
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_factory_without_test_config_is_not_testing(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    application = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not application.testing


def test_database_url_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/ops")
    application = create_app({"SECRET_KEY": "x"})
    assert application.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/ops"


def test_prefixed_environment_settings(monkeypatch):
    monkeypatch.setenv("FLASK_LOGIN_MAX_FAILURES", "9")
    application = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert application.config["LOGIN_MAX_FAILURES"] == 9


def test_normalise_database_url_keeps_sqlite():
    assert normalise_database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_first_run_writes_a_random_secret_key_and_keeps_it(tmp_path):
    first = instance_secret_key(str(tmp_path))
    second = instance_secret_key(str(tmp_path))
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    other = instance_secret_key(str(tmp_path / "elsewhere"))
    assert other != first


def test_secret_key_is_not_in_git():
    root = os.path.dirname(os.path.dirname(__file__))
    ignored = open(os.path.join(root, ".gitignore")).read().split()
    assert "instance/" in ignored


def test_healthz_round_trips_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    report = response.get_json()
    assert report["status"] == "ok"
    assert report["search"]["behind"] == 0  # how far this server's search index is behind the log


def test_livez_answers_without_the_database(tmp_path):
    application = create_app({"TESTING": True, "SECRET_KEY": "x",
                              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    response = application.test_client().get("/livez")
    assert response.status_code == 200
    assert response.mimetype == "text/plain" and response.get_data(as_text=True) == "ok\n"


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    application = create_app({"TESTING": True, "SECRET_KEY": "x",
                              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    response = application.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] != "ok"
