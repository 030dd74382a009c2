"""Open Party School (开放式网络党校): the application factory. Wiring only."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from core import api as api_frame
from core import clock, permissions
from core.config import load_config
from core.nav import add_nav_link, home_panels, nav_links
from core.extensions import babel, bootstrap, csrf, db, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=app.config["PROXY_FIX_X_FOR"])
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    return app


def select_locale() -> str:
    languages = list(current_app.config["LANGUAGES"])
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or languages[0]


def import_models() -> None:
    """Every model module, so the metadata (create_all, Alembic) knows every table."""
    import accounts.models  # noqa: F401
    import courses.models  # noqa: F401
    import learning.models  # noqa: F401
    import quizzes.models  # noqa: F401
    import search.models  # noqa: F401


def register_extensions(app: Flask) -> None:
    import_models()
    db.init_app(app)
    set_sqlite_pragmas(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path) / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["DISPLAY_TIMEZONE"])
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    from accounts import auth

    auth.init_login(login_manager)
    app.before_request(permissions.enforce_access)

    from search import indexing as search_indexing

    search_indexing.init_app(app)


def set_sqlite_pragmas(app: Flask) -> None:
    """On SQLite, run ``SQLITE_PRAGMAS`` on every new connection (WAL: readers never block the writer;
    synchronous=NORMAL: no fsync per commit, still safe when a worker is killed)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") or not app.config.get("SQLITE_PRAGMAS"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for pragma in app.config["SQLITE_PRAGMAS"]:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

def register_blueprints(app: Flask) -> None:
    from accounts.api import bp as accounts_api
    from accounts.views import NAV_LINKS as accounts_nav
    from accounts.views import bp as accounts_views
    from core.views import bp as core_views

    for blueprint in (core_views, accounts_views, accounts_api):
        app.register_blueprint(blueprint)
    for link in accounts_nav:
        add_nav_link(app, link)
    register_library(app)
    register_courses(app)
    register_learning(app)
    register_search(app)
    register_quizzes(app)
    register_reports(app)
    for endpoint in ("static", "bootstrap.static"):
        if endpoint in app.view_functions:
            permissions.mark_public_endpoint(app, endpoint)


def register_library(app: Flask) -> None:
    """The study materials library (学习资料库), material files and lecture video streams."""
    from courses.library import NAV_LINKS as library_nav
    from courses.library import bp as library_views
    from courses.library_api import bp as library_api

    for blueprint in (library_views, library_api):
        app.register_blueprint(blueprint)
    for link in library_nav:
        add_nav_link(app, link)


def register_courses(app: Flask) -> None:
    """The catalog, course and lecture pages, authoring (/teach/), required courses, and their API."""
    from core.nav import add_home_panel
    from courses.api import bp as courses_api
    from courses.teach import NAV_LINKS as teach_nav
    from courses.teach import bp as teach_views
    from courses.views import NAV_LINKS as courses_nav
    from courses.views import bp as courses_views

    for blueprint in (courses_views, teach_views, courses_api):
        app.register_blueprint(blueprint)
    for link in courses_nav + teach_nav:
        add_nav_link(app, link)
    add_home_panel(app, "courses/_home_panel.html")


def register_learning(app: Flask) -> None:
    """Training hours: study sessions and heartbeats, offline classes, manual entries, certificates."""
    from core.nav import add_home_panel
    from learning.views import BLUEPRINTS as learning_blueprints
    from learning.views import NAV_LINKS as learning_nav

    for blueprint in learning_blueprints():
        app.register_blueprint(blueprint)
    for link in learning_nav:
        add_nav_link(app, link)
    add_home_panel(app, "learning/_home_hours.html")

def register_search(app: Flask) -> None:
    """Full-text search: the results page and GET /api/v1/search."""
    from search.api import bp as search_api
    from search.views import bp as search_views

    for blueprint in (search_views, search_api):
        app.register_blueprint(blueprint)


def register_quizzes(app: Flask) -> None:
    """Question banks, quizzes and exams: member pages, trainer pages, the attempts API."""
    from quizzes.api import bp as quizzes_api
    from quizzes.views import NAV_LINKS as quizzes_nav
    from quizzes.views import bp as quizzes_views

    for blueprint in (quizzes_views, quizzes_api):
        app.register_blueprint(blueprint)
    for link in quizzes_nav:
        add_nav_link(app, link)


def register_reports(app: Flask) -> None:
    """Organizers' 学时统计: compliance dashboard, member ledgers, reminders, exports."""
    from learning.report_views import NAV_LINKS as reports_nav
    from learning.report_views import bp as reports_views

    app.register_blueprint(reports_views)
    for link in reports_nav:
        add_nav_link(app, link)


def register_errorhandlers(app: Flask) -> None:
    app.register_error_handler(api_frame.ApiError, api_frame.handle_api_error)

    def handle_http(error: HTTPException):
        if permissions.is_api_request():
            return api_frame.http_exception_as_json(error)
        if error.code == 400:
            return render_template("errors/400.html", csrf_expired=isinstance(error, CSRFError)), 400
        if error.code in (403, 404, 500):
            return render_template(f"errors/{error.code}.html"), error.code
        return error

    def handle_unexpected(error: Exception):
        app.logger.exception("unhandled error")
        db.session.rollback()
        if permissions.is_api_request():
            return api_frame.json_error(500, _("服务器出错了，请稍后再试。"))
        return render_template("errors/500.html"), 500

    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(SQLAlchemyError, handle_unexpected)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)


def register_commands(app: Flask) -> None:
    import click

    from accounts import demo as accounts_demo
    from accounts.cli import users_cli

    app.cli.add_command(users_cli)
    from courses.cli import materials_cli

    app.cli.add_command(materials_cli)
    from quizzes.cli import quizzes_cli

    app.cli.add_command(quizzes_cli)
    from search.cli import search_cli

    app.cli.add_command(search_cli)

    from learning import report_cli

    report_cli.register(app)  # `flask hours export`
    from learning import cli as learning_cli

    learning_cli.register(app)  # `flask hours requirements`, `flask hours require`

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Load only into a database that has no users yet.")
    def demo_command(if_empty: bool):
        """Load the demo district (idempotent: a second run changes nothing)."""
        if if_empty and accounts_demo.database_has_users():
            click.echo(_("数据库中已有用户，未加载演示数据。"))
            if not accounts_demo.is_loaded():
                return
        logins = accounts_demo.load()
        from courses import demo as courses_demo

        courses_demo.load()  # courses of every lecture kind, some required for parts of the grid
        from courses import demo_library

        demo_library.load()  # the study materials library, after the courses
        from quizzes import demo as quizzes_demo

        quizzes_demo.load()  # a bank and a quiz per course, after the courses
        from learning import demo as learning_demo

        learning_demo.load()  # a year of training hours, after courses and quizzes
        db.session.commit()
        click.echo(_("演示数据已就绪。演示账号（密码均为 %(password)s）：", password=accounts_demo.DEMO_PASSWORD))
        for role, name, phone in logins:
            click.echo(f"  {role:<10} {name:<8} {phone}")


def register_template_helpers(app: Flask) -> None:
    @app.template_filter("localtime")
    def localtime(value, fmt: str = "%Y-%m-%d %H:%M"):
        local = clock.to_local(value, app.config["DISPLAY_TIMEZONE"])
        return local.strftime(fmt) if local else ""

    @app.context_processor
    def inject_helpers():
        from flask_babel import get_locale

        return {"has_role": permissions.has_role, "Role": permissions.Role,
                "current_locale": str(get_locale() or "zh"), "nav_links": nav_links(app),
                "home_panels": home_panels(app)}
