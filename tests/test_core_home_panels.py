"""Home panels: each domain registers a partial and the function that gives its data; the home view asks for
the data and the partial only shows what it is given (a template does not query)."""
from datetime import date
from types import SimpleNamespace

from core.nav import HomePanel


def test_the_home_page_shows_the_data_each_panel_is_given(app, client, auth, make_member, make_org, monkeypatch):
    member = make_member(make_org())
    course = SimpleNamespace(id=4242, title="假课程：来自面板数据")
    asked = []

    def required(user):
        asked.append(user.id)
        return {"required": [{"course": course, "due": date(2026, 11, 30), "finished": False, "overdue": False}],
                "starters": []}

    monkeypatch.setitem(app.extensions, "ops_home_panels",
                        [HomePanel("courses/_home_panel.html", required),
                         HomePanel("classes/_home_panel.html", lambda user: None)])  # no data: no panel
    auth.login(member)
    page = client.get("/").get_data(as_text=True)
    assert asked == [member.id]
    assert "假课程：来自面板数据" in page and "2026-11-30" in page and "/courses/4242" in page
    assert 'id="home-classes"' not in page and 'id="hours-panel"' not in page


def test_visitors_get_no_panels(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions, "ops_home_panels", [HomePanel("courses/_home_panel.html", lambda u: 1 / 0)])
    assert client.get("/").status_code == 200
