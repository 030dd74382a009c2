"""Whole learner pages (catalog, course page, lecture page) cached as HTML with holes, so a hit skips Jinja.

A page is rendered once per (page version, the viewer's kind, language) with *holes* where one user's data goes:
``<!--NONCE:name-->`` for named parts (the CSRF token, the user's name in the menu, the course page's progress and
enrolment panel, the hours box, a lecture's 已完成 mark), ``<!--ub:ID-->``/``<!--lp:ID-->`` for a catalog card's
badges and a lecture's progress, and an alphanumeric token where the request's path goes inside a link (``url_for``
leaves it as it is; it is replaced by the path, URL-encoded the way ``url_for`` encodes it). NONCE is random per
worker process, so no course text can contain a hole; titles and bodies are escaped or sanitized besides.

Each request fills the holes with *its own* user's values, computed afresh (never stored in the cache). Visibility
is decided by the views on the fresh row before a page is looked up; the cache key holds the row's version
(``updated_at``, status), the viewer's visibility key and role (the navigation links depend on it) and the
language, and the entries live in ``courses.cache`` (cleared by a commit on this server, bounded by
``COURSE_CACHE_SECONDS`` elsewhere). Flash messages are a hole too (``templates/_flashes.html``, rendered only
for a request that has some).

Size: a page is 10–40 kB, within ``COURSE_CACHE_MAX_ENTRIES``: a catalog page once per visibility key (a
learner's holds their organization chain) × role × language; a course or lecture page once per role × language
(the view has checked on the fresh row that this viewer may see it; its shared parts do not depend on who).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from urllib.parse import quote_plus

from flask import g, render_template, request, session
from flask_login import current_user
from markupsafe import Markup, escape

from core.chrome import csrf_token
from courses import visibility
from courses.cache import cached
from courses.pages import locale_key

NONCE = secrets.token_hex(8)
PATH_TOKEN = f"opspath{NONCE}x"
FULL_PATH_TOKEN = f"opsfullpath{NONCE}x"
_HOLE = re.compile(rf"<!--(?:(ub|lp):(\d+)|{NONCE}:(\w+))-->|({PATH_TOKEN}|{FULL_PATH_TOKEN})")
_URL_SAFE = "!$'()*,/:;?@"  # werkzeug's url_for query encoding (urlencode with quote_plus)


def hole(name: str) -> Markup:
    return Markup(f"<!--{NONCE}:{name}-->")


def numbered_hole(kind: str) -> Callable[[int], str]:
    """For ``Pieces.fill``: put the per-item marker back, to be filled by the whole page."""
    return lambda item_id: f"<!--{kind}:{item_id}-->"


@dataclass(frozen=True)
class Page:
    """``parts[0] value(holes[0]) parts[1] ...``; a hole is a name (str) or a (kind, id) pair."""

    parts: tuple[str, ...]
    holes: tuple[object, ...]

    @classmethod
    def split(cls, html: str) -> "Page":
        parts, holes, start = [], [], 0
        for match in _HOLE.finditer(html):
            parts.append(html[start:match.start()])
            kind, item_id, name, token = match.groups()
            if kind:
                holes.append((kind, int(item_id)))
            elif name:
                holes.append(name)
            else:
                holes.append("path" if token == PATH_TOKEN else "full_path")
            start = match.end()
        parts.append(html[start:])
        return cls(tuple(parts), tuple(holes))

    def fill(self, named: dict[str, str], numbered: Callable[[str, int], str]) -> str:
        out = [self.parts[0]]
        for hole_, part in zip(self.holes, self.parts[1:]):
            out.append(named[hole_] if isinstance(hole_, str) else numbered(*hole_))
            out.append(part)
        return "".join(out)


class _RequestStandIn:
    """``request`` while a page is rendered for the cache: its paths are tokens, the rest is the real request."""

    path = PATH_TOKEN
    full_path = FULL_PATH_TOKEN

    def __getattr__(self, name):
        return getattr(request, name)


class _ViewerStandIn:
    """``current_user`` while a page is rendered for the cache: the name is a hole, the rest (logged in, role)
    is the real user's, which the cache key holds."""

    def __init__(self, user):
        self._user = user

    @property
    def name(self) -> Markup:
        return hole("name")

    def __getattr__(self, name):
        return getattr(self._user, name)


def render_with_holes(template: str, **context) -> str:
    return render_template(template, **context, csrf_token=lambda: hole("csrf"), request=_RequestStandIn(),
                           current_user=_ViewerStandIn(current_user._get_current_object()),
                           flashes_hole=hole("flashes"))


def viewer_key(user, *, lists_courses: bool = True) -> tuple:
    """What a page's shared parts depend on besides the page itself: their role (the navigation), the language,
    the URL root and — for a page that lists courses (the catalog) — which courses the viewer may see.

    A course or lecture page shows one course, and the view decides on its fresh row whether this viewer may see
    it before the page is looked up; what the page shows is then the same for every viewer of that role, so it
    is kept once per role (``lists_courses=False``), not once per organization chain."""
    role = user.role.value if user.is_authenticated else None
    if not lists_courses:
        return (role, locale_key(), request.script_root)
    return (visibility.visibility_key(user), role, locale_key(), request.script_root)


def request_values(user) -> dict[str, str]:
    """The holes every page has, filled for this request: its CSRF token, its path, its user's name (worked out
    once per request; a copy each time, for the caller to add to)."""
    values = g.get("page_hole_values")
    if values is None:
        values = g.page_hole_values = {
            "csrf": csrf_token(), "path": quote_plus(request.path, safe=_URL_SAFE),
            "full_path": quote_plus(request.full_path, safe=_URL_SAFE),
            "name": str(escape(user.name)) if user.is_authenticated else ""}
    return dict(values)


def render_page(key: Hashable | None, build: Callable[[], str], named: dict[str, str] | None = None,
                numbered: Callable[[str, int], str] | None = None, *, lists_courses: bool = True) -> str:
    """The page for this request: the cached page for ``key`` (built by ``build`` on a miss; ``key=None`` never
    caches) with this user's ``named`` values and ``numbered(kind, id)`` badges filled in. ``lists_courses``:
    see ``viewer_key``; only a view that has checked the viewer may see the page's one course passes False."""
    user = current_user._get_current_object()
    if key is None:
        page = Page.split(build())
    else:
        page = cached(("page",) + tuple(key) + viewer_key(user, lists_courses=lists_courses),
                      lambda: Page.split(build()))
    values = request_values(user)
    values["flashes"] = render_template("_flashes.html") if session.get("_flashes") else ""
    if named:
        values.update(named)
    return page.fill(values, numbered or (lambda _kind, _id: ""))
