"""Role x organization x route: the offline-class routes and /check-in answer each role as declared, and
organizers only within their subtree (the class hosted by community R-1-1, scheduled by its organizer)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.extensions import db
from learning import offline
from tests.learning_fixtures import T0, Clock, make_course

# who: anonymous; public learner; member inside / outside the host's subtree; trainer (not the scheduler);
# organizer of the host, of its street (above), of a sibling community, of the other street; admin.
WHO = ("anonymous", "public", "member_in", "member_out", "trainer", "organizer_host", "organizer_above",
       "organizer_sibling", "organizer_far", "admin")
LOGIN = 302  # anonymous: sent to the login page

# route -> expected status per WHO (same order)
ROUTES = {
    ("GET", "/offline/"): (LOGIN, 403, 403, 403, 200, 200, 200, 200, 200, 200),
    ("GET", "/offline/{id}/screen"): (LOGIN, 403, 403, 403, 404, 200, 200, 404, 404, 200),
    ("GET", "/offline/{id}/roster"): (LOGIN, 403, 403, 403, 403, 200, 200, 404, 404, 200),
    ("POST", "/offline/{id}/roster/{member}"): (LOGIN, 403, 403, 403, 403, 302, 302, 404, 404, 302),
    ("GET", "/offline/{id}/check-in"): (LOGIN, 404, 200, 404, 404, 200, 200, 404, 404, 200),
    ("GET", "/check-in"): (LOGIN, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/offline/new"): (LOGIN, 403, 403, 403, 200, 200, 200, 200, 200, 200),
}


@pytest.fixture
def hosted(app, grid, monkeypatch):
    clock = Clock(monkeypatch)
    course, _, _ = make_course("广场党课")
    host = grid["communities"][0]
    item = offline.schedule_class(course=course, title="春晖广场党课", place="广场", starts_at=T0,
                                  ends_at=T0 + timedelta(hours=2), org=host, by=grid[f"organizer_{host.code}"])
    db.session.commit()
    people = {"public": grid["public"], "member_in": grid["members"]["R-1-1"][0],
              "member_out": grid["members"]["R-2-1"][0], "trainer": grid["trainer"],
              "organizer_host": grid["organizer_R-1-1"], "organizer_above": grid["street_organizer"],
              "organizer_sibling": grid["organizer_R-1-2"], "organizer_far": grid["organizer_R-2-1"],
              "admin": grid["admin"]}
    return item, people


@pytest.mark.parametrize("who", WHO)
def test_offline_routes_answer_each_role_and_organization_as_declared(hosted, who, auth, client):
    item, people = hosted
    if who != "anonymous":
        auth.login(people[who])
    seen = {}
    for (method, pattern), expected in ROUTES.items():
        path = pattern.format(id=item.id, member=people["member_in"].id)
        response = client.open(path, method=method)
        seen[(method, pattern)] = (response.status_code, expected[WHO.index(who)])
    assert {k: v for k, v in seen.items() if v[0] != v[1]} == {}
