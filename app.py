"""Open Party School (开放式网络党校): the application factory. Wiring only."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app, has_request_context, render_template, request, session
from flask.cli import with_appcontext
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import accounts.models  # noqa: F401  (every model module, so create_all and Alembic see every table)
import core.throttle  # noqa: F401
import courses.models  # noqa: F401
import learning.models  # noqa: F401
import classes.models  # noqa: F401
import quizzes.models  # noqa: F401
import search.models  # noqa: F401
import messages.models  # noqa: F401
from accounts import activation_views as accounts_activation
from accounts import api as accounts_api
from accounts import auth as accounts_auth
from accounts import cli as accounts_cli
from accounts import demo as accounts_demo
from accounts import views as accounts_views
from core import api as api_frame
from core import clock, permissions
from core import cache as core_cache
from core.chrome import page_chrome
from core import views as core_views
from core import jobs as core_jobs
from core import requests as core_requests
from core import security as core_security
from core.config import load_config, shared_secret_warning
from core.database import set_sqlite_pragmas
from core.extensions import babel, bootstrap, csrf, db, login_manager, migrate
from core.nav import add_home_panel, add_nav_link, nav_links, visible_nav
from core.views import large_text_on
from courses import api as courses_api
from courses import cache as courses_cache
from courses import cli as courses_cli
from courses import demo as courses_demo
from courses import demo_library
from courses import library as courses_library
from courses import library_api as courses_library_api
from courses import teach as courses_teach
from courses import views as courses_views
from courses.pages import add_viewer_box
from learning import heartbeat_api
from classes import api as classes_api
from classes import calendar as classes_calendar
from classes import cli as classes_cli
from classes import demo as classes_demo
from classes import manage_views as classes_manage_views
from classes import views as classes_views
from learning import cli as learning_cli
from learning import demo as learning_demo
from reports import cli as reports_cli  # noqa: F401  (its `export` joins learning_cli.hours_cli)
from reports import views as reports_views
from reports import reminders as reports_reminders
from learning import views as learning_views
from messages import views as messages_views
from quizzes import api as quizzes_api
from quizzes import authoring as quizzes_authoring
from quizzes import cli as quizzes_cli
from quizzes import demo as quizzes_demo
from quizzes import plans as quizzes_plans
from quizzes import views as quizzes_views
from search import api as search_api
from search import cli as search_cli
from search import indexing as search_indexing
from search import views as search_views

BLUEPRINTS = (
    core_views.bp, accounts_views.bp, accounts_activation.bp, accounts_api.bp, messages_views.bp,
    courses_views.bp, courses_teach.bp, courses_api.bp, courses_library.bp, courses_library_api.bp,
    quizzes_views.bp, quizzes_authoring.bp, quizzes_api.bp,
    *learning_views.BLUEPRINTS(), reports_views.bp,
    search_views.bp, search_api.bp,
    classes_api.bp, classes_calendar.bp,
    classes_views.bp, classes_manage_views.bp,
)
NAV_LINKS = [*courses_views.NAV_LINKS, *courses_library.NAV_LINKS, *quizzes_views.NAV_LINKS,
             *quizzes_authoring.NAV_LINKS, *learning_views.NAV_LINKS,
             *courses_teach.NAV_LINKS, *accounts_views.NAV_LINKS, *reports_views.NAV_LINKS,
             *classes_views.NAV_LINKS]
HOME_PANELS = (courses_views.HOME_PANEL, learning_views.HOME_PANEL, classes_views.HOME_PANEL,
               reports_views.HOME_PANEL)  # (partial, its data)
# Demo loaders in dependency order: the grid, courses, the library, quiz banks, a year of hours.
DEMO_LOADERS = (courses_demo.load, demo_library.load, quizzes_demo.load, learning_demo.load,
                classes_demo.load)


def create_app(config: dict | None = None) -> Flask:
    # OPS_INSTANCE_PATH: another instance folder (absolute) than ./instance, e.g. one per CI job run side by side
    app = Flask(__name__, instance_path=os.environ.get("OPS_INSTANCE_PATH") or None, instance_relative_config=True)
    load_config(app, config)
    if app.testing and app.config.get("TEST_CLOCK_FILE"):  # tests driving a real server move its clock
        clock.follow_file(app.config["TEST_CLOCK_FILE"])
    core_requests.init_app(app)  # bounded <int:> ids and query integers, per-route body limits
    core_jobs.init_app(app)  # Huey: SQLite file, or Redis with REDIS_URL; immediate in tests
    if app.config["HEARTBEAT_FAST_PATH"]:  # study heartbeats skip the Flask cycle (bench/heartbeat.py)
        app.wsgi_app = heartbeat_api.HeartbeatFastPath(app, app.wsgi_app)
    if app.config["PROXY_FIX_X_FOR"]:
        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    if "gunicorn" in sys.modules and shared_secret_warning(app):
        app.logger.warning(shared_secret_warning(app))
    core_security.init_app(app)  # CSP, frame, referrer, nosniff on every response: wraps the WSGI stack, last
    return app


def select_locale():
    """The language chosen in the session, the user's, or the browser's."""
    languages = tuple(current_app.config["LANGUAGES"])
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    user = current_user._get_current_object()
    if user and user.is_authenticated and user.locale in languages:
        return user.locale
    return request.accept_languages.best_match(languages) or languages[0]


def register_extensions(app: Flask) -> None:
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
    accounts_auth.init_login(login_manager)
    app.after_request(accounts_auth.keep_token_use)
    app.before_request(permissions.enforce_access)
    core_cache.init_app(app)  # Flask-Caching: SimpleCache, or Redis when REDIS_URL is set
    courses_cache.init_app(app)  # the content version, changed in the transaction that changes content
    quizzes_plans.init_app(app)  # quizzes' draw plans: a new version in the transaction that changes them
    search_indexing.init_app(app)  # index log rows written with every content change; catch-up after commit


def register_blueprints(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    for link in NAV_LINKS:
        add_nav_link(app, link)
    for template, data in HOME_PANELS:
        add_home_panel(app, template, data)
    add_viewer_box(app, learning_views.COURSE_BOX)  # the course page's hours box
    for endpoint in ("static", "bootstrap.static"):
        if endpoint in app.view_functions:
            permissions.mark_public_endpoint(app, endpoint)


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
    app.cli.add_command(accounts_cli.users_cli)
    app.cli.add_command(courses_cli.materials_cli)
    app.cli.add_command(quizzes_cli.quizzes_cli)
    app.cli.add_command(search_cli.search_cli)
    app.cli.add_command(classes_cli.classes_cli)  # flask classes export / list / types
    app.cli.add_command(reports_reminders.reminders_cli)  # flask reminders due-soon (daily, via flask once)
    app.cli.add_command(learning_cli.hours_cli)  # flask hours requirements / require / ... / export (reports_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(check_secret_key_command)
    app.cli.add_command(once_command)


@click.command("once", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@with_appcontext
def once_command(command):
    """Run a flask command unless another server runs it now (cron on every server: once per cluster)."""
    from core.cluster import cluster_lock

    with cluster_lock(" ".join(command)) as held:
        if not held:
            click.echo(f"{' '.join(command)}: already running on another server", err=True)
            return
        current_app.cli.main(args=list(command), prog_name="flask", standalone_mode=False)


@click.command("check-secret-key")
@with_appcontext
def check_secret_key_command():
    """Warn loudly when servers sharing a database could sign with different keys (make run calls it)."""
    from core.extensions import db as database
    from sqlalchemy import inspect

    warning = shared_secret_warning(current_app)
    if warning and inspect(database.engine).has_table("users"):  # an existing database others may use
        banner = "!" * 78
        click.echo(f"{banner}\n{warning}\n{banner}", err=True)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Load only into a database that has no users yet.")
@with_appcontext
def demo_command(if_empty: bool):
    """Load the demo district (idempotent: a second run changes nothing)."""
    if if_empty and accounts_demo.database_has_users():
        click.echo(_("数据库中已有用户，未加载演示数据。"))
        if not accounts_demo.is_loaded():
            return
    logins = accounts_demo.load()
    for load in DEMO_LOADERS:
        load()
    db.session.commit()
    click.echo(_("演示数据已就绪。演示账号（密码均为 %(password)s）：", password=accounts_demo.DEMO_PASSWORD))
    for role, name, login in logins:
        click.echo(f"  {role:<10} {name:<8} {login}")


def register_template_helpers(app: Flask) -> None:
    @app.template_filter("localtime")
    def localtime(value, fmt: str = "%Y-%m-%d %H:%M"):
        local = clock.to_local(value, app.config["DISPLAY_TIMEZONE"])
        return local.strftime(fmt) if local else ""

    @app.context_processor
    def inject_helpers():
        return {"has_role": permissions.has_role, "Role": permissions.Role,
                "current_locale": str(get_locale() or "zh"), "nav_links": nav_links(app),
                "nav_items": lambda: visible_nav(app, current_user),
                "chrome": page_chrome(app), "large_text_on": large_text_on}
