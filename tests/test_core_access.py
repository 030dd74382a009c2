"""Every route declares who may use it, and the declaration holds for each role."""
import pytest

from core.permissions import Role
from tests.conftest import app_of_its_own

ROLES = ("anonymous", "public", "member", "trainer", "organizer", "admin")


def test_every_route_declares_an_access_rule(app):
    missing = [rule.rule for rule in app.url_map.iter_rules()
               if getattr(app.view_functions[rule.endpoint], "access_rule", None) is None]
    assert missing == []


def test_a_route_without_a_rule_is_refused():
    with app_of_its_own() as app:  # a route added to an app that has served requests would be refused by Flask
        app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
        response = app.test_client().get("/undeclared")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)


@pytest.fixture
def people(grid):
    community = grid["communities"][0]
    return {
        "public": grid["public"],
        "member": grid["members"][community.code][0],
        "trainer": grid["trainer"],
        "organizer": grid[f"organizer_{community.code}"],
        "admin": grid["admin"],
    }


def plain_get_routes(app):
    """GET routes that need no URL arguments: each can be requested as it is."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments:
            yield rule.rule, app.view_functions[rule.endpoint].access_rule


def allowed(access, role: str) -> bool:
    if access.kind == "public":
        return True
    if role == "anonymous":
        return False
    return access.kind == "login" or Role(role) in access.roles


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_each_route_declares(app, people, role):
    client = app.test_client()
    if role != "anonymous":
        client.post("/login", data={"identifier": people[role].phone, "password": "correct-horse-42"})
    checked = 0
    for path, access in plain_get_routes(app):
        response = client.get(path)
        code = response.status_code
        if allowed(access, role):
            assert code not in (401, 403) and not (code == 302 and "/login" in response.headers.get("Location", "")), \
                f"{role} refused {path} ({access.describe()}): {code}"
            assert code < 500, f"{role} broke {path}: {code}"
        elif role == "anonymous":
            if path.startswith("/api/"):
                assert code == 401, f"anonymous reached {path}: {code}"
            else:
                assert code == 302 and response.headers["Location"].startswith("/login"), f"anonymous reached {path}"
        else:
            assert code == 403, f"{role} reached {path} ({access.describe()}): {code}"
        checked += 1
    assert checked >= 10
