"""Links in the top navigation bar. Each domain registers its own in ``register_blueprints``."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask

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


def nav_links(app: Flask) -> list[NavLink]:
    return app.extensions.get("ops_nav", [])


def add_home_panel(app: Flask, template: str) -> None:
    """A partial shown on a logged-in user's home page (e.g. ``learning/_home_hours.html``)."""
    app.extensions.setdefault("ops_home_panels", []).append(template)


def home_panels(app: Flask) -> list[str]:
    return app.extensions.get("ops_home_panels", [])
