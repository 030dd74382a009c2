"""`flask db upgrade` on an empty database produces exactly the models' schema (SQLite and PostgreSQL)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from app import create_app
from core.extensions import db
from tests.conftest import DATABASE_URL, ON_POSTGRES


def drop_everything(engine):
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public"))


def test_migrations_match_the_models(tmp_path):
    url = DATABASE_URL if ON_POSTGRES else f"sqlite:///{tmp_path}/migrated.db"
    application = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with application.app_context():
        db.session.remove()
        drop_everything(db.engine)
        try:
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
                differences = compare_metadata(context, db.metadata)
            assert differences == [], f"models and migrations differ: {differences}"
            assert "alembic_version" in inspect(db.engine).get_table_names()
        finally:
            db.session.remove()
            drop_everything(db.engine)
            if ON_POSTGRES:
                db.engine.dispose()
