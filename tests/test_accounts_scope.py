"""An organizer sees and changes only their own subtree: in pages and in the API."""
import pytest


@pytest.fixture
def scope(grid):
    c1, c2, c3, _ = grid["communities"]  # c1, c2 under street 1; c3 under street 2
    return grid, c1, c2, c3


def login(client, user):
    assert client.post("/login", data={"identifier": user.phone, "password": "correct-horse-42"}).status_code == 302


def test_community_organizer_gets_404_for_another_communitys_member(client, scope):
    grid, c1, c2, _ = scope
    login(client, grid[f"organizer_{c1.code}"])
    own = grid["members"][c1.code][0]
    other = grid["members"][c2.code][0]
    own_page = client.get(f"/members/{own.id}")
    assert own_page.status_code == 200 and own.name in own_page.get_data(as_text=True)
    response = client.get(f"/members/{other.id}")
    assert response.status_code == 404
    assert other.name not in response.get_data(as_text=True)


def test_community_organizer_gets_404_in_the_api_too(client, auth, scope):
    grid, c1, c2, _ = scope
    headers = auth.token(grid[f"organizer_{c1.code}"])
    other = grid["members"][c2.code][0]
    response = client.get(f"/api/v1/members/{other.id}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    listed = client.get("/api/v1/members?per_page=100", headers=headers).get_json()
    names = {m["name"] for m in listed["items"]}
    assert names == {m.name for m in grid["members"][c1.code]} | {grid[f"organizer_{c1.code}"].name}
    assert listed["total"] == len(names)


def test_member_list_page_shows_only_the_subtree(client, scope):
    grid, c1, c2, _ = scope
    login(client, grid[f"organizer_{c1.code}"])
    page = client.get("/members").get_data(as_text=True)
    assert all(m.name in page for m in grid["members"][c1.code])
    assert not any(m.name in page for m in grid["members"][c2.code])


def test_search_cannot_reach_outside_the_subtree(client, scope):
    grid, c1, c2, _ = scope
    login(client, grid[f"organizer_{c1.code}"])
    other = grid["members"][c2.code][0]
    page = client.get(f"/members?q={other.phone}").get_data(as_text=True)
    assert other.name not in page


def test_street_organizer_sees_its_communities_but_not_the_other_street(client, auth, scope):
    grid, c1, c2, c3 = scope
    headers = auth.token(grid["street_organizer"])
    for community in (c1, c2):
        member = grid["members"][community.code][0]
        assert client.get(f"/api/v1/members/{member.id}", headers=headers).status_code == 200
    outside = grid["members"][c3.code][0]
    assert client.get(f"/api/v1/members/{outside.id}", headers=headers).status_code == 404
    orgs = client.get("/api/v1/organizations?per_page=100", headers=headers).get_json()["items"]
    assert {o["code"] for o in orgs} == {"R-1", c1.code, c2.code}


def test_organizations_page_is_scoped(client, scope):
    grid, c1, c2, _ = scope
    login(client, grid[f"organizer_{c1.code}"])
    page = client.get("/organizations").get_data(as_text=True)
    assert c1.name in page and c2.name not in page


def test_admin_sees_everyone(client, auth, scope):
    grid, *_ = scope
    headers = auth.token(grid["admin"])
    listed = client.get("/api/v1/members?per_page=100", headers=headers).get_json()
    assert listed["total"] == 4 * 2 + 4 + 1 + 3  # members, community organizers, street organizer, admin+trainer+public


def test_members_and_trainers_cannot_list_members(client, auth, scope):
    grid, c1, *_ = scope
    for user in (grid["members"][c1.code][0], grid["trainer"], grid["public"]):
        headers = auth.token(user)
        assert client.get("/api/v1/members", headers=headers).status_code == 403


def test_subtree_query_is_one_indexed_range(app, scope):
    from sqlalchemy import select

    from accounts.models import Organization
    from accounts.services import subtree_condition
    from core.extensions import db

    grid, c1, *_ = scope
    stmt = select(Organization.id).where(subtree_condition(grid["streets"][0]))
    compiled = str(stmt.compile(dialect=db.engine.dialect))
    assert "path >=" in compiled and "path <" in compiled
    if db.engine.dialect.name == "sqlite":
        plan = db.session.execute(db.text("EXPLAIN QUERY PLAN " + str(stmt.compile(compile_kwargs={"literal_binds": True})))).all()
        assert any("ix_organizations_path" in row[-1] for row in plan)
    assert set(db.session.scalars(stmt)) == {grid["streets"][0].id, c1.id, grid["communities"][1].id}
