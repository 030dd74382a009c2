"""Flask's signed-cookie sessions, cheaper per request.

Flask builds a new serializer (and derives its HMAC key) for every request and checks the cookie's
signature every time, although a browser sends the same cookie on request after request. Here the
serializer is built once per secret key, and a cookie whose signature was verified is remembered
(its payload and signing time, per worker process): the next request with exactly the same cookie
skips the HMAC, but still has its age checked against ``PERMANENT_SESSION_LIFETIME``. Each request gets its own
session object: a payload whose values are all immutable scalars (a logged-in session: user id, flags, CSRF
token) is decoded once and copied per request; any other (flashes are lists) is decoded afresh, so no two
requests ever share a mutable value. Any other cookie — changed by one byte, signed with another key — goes
through itsdangerous as before.
"""
from __future__ import annotations

import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

VERIFIED_COOKIES_MAX = 4096  # remembered cookies per worker; the memo is emptied when full
_SCALARS = (str, int, float, bool, type(None))


def _shareable(data: dict) -> dict | None:
    """``data`` when a shallow copy of it can be handed to each request (every value immutable), else None."""
    return data if all(type(value) in _SCALARS for value in data.values()) else None


class SignedCookieSessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializer_key: tuple | None = None
        self._serializer: URLSafeTimedSerializer | None = None
        # cookie -> (signed payload, signing time, the decoded payload when its values are all immutable)
        self._verified: dict[str, tuple[bytes, int, dict | None]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if key != self._serializer_key:
            self._serializer = super().get_signing_serializer(app)
            self._serializer_key = key
            self._verified = {}
        return self._serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._verified.get(cookie)
        if known is not None:
            payload, signed_at, data = known
            age = int(time.time()) - signed_at
            if 0 <= age <= max_age:
                return self.session_class(data if data is not None else serializer.load_payload(payload))
            self._verified.pop(cookie, None)
        try:
            data, signed_at = self._verify(serializer, cookie, max_age)
        except BadSignature:
            return self.session_class()
        return self.session_class(data)

    def _verify(self, serializer: URLSafeTimedSerializer, cookie: str, max_age: int):
        """Like ``serializer.loads(cookie, max_age)``; remembers the verified payload."""
        error: BadSignature | None = None
        for signer in serializer.iter_unsigners():
            try:
                payload, signed_at = signer.unsign(cookie, max_age=max_age, return_timestamp=True)
            except SignatureExpired:
                raise  # signed by this key, but too old: no other key can make it younger
            except BadSignature as exc:
                error = exc
                continue
            data = serializer.load_payload(payload)
            if len(self._verified) >= VERIFIED_COOKIES_MAX:
                self._verified = {}
            self._verified[cookie] = (payload, int(signed_at.timestamp()), _shareable(data))
            return data, signed_at
        raise error or BadSignature("no signer")
