"""The page chrome of base.html: the links, Bootstrap tags and translated labels of the navbar and footer, for
the request's language. Per-user parts (name, CSRF token, the current path in the language links) stay in the
template."""
from __future__ import annotations

from flask import Flask, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup


def page_chrome(app: Flask) -> dict:
    locale = str(get_locale() or "")
    bootstrap = app.extensions["bootstrap"]
    return {
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
        "manage": _("管理"),
        "large_text_on": _("长辈模式"),
        "large_text_off": _("标准字号"),
        "large_text_label": _("切换长辈模式（大字号、高对比度）"),
        "large_text_url": url_for("core.toggle_large_text"),
        "footer": _("开放式网络党校 · 线上线下融合的党员教育平台"),
    }
