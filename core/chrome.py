"""The page chrome of base.html (links, Bootstrap tags, translated labels), built once per language and
URL root instead of once per page: every page paid ~10 ``url_for`` calls and ~8 ``_()`` lookups for
text that only changes with the language. Per-user parts (name, CSRF token, the current path in the
language links) stay in the template.
"""
from __future__ import annotations

import time

from flask import Flask, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup


def page_chrome(app: Flask) -> dict:
    locale = str(get_locale() or "")
    key = (locale, request.script_root)
    cache = app.extensions.setdefault("ops_chrome_cache", {})
    chrome = cache.get(key)
    if chrome is None:
        bootstrap = app.extensions["bootstrap"]
        chrome = {
            "html_lang": "zh-CN" if locale == "zh" else "en",
            # Two languages: the navbar links straight to the other one (no dropdown, works without JS).
            "other_language": "en" if locale == "zh" else "zh",
            "other_language_tag": "en" if locale == "zh" else "zh-CN",
            "other_language_name": "English" if locale == "zh" else "中文",
            "bootstrap_css": Markup(bootstrap.load_css()),
            "bootstrap_js": Markup(bootstrap.load_js()),
            "site_css": url_for("static", filename="css/site.css"),
            "home": url_for("core.index"),
            "search": url_for("search.results"),
            "profile": url_for("accounts.profile"),
            "logout": url_for("accounts.logout"),
            "login": url_for("accounts.login"),
            "register": url_for("accounts.register"),
            "site_name": _("开放式网络党校"),
            "menu": _("菜单"),
            "search_placeholder": _("搜索"),
            "search_label": _("搜索课程、课件和学习资料"),
            "log_out": _("退出"),
            "log_in": _("登录"),
            "sign_up": _("注册"),
            "close": _("关闭"),
            "footer": _("开放式网络党校 · 线上线下融合的党员教育平台"),
        }
        if len(cache) > 64:
            cache.clear()
        cache[key] = chrome
    return chrome


SIGNED_TOKEN_REUSE_SECONDS = 60  # a session's signed CSRF token is re-signed (new timestamp) at most this often
SIGNED_TOKENS_MAX = 4096


def csrf_token() -> str:
    """Flask-WTF's ``csrf_token()`` for templates, without an HMAC per page: the signed form of the session's
    raw token is kept per worker for a minute (it only signs that session's own token; validation is
    unchanged). Falls back to Flask-WTF whenever the session has no token yet."""
    from flask import current_app, g, session
    from flask_wtf.csrf import generate_csrf

    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    if field in g or not isinstance(raw, str):
        return generate_csrf()
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    memo = current_app.extensions.setdefault("ops_signed_csrf", {})
    now = time.monotonic()
    known = memo.get((secret, raw))
    if known is not None and now - known[1] < SIGNED_TOKEN_REUSE_SECONDS:
        setattr(g, field, known[0])
        return known[0]
    signed = generate_csrf()
    if len(memo) >= SIGNED_TOKENS_MAX:
        memo.clear()
    memo[(secret, raw)] = (signed, now)
    return signed


# --- the request's language ----------------------------------------------------------------------

_LOCALES: dict[str, object] = {}
_BEST_MATCHES: dict[tuple, str | None] = {}
BEST_MATCHES_MAX = 1024  # distinct Accept-Language headers remembered per worker


def as_locale(code: str):
    """Babel's ``Locale`` for ``code``, parsed once per worker (Flask-Babel takes a Locale as it is)."""
    locale = _LOCALES.get(code)
    if locale is None:
        from babel import Locale

        locale = _LOCALES[code] = Locale.parse(code)
    return locale


def best_language(header: str, languages: tuple) -> str | None:
    """``request.accept_languages.best_match(languages)``, parsed once per distinct header."""
    key = (header, languages)
    if key not in _BEST_MATCHES:
        from werkzeug.datastructures import LanguageAccept
        from werkzeug.http import parse_accept_header

        if len(_BEST_MATCHES) >= BEST_MATCHES_MAX:
            _BEST_MATCHES.clear()
        _BEST_MATCHES[key] = parse_accept_header(header, LanguageAccept).best_match(languages)
    return _BEST_MATCHES[key]
