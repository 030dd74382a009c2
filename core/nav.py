"""Links in the top navigation bar and panels of the home page. Each domain registers its own in
``register_blueprints``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Flask, request, url_for
from flask_babel import get_locale

from core.permissions import Role, has_role


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: object  # a lazy_gettext string
    roles: frozenset[Role] = field(default_factory=frozenset)  # empty: every logged-in user
    anonymous: bool = False  # shown to visitors who are not logged in

    def visible(self, user) -> bool:
        if not user.is_authenticated:
            return self.anonymous
        return not self.roles or has_role(user, *self.roles)


def add_nav_link(app: Flask, link: NavLink) -> None:
    app.extensions.setdefault("ops_nav", []).append(link)
    app.extensions.pop("ops_nav_cache", None)


def nav_links(app: Flask) -> list[NavLink]:
    return app.extensions.get("ops_nav", [])


def visible_nav(app: Flask, user) -> list[tuple[str, str, bool]]:
    """(url, label, managing) of the links ``user`` sees, built once per role and language (not per request):
    a link's visibility depends only on whether the user is logged in and their role. ``managing``: a link for
    some roles only (trainers', organizers' work), which the navbar groups in one 管理 menu so that it never
    wraps."""
    role = user.role.value if user.is_authenticated else None
    key = (role, str(get_locale() or ""), request.script_root)
    cache = app.extensions.setdefault("ops_nav_cache", {})
    items = cache.get(key)
    if items is None:
        items = [(url_for(link.endpoint), str(link.label), bool(link.roles)) for link in nav_links(app)
                 if link.visible(user)]
        cache[key] = items
    return items


@dataclass(frozen=True)
class HomePanel:
    template: str  # a partial (e.g. ``learning/_home_hours.html``); it shows ``panel``
    data: Callable[[Any], Any]  # the logged-in user -> what the partial shows; None or empty: no panel


def add_home_panel(app: Flask, template: str, data: Callable[[Any], Any]) -> None:
    """A partial shown on a logged-in user's home page, with the data ``data(user)`` gives it (the home view
    asks each panel's domain for its data; the partial only shows it)."""
    app.extensions.setdefault("ops_home_panels", []).append(HomePanel(template, data))


def home_panels(app: Flask, user) -> list[tuple[str, Any]]:
    """(template, data) of each panel ``user`` sees, in the order they were added."""
    shown = []
    for panel in app.extensions.get("ops_home_panels", []):
        data = panel.data(user)
        if data:
            shown.append((panel.template, data))
    return shown
