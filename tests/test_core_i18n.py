"""Simplified Chinese by default, English on request; error pages in both."""

from tests.conftest import app_of_its_own


def test_chinese_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "手机号或用户名" in page and 'lang="zh-CN"' in page


def test_accept_language_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Phone number or username" in page and 'lang="en"' in page


def test_language_switch_sticks_for_the_session(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Log in" in client.get("/login").get_data(as_text=True)
    client.get("/lang/zh")
    assert "登录" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_language_switch_ignores_foreign_next(client):
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"


def test_404_page_in_both_languages(client):
    zh = client.get("/no-such-page")
    assert zh.status_code == 404 and "页面不存在" in zh.get_data(as_text=True)
    en = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "Page not found" in en.get_data(as_text=True)


def test_403_page_in_both_languages(client, auth, make_org, make_member):
    auth.login(make_member(make_org()))
    zh = client.get("/admin/users")
    assert zh.status_code == 403 and "您没有权限访问此页面" in zh.get_data(as_text=True)
    en = client.get("/admin/users", headers={"Accept-Language": "en"})
    assert "You are not allowed to see this page" in en.get_data(as_text=True)


def test_500_page_in_both_languages():
    with app_of_its_own() as app:  # a route added to an app that has served requests would be refused by Flask
        app.testing = False  # let the error handler answer instead of raising into the test
        app.config["PROPAGATE_EXCEPTIONS"] = False

        def broken():
            raise RuntimeError("boom")

        broken.access_rule = app.view_functions["core.healthz"].access_rule
        app.add_url_rule("/broken", "broken", broken)
        client = app.test_client()
        zh = client.get("/broken")
        assert zh.status_code == 500 and "服务器出错了" in zh.get_data(as_text=True)
        en = client.get("/broken", headers={"Accept-Language": "en"})
        assert "Something went wrong on the server" in en.get_data(as_text=True)
        assert "boom" not in en.get_data(as_text=True)


def test_pages_fit_a_phone(client):
    page = client.get("/").get_data(as_text=True)
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert "navbar-toggler" in page


def test_no_asset_comes_from_the_internet(client):
    page = client.get("/").get_data(as_text=True)
    assert "cdn." not in page and "https://" not in page
    css = [line for line in page.splitlines() if "stylesheet" in line]
    assert css and all('href="/' in line for line in css)
