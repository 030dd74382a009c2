"""Security headers on every response (finding 3): one page of every blueprint, the API, a download, errors,
static files; no template runs inline script (the CSP would block it)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.security import security_headers

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def assert_secured(response, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
        csp.split("script-src")[1].split(";")[0], where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where


def one_path_per_blueprint(app) -> dict[str, str]:
    paths: dict[str, str] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (len(r.arguments), r.rule)):
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else rule.endpoint
        if "GET" not in rule.methods or blueprint in paths:
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", "1", path)
        paths[blueprint] = path
    return paths


def test_every_blueprint_answers_with_the_security_headers(app, grid, auth, client):
    auth.login(grid["admin"])
    paths = one_path_per_blueprint(app)
    assert len(paths) >= 15
    for blueprint, path in paths.items():
        assert_secured(client.get(path), f"{blueprint}: {path}")


def test_api_errors_downloads_and_anonymous_pages_carry_them(app, client):
    for path in ("/api/v1/openapi.json", "/api/v1/courses/1", "/no-such-page", "/login", "/livez",
                 "/static/css/site.css"):
        assert_secured(client.get(path), path)
    assert_secured(client.post("/api/v1/auth/token", json={"login": "x", "password": "y"}), "token")


def test_hsts_only_when_configured(app):
    assert "Strict-Transport-Security" not in dict(security_headers(app.config))
    assert dict(security_headers({"HSTS_SECONDS": 31536000}))["Strict-Transport-Security"] \
        == "max-age=31536000; includeSubDomains"


def test_no_template_runs_inline_script():
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                problems.append(f"{path.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text):
            problems.append(f"{path.name}: an on...= handler")
        if "javascript:" in text:
            problems.append(f"{path.name}: a javascript: URL")
    assert problems == []
