"""An organizer of one community gets nothing of another community from any report page, export or CLI option."""
from datetime import datetime

import pytest

from core import clock
from core.extensions import db
from learning.ledger import record_entry
from learning.models import HourSource


@pytest.fixture
def two_communities(grid, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 7, 2))
    for code, members in grid["members"].items():
        for member in members:
            record_entry(user_id=member.id, seconds=3600, source=HourSource.ONLINE, source_ref=f"s:{member.id}",
                         occurred_at=datetime(2026, 3, 1))
    db.session.commit()
    mine, theirs = grid["communities"][0], grid["communities"][1]
    return grid, mine, theirs, grid[f"organizer_{mine.code}"]


def login(client, user):
    assert client.post("/login", data={"identifier": user.phone, "password": "correct-horse-42"}).status_code == 302


def test_own_pages_show_only_own_community(client, two_communities):
    grid, mine, theirs, organizer = two_communities
    login(client, organizer)
    foreign = [m.name for m in grid["members"][theirs.code]] + [theirs.name]
    for path in ("/reports/", "/reports/members", "/reports/reminders", "/reports/?basis=at_time",
                 "/reports/members?basis=at_time&year=2026"):
        page = client.get(path).get_data(as_text=True)
        assert not any(name in page for name in foreign), path
    page = client.get("/reports/members").get_data(as_text=True)
    assert all(m.name in page for m in grid["members"][mine.code])


@pytest.mark.parametrize("path", [
    "/reports/?org={org}", "/reports/members?org={org}", "/reports/reminders?org={org}",
    "/reports/export?org={org}&kind=summary&format=csv", "/reports/export?org={org}&kind=ledger&format=xlsx",
    "/reports/export?org={org}&kind=reminders&format=csv", "/reports/export?org={root}&kind=summary&format=csv",
    "/reports/members/{member}",
])
def test_another_communitys_pages_and_exports_are_not_found(client, two_communities, path):
    grid, mine, theirs, organizer = two_communities
    login(client, organizer)
    url = path.format(org=theirs.id, root=grid["root"].id, member=grid["members"][theirs.code][0].id)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("kind", ["summary", "ledger", "reminders"])
def test_default_export_holds_only_own_subtree(client, two_communities, kind):
    grid, mine, theirs, organizer = two_communities
    login(client, organizer)
    body = client.get(f"/reports/export?kind={kind}&format=csv&year=2026", buffered=True).data.decode("utf-8-sig")
    assert theirs.name not in body and grid["members"][theirs.code][0].name not in body
    assert grid["members"][mine.code][0].name in body


def test_members_and_public_get_no_reports(client, two_communities):
    grid, *_ = two_communities
    login(client, grid["members"]["R-1-1"][0])
    for path in ("/reports/", "/reports/export?kind=summary&format=csv", "/reports/reminders"):
        assert client.get(path).status_code == 403


def test_cli_as_an_organizer_refuses_another_community(runner, two_communities, tmp_path):
    grid, mine, theirs, organizer = two_communities
    out = tmp_path / "x.csv"
    for org in (theirs.code, grid["root"].code, None):
        args = ["hours", "export", "--as", organizer.phone, "--year", "2026", "--output", str(out)]
        if org:
            args += ["--org", org]
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and "may not export" in result.output
    assert not out.exists()
    result = runner.invoke(args=["hours", "export", "--as", organizer.phone, "--org", mine.code, "--year", "2026",
                                 "--full-phones", "--output", str(out)])
    assert result.exit_code != 0 and "admins only" in result.output
    result = runner.invoke(args=["hours", "export", "--as", organizer.phone, "--org", mine.code, "--year", "2026",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert grid["members"][mine.code][0].name in text and grid["members"][theirs.code][0].name not in text
