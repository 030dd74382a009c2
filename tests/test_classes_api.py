"""JSON API: open classes, registering (capacity, window), my classes, a class's schedule and my standing."""
from datetime import datetime

import pytest

from core import clock
from core.extensions import db
from core.permissions import Role
from classes import services
from classes.models import EnrolmentMode
from tests.classes_helpers import add_session, attend, make_class

NOW = datetime(2026, 3, 4, 2, 0)  # the class is under way: 3 March held, 5 and 10 March to come


@pytest.fixture
def square(app, grid, make_user, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    lectures = make_class(organizer, community, name="广场理论宣讲系列", mode=EnrolmentMode.OPEN, capacity=2)
    for day, title in ((3, "第一讲：党的光辉历程"), (5, "第二讲：基层治理"), (10, "第三讲：移风易俗")):
        add_session(lectures, organizer, day, title=title, place="文化广场")
    services.set_graduation_rules(lectures, organizer, min_attendance_percent=60)
    roster = make_class(organizer, community, name="党务干部培训班")
    applications = make_class(organizer, community, name="发展对象培训班", mode=EnrolmentMode.APPLICATION)
    make_class(organizer, community, name="筹备中的宣讲", mode=EnrolmentMode.OPEN, publish=False)
    db.session.commit()
    return {"open": lectures, "roster": roster, "application": applications, "organizer": organizer,
            "learners": [make_user(Role.PUBLIC, name=f"群众{i}") for i in range(3)],
            "member": grid["members"][community.code][0], "far_member": grid["members"][grid["communities"][3].code][0],
            "far_organizer": grid[f"organizer_{grid['communities'][3].code}"]}


def names(response):
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_open_classes_listed_for_each_user(client, auth, square):
    assert names(client.get("/api/v1/classes", headers=auth.token(square["learners"][0]))) == ["广场理论宣讲系列"]
    assert names(client.get("/api/v1/classes", headers=auth.token(square["member"]))) == [
        "广场理论宣讲系列", "发展对象培训班"]  # members of the host subtree may apply
    assert names(client.get("/api/v1/classes", headers=auth.token(square["far_member"]))) == ["广场理论宣讲系列"]
    assert client.get("/api/v1/classes").status_code == 401


def test_register_until_full(client, auth, square):
    url = f"/api/v1/classes/{square['open'].id}/registrations"
    first, second, third = (auth.token(u) for u in square["learners"])
    response = client.post(url, headers=first, json={})
    assert response.status_code == 201 and response.get_json()["my_status"] == "approved"
    assert response.get_json()["places_left"] == 1
    assert client.post(url, headers=first, json={}).status_code == 200  # again: the same place
    assert client.post(url, headers=second, json={}).status_code == 201
    full = client.post(url, headers=third, json={})
    assert full.status_code == 409 and full.get_json()["error"]["message"] == "名额已满。"
    for other in (square["roster"], square["application"]):
        assert client.post(f"/api/v1/classes/{other.id}/registrations", headers=first, json={}).status_code == 404
    assert client.post("/api/v1/classes/9999/registrations", headers=first, json={}).status_code == 404
    assert names(client.get("/api/v1/me/classes", headers=first)) == ["广场理论宣讲系列"]
    assert names(client.get("/api/v1/me/classes", headers=third)) == []


def test_registration_closed(client, auth, square, monkeypatch):
    square["open"].registration_closes_at = datetime(2026, 3, 4, 1, 0)
    db.session.commit()
    response = client.post(f"/api/v1/classes/{square['open'].id}/registrations",
                           headers=auth.token(square["learners"][0]), json={})
    assert response.status_code == 409 and response.get_json()["error"]["message"] == "不在报名时间内。"


def test_schedule_and_my_standing(client, auth, square):
    learner = square["learners"][0]
    services.register(square["open"], learner)
    db.session.commit()
    sessions = services.schedule(square["open"])
    attend(next(s for s in sessions if s.title.startswith("第一讲")), learner, square["organizer"])
    body = client.get(f"/api/v1/classes/{square['open'].id}", headers=auth.token(learner)).get_json()
    assert [s["title"] for s in body["schedule"]] == ["第二讲：基层治理", "第三讲：移风易俗", "第一讲：党的光辉历程"]
    assert body["schedule"][0]["starts_at"] == "2026-03-05T01:00:00Z"
    assert [s["attended"] for s in body["schedule"]] == [False, False, True]
    rule = body["standing"]["rules"][0]
    assert (rule["key"], rule["value"], rule["threshold"], rule["met"]) == ("attendance", 33.3, 60, False)
    assert body["standing"]["at_risk"] is False and body["standing"]["certificate"] is None


def test_a_class_is_seen_only_by_its_people(client, auth, square):
    roster = square["roster"]
    services.add_roster_members(roster, [square["member"]], square["organizer"])
    db.session.commit()
    url = f"/api/v1/classes/{roster.id}"
    mine = client.get(url, headers=auth.token(square["member"]))
    assert mine.status_code == 200 and mine.get_json()["standing"] is not None
    manager = client.get(url, headers=auth.token(square["organizer"])).get_json()
    assert manager["standing"] is None and manager["class"]["name"] == "党务干部培训班"
    for outsider in (square["far_member"], square["far_organizer"], square["learners"][0]):
        response = client.get(url, headers=auth.token(outsider))
        assert response.status_code == 404 and "党务干部培训班" not in response.get_data(as_text=True)


def test_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get"} <= set(paths["/api/v1/me/classes"]) and "get" in paths["/api/v1/classes"]
    assert "get" in paths["/api/v1/classes/{class_id}"]
    operation = paths["/api/v1/classes/{class_id}/registrations"]["post"]
    assert operation["summary"] and operation["tags"] == ["classes"] and "409" in operation["responses"]
