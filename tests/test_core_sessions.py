"""The session cookie (Flask's own signed cookie): a login holds across requests, a tampered cookie is refused."""
from __future__ import annotations



def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_logged_in_member_stays_logged_in_across_requests(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    for _ in range(3):
        response = client.get("/profile")
        assert response.status_code == 200
        assert member.name in response.get_data(as_text=True)


def test_a_tampered_cookie_is_refused_after_the_real_one_was_remembered(client, auth, grid):
    member = grid["members"]["R-1-1"][0]
    auth.login(member)
    assert client.get("/profile").status_code == 200
    real = session_cookie(client)
    payload, _, signature = real.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    client.set_cookie("session", forged)
    assert client.get("/profile").status_code == 302  # back to the login page
    client.set_cookie("session", real)
    assert client.get("/profile").status_code == 200
