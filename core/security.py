"""Security headers, in one place: every response of the application carries them (pages, the API, file
downloads, errors, the heartbeat's WSGI fast path): ``SecurityHeaders`` wraps the whole WSGI stack.

- Content-Security-Policy: scripts only from this site (no inline script, no ``on...=`` handlers, no
  ``javascript:`` URLs: behaviour lives in static/js, see static/js/site.js); styles from this site plus
  inline style attributes (they cannot run code; Bootstrap and a few templates use them); images from this
  site and ``data:`` (Bootstrap's icons); nothing may frame a page (``frame-ancestors 'none'``, with
  ``X-Frame-Options: DENY`` for old browsers), forms post only here, no plugins.
- ``Referrer-Policy: same-origin``, ``X-Content-Type-Options: nosniff``.
- ``Strict-Transport-Security`` when ``HSTS_SECONDS`` is set (only behind HTTPS; see README's nginx recipe).
"""
from __future__ import annotations

from flask import Flask

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "media-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def security_headers(config) -> list[tuple[str, str]]:
    """The headers every response carries, for ``config`` (a Flask config or any mapping)."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    hsts = int(config.get("HSTS_SECONDS") or 0)
    if hsts > 0:
        headers.append(("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"))
    return headers


class SecurityHeaders:
    """WSGI middleware, the outermost layer: adds ``security_headers`` to every response that lacks them, the
    heartbeat's fast path (which answers without Flask) included. One place, one list; a response that sets
    one of them itself (a download's nosniff) keeps its own."""

    def __init__(self, wsgi_app, config):
        self.wsgi_app = wsgi_app
        self.headers = security_headers(config)  # read once: the list is the same for every response
        self.names = {name.lower() for name, _value in self.headers}

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _value in headers} & self.names
            if present:
                headers = headers + [(n, v) for n, v in self.headers if n.lower() not in present]
            else:
                headers = headers + self.headers
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)


def init_app(app: Flask) -> None:
    """Wrap the whole WSGI stack (call last in create_app, after any other middleware)."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.config)
