"""Templates present; they don't query. Every function a template may call (Jinja globals and what the context
processors offer) is a pure helper listed here: labels, formats, URLs, the user's role. What needs the database is
computed by the view and passed in (the reports' organization paths are). The one named exception is the
navbar's unread-messages bell, on every page, whose count is one small indexed query."""
from __future__ import annotations

from jinja2 import nodes

# name -> why it does not query
PURE_HELPERS = {
    # Flask, Jinja, Flask-Babel, Flask-WTF, Bootstrap-Flask
    "url_for": "builds a URL", "get_flashed_messages": "reads the session", "session": "the session",
    "_": "translation", "gettext": "translation", "ngettext": "translation", "pgettext": "translation",
    "npgettext": "translation", "lipsum": "Jinja's placeholder text", "csrf_token": "the session's token",
    "csrf_meta_tag": "the session's token", "bootstrap_is_hidden_field": "isinstance",
    "get_table_titles": "reads a model's columns", "warn": "warnings.warn", "raise": "raises",
    # ours
    "has_role": "compares the loaded user's role", "large_text_on": "the loaded user's flag or the session",
    "nav_items": "links per role and language", "cover_url": "a URL from the course's cover key",
    "format_duration": "formats seconds", "format_size": "formats bytes", "format_units": "formats 学时",
    "hours_duration": "formats seconds", "is_overdue": "compares dates", "report_args": "the request's arguments",
    "rule_figure": "formats a computed rule", "rule_label": "a label", "rule_state": "reads a computed rule",
}
QUERYING_EXCEPTIONS = {"unread_messages": "the navbar's bell: one indexed count per page"}


def offered_callables(app) -> set[str]:
    with app.test_request_context("/"):
        context: dict = {}
        app.update_template_context(context)
    offered = {**app.jinja_env.globals, **context}
    return {name for name, value in offered.items() if callable(value) and not isinstance(value, type)}


def called_in_templates(app, names: set[str]) -> dict[str, set[str]]:
    """name -> the templates that call it, from each template's syntax tree (macros' own names are not in
    ``names``, so they are left out)."""
    env = app.jinja_env
    found: dict[str, set[str]] = {}
    for template in env.list_templates(extensions=["html"]):
        tree = env.parse(env.loader.get_source(env, template)[0])
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in names:
                found.setdefault(call.node.name, set()).add(template)
    return found


def test_templates_are_offered_only_pure_helpers(app):
    unknown = sorted(offered_callables(app) - set(PURE_HELPERS) - set(QUERYING_EXCEPTIONS))
    assert not unknown, ("a template function that is not a listed pure helper (compute it in the view and pass "
                         f"the value, or list it in PURE_HELPERS with why it does not query): {unknown}")


def test_templates_call_no_querying_service(app):
    calls = called_in_templates(app, offered_callables(app))
    assert "url_for" in calls and "format_units" in calls  # the scan sees the templates' calls
    assert set(calls["unread_messages"]) == {"messages/_bell.html"}, "the bell is the one exception, in the navbar"
    querying = {name: sorted(templates) for name, templates in calls.items()
                if name not in PURE_HELPERS and name not in QUERYING_EXCEPTIONS}
    assert not querying


def test_the_scan_finds_a_template_that_queries(app):
    """The check above can fail: a template calling an offered service is found."""
    app.jinja_env.globals["organization_paths"] = lambda paths: {}
    try:
        tree = app.jinja_env.parse("{{ organization_paths(page.items) }}")
        assert [c.node.name for c in tree.find_all(nodes.Call)] == ["organization_paths"]
        assert "organization_paths" in offered_callables(app) - set(PURE_HELPERS)
    finally:
        del app.jinja_env.globals["organization_paths"]
