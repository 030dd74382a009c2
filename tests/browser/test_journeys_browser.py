"""Journeys (issue 17) as people see them in Chromium: graduating a class with a confirmation that works."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core import clock
from core.extensions import db
from core.permissions import Role
from classes import services
from classes.models import ClassCertificate, TrainingClass
from tests.classes_helpers import complete_course, make_class, make_course

pytestmark = pytest.mark.browser
DURING = datetime(2026, 3, 10, 2, 0)  # the class runs 03-02 … 03-20
AFTER = datetime(2026, 3, 25, 2, 0)


@pytest.fixture
def running_class(make_org, make_user, monkeypatch):
    now = {"at": DURING}
    monkeypatch.setattr(clock, "utcnow", lambda: now["at"])
    community = make_org("春晖社区", code="CH")
    organizer = make_user(Role.ORGANIZER, org=community, name="李组织")
    member = make_user(Role.MEMBER, org=community, name="王学员")
    item = make_class(organizer, community, starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 20))
    services.add_roster_members(item, [member], organizer)
    course = make_course()
    services.add_course_item(item, course, organizer)
    services.set_graduation_rules(item, organizer, required_items=True)
    db.session.commit()
    complete_course(member, course)
    return {"class": item, "organizer": organizer, "member": member, "now": now}


def certificates() -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(ClassCertificate)).all())


def test_graduation_asks_for_confirmation_and_needs_the_class_ended(page, login, running_class):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    item = running_class["class"]
    login(page, running_class["organizer"])
    page.goto(f"/classes/{item.id}/board")
    expect(page.locator("#not-ended")).to_contain_text("2026-03-20")

    # early: a reason is needed; dismissing the dialog changes nothing
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_label("提前结业原因").fill("学员外出集训")
    page.get_by_label("我已核对进度").check()
    page.locator("#graduate-form button[type=submit], #graduate-form input[type=submit]").click()
    expect(page.locator("#graduate-form")).to_be_visible()
    assert dialogs and "提前结业" in dialogs[0], dialogs
    assert certificates() == 0 and not errors, errors

    # after the class ended: confirm, and the certificate is issued
    running_class["now"]["at"] = AFTER
    page.goto(f"/classes/{item.id}/board")
    expect(page.locator("#not-ended")).to_have_count(0)
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_label("我已核对进度").check()
    page.locator("#graduate-form button[type=submit], #graduate-form input[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("新颁发证书 1 张")
    assert "确定结业吗" in dialogs[-1] and not errors, errors
    assert certificates() == 1
    db.session.expire_all()
    assert db.session.get(TrainingClass, item.id).early_graduation_reason is None


# --- seen by everyone: contrast, large-text mode, the navbar, the favicon ----------------------------------

# Contrast of every visible text element against the colour behind it (computed styles, walking up to the first
# opaque background; a background image or gradient is skipped as unknown). Returns the failures.
CONTRAST_JS = """
([selector, minimum]) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const s = getComputedStyle(e);
      if (s.backgroundImage !== 'none') return null; const c = parse(s.backgroundColor);
      if (c && c[3] >= 1) return c; } return [255, 255, 255, 1]; };
  const failures = [];
  for (const el of document.querySelectorAll(selector)) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    const bg = background(el); if (!bg) continue;
    let fg = parse(getComputedStyle(el).color);
    fg = [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < minimum) failures.push(`${el.tagName} "${el.textContent.trim().slice(0, 20)}" ${ratio.toFixed(2)}:1`);
  }
  return failures;
}
"""


@pytest.fixture
def people(make_org, make_user):
    community = make_org("春晖社区", code="CH")
    return {"organizer": make_user(Role.ORGANIZER, org=community, name="李组织"),
            "member": make_user(Role.MEMBER, org=community, name="王学员"),
            "trainer": make_user(Role.TRAINER, org=community, name="张教员"),
            "admin": make_user(Role.ADMIN, org=community, name="赵管理"),
            "public": make_user(Role.PUBLIC, name="林晓光")}


def test_navbar_links_meet_wcag_aa_and_the_navbar_does_not_wrap_at_1366_for_any_role(page, login, people):
    page.set_viewport_size({"width": 1366, "height": 768})
    for who in (None, "public", "member", "trainer", "organizer", "admin"):
        if who:
            page.context.clear_cookies()
            login(page, people[who])
        page.goto("/")
        assert page.evaluate(CONTRAST_JS, [".ops-navbar a, .ops-navbar button", 4.5]) == [], who
        heights = page.evaluate("Array.from(document.querySelectorAll('.ops-navbar .navbar-collapse .nav-link'))"
                                ".map(e => e.getBoundingClientRect().top)")
        assert max(heights) - min(heights) < 8, (who, heights)  # one row: every link on the same line
        brand = page.locator(".navbar-brand").bounding_box()
        assert page.locator(".ops-navbar").bounding_box()["height"] < brand["height"] + 40, who
    expect(page.locator("#manage-menu")).to_contain_text("管理")  # the admin's management links, in a menu
    page.locator("#manage-menu .dropdown-toggle").click()
    expect(page.locator("#manage-menu .dropdown-menu")).to_be_visible()


def test_catalog_search_button_and_tag_chips(page, login, people):
    from tests.course_helpers import make_course

    make_course(people["trainer"], title="党章学习", tags=("党章", "理论"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/courses/")
    button = page.locator("form button[type=submit]", has_text="搜索").first
    box = button.bounding_box()
    font = float(button.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 24"))
    assert box["height"] < 2 * font + 20  # one line: 搜索 never wraps into 搜/索
    sizes = page.evaluate("Array.from(document.querySelectorAll('.badge')).map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 12, sizes


def test_favicon_answers(page, live_server):
    response = page.request.get("/favicon.ico")
    assert response.status == 200 and "svg" in response.headers["content-type"]
    page.goto("/login")
    assert page.locator("link[rel=icon]").count() == 1


def test_large_text_mode_is_remembered_per_user_and_meets_aaa(phone_page, login, people):
    from accounts.models import User

    page = phone_page
    # a visitor: remembered in the session
    page.goto("/login")
    base = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert base == 16
    page.locator(".navbar-toggler").click()
    page.locator("#large-text-switch button").click()
    expect(page.locator("body.large-text")).to_have_count(1)
    page.wait_for_load_state("load")  # the new page's stylesheets applied, not only its markup parsed
    page.wait_for_function("parseFloat(getComputedStyle(document.documentElement).fontSize) === 20", timeout=5000)
    page.screenshot(path="/tmp/journeys-large-text-login-390.png", full_page=True)

    # a member: remembered on their row, across logins and devices
    login(page, people["member"])
    page.goto("/")
    if page.locator("body.large-text").count() == 0:
        page.locator(".navbar-toggler").click()
        page.locator("#large-text-switch button").click()
    expect(page.locator("body.large-text")).to_have_count(1)
    db.session.expire_all()
    assert db.session.get(User, people["member"].id).large_text is True
    for path in ("/", "/courses/", "/classes/"):
        page.goto(path)
        expect(page.locator("body.large-text")).to_have_count(1)
        assert page.evaluate(CONTRAST_JS, ["main *, footer, .ops-navbar a, .ops-navbar button", 7]) == [], path
        small = page.evaluate("""Array.from(document.querySelectorAll('main .btn, main .form-control, main .form-select'))
            .filter(e => e.getBoundingClientRect().height > 0).map(e => [e.textContent.trim().slice(0, 10), e.getBoundingClientRect().height])
            .filter(([, h]) => h < 47.5)""")
        assert small == [], (path, small)
        page.screenshot(path=f"/tmp/journeys-large-text{path.replace('/', '-')}390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    other = page.context.browser.new_context(base_url=page.url.split("/classes")[0], viewport={"width": 390, "height": 844})
    try:
        second = other.new_page()
        login(second, people["member"])
        expect(second.locator("body.large-text")).to_have_count(1)
    finally:
        other.close()


def test_dashboard_chart_labels_are_legible_on_a_phone(phone_page, login, make_org, make_user):
    street = make_org("东风街道", code="DF", kind="街道")
    for n in (1, 2, 3):
        community = make_org(f"东风第{n}社区党支部", parent=street, code=f"DF-{n}")
        make_user(Role.MEMBER, org=community, name=f"党员{n}")
    organizer = make_user(Role.ORGANIZER, org=street, name="街道组织员")
    login(phone_page, organizer)
    phone_page.goto("/reports/")
    chart = phone_page.locator("svg.ops-chart")
    expect(chart).to_be_visible()
    smallest = chart.evaluate("""svg => { const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return Math.min(...Array.from(svg.querySelectorAll('text')).map(t => parseFloat(t.getAttribute('font-size')) * scale)); }""")
    assert smallest >= 12, smallest  # px on the phone's screen (was 12 * 358 / 520 = 8.3 px)
    phone_page.screenshot(path="/tmp/journeys-dashboard-390.png", full_page=True)


# --- lecture pages: resume where the member left off, a playback-speed control ---------------------------------

from tests.browser.test_courses_video_browser import video_course  # noqa: E402,F401  (a fixture)


def test_video_resumes_where_the_member_left_off_with_a_speed_control_within_the_allowed_rates(
        phone_page, login, video_course, live_server):  # noqa: F811
    page = phone_page
    lecture = video_course["lecture"]
    login(page, video_course["member"])
    page.goto(f"/courses/{video_course['course'].id}")
    page.get_by_role("button", name="报名学习").click()
    page.goto(f"/lectures/{lecture.id}")
    rates = page.locator("#playback-rate option").evaluate_all("options => options.map(o => Number(o.value))")
    low, high = live_server.app.config["MIN_PLAYBACK_RATE"], live_server.app.config["MAX_PLAYBACK_RATE"]
    assert rates and 1 in rates and all(low <= r <= high for r in rates), rates
    page.get_by_label("播放速度").select_option("1.5")
    video = page.locator("video#lecture-video")
    page.wait_for_function("document.getElementById('lecture-video').readyState >= 1")
    assert video.evaluate("v => v.playbackRate") == 1.5
    video.evaluate("v => { v.currentTime = 5; return new Promise(r => v.addEventListener('seeked', r, {once: true})); }")
    video.evaluate("v => v.dispatchEvent(new Event('pause'))")
    page.reload()
    page.wait_for_function("document.getElementById('lecture-video').currentTime > 4")
    expect(page.locator("#resume-note")).to_contain_text("0:05")
    assert page.locator("video#lecture-video").evaluate("v => v.playbackRate") == 1.5  # the chosen speed stays


def test_reading_resumes_at_the_last_position(page, login, make_org, make_user, make_member):
    from courses import services as course_services
    from courses.models import LectureKind

    community = make_org("幸福社区", code="XF")
    trainer = make_user(Role.TRAINER, org=community, name="王教员")
    member = make_member(community, name="赵建国")
    course = course_services.create_course(trainer, title="党章学习", summary="逐章学习。", category="党章党规",
                                           credit_hours=1)
    body = "\n\n".join(f"第{n}条 党员必须认真学习党的路线、方针、政策和决议。" * 3 for n in range(1, 80))
    lecture = course_services.add_lecture(course, trainer, kind=LectureKind.TEXT, title="党章全文", body_markdown=body)
    course_services.publish(course, trainer)
    db.session.commit()
    login(page, member)
    page.goto(f"/courses/{course.id}")
    page.get_by_role("button", name="报名学习").click()
    page.goto(f"/lectures/{lecture.id}")
    page.evaluate("window.scrollTo({top: (document.documentElement.scrollHeight - innerHeight) * 0.6, behavior: 'instant'})")
    page.wait_for_timeout(500)  # the position is saved 300 ms after scrolling stops
    page.goto("/")
    page.goto(f"/lectures/{lecture.id}")
    expect(page.locator("#resume-note")).to_contain_text("已回到上次读到的位置")
    share = page.evaluate("scrollY / (document.documentElement.scrollHeight - innerHeight)")
    assert 0.5 < share < 0.7, share


# --- homes: a public learner's first visit ---------------------------------------------------------------------

def test_a_public_learners_home_shows_courses_and_classes_to_start_with(phone_page, login, make_org, make_user,
                                                                         monkeypatch):
    from classes.models import EnrolmentMode
    from tests.course_helpers import make_course

    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 5, 6, 2, 0))
    community = make_org("春晖社区", code="CH")
    organizer = make_user(Role.ORGANIZER, org=community, name="李组织")
    trainer = make_user(Role.TRAINER, org=community, name="张教员")
    learner = make_user(Role.PUBLIC, name="林晓光")
    make_course(trainer, title="党的基本知识")
    item = services.create_class(by=organizer, name="2026年春晖社区广场宣讲", class_type=services.class_types()[-1],
                                 host_org=community, starts_on=date(2026, 5, 1), ends_on=date(2026, 6, 30),
                                 enrolment_mode=EnrolmentMode.OPEN, capacity=30)
    services.publish_class(item, organizer)
    db.session.commit()
    login(phone_page, learner)
    phone_page.goto("/")
    expect(phone_page.locator("#home-start-courses")).to_contain_text("党的基本知识")
    expect(phone_page.locator("#home-classes")).to_contain_text("2026年春晖社区广场宣讲")
    expect(phone_page.get_by_text("要求 0 学时")).to_have_count(0)
    phone_page.screenshot(path="/tmp/journeys-public-home-390.png", full_page=True)


def test_the_organizers_home_shows_pending_applications_and_members_behind(page, login, make_org, make_user,
                                                                           make_member, monkeypatch):
    from classes.models import EnrolmentMode

    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 3, 1, 2, 0))
    community = make_org("春晖社区", code="CH")
    organizer = make_user(Role.ORGANIZER, org=community, name="李组织")
    members = [make_member(community, name=f"党员{n}") for n in (1, 2, 3)]
    item = make_class(organizer, community, mode=EnrolmentMode.APPLICATION, starts_on=date(2026, 3, 10),
                      ends_on=date(2026, 3, 20))
    for member in members[:2]:
        services.apply(item, member, now=datetime(2026, 3, 1, 2, 0))
    db.session.commit()
    login(page, organizer)
    page.goto("/")
    pending = page.locator("#home-pending-applications")
    expect(pending).to_contain_text("待审核的报名：2 人")
    expect(pending).to_contain_text(item.name)
    behind = page.locator("#home-members-behind")
    expect(behind).to_contain_text("尚未开始")
    assert behind.locator(".badge.text-bg-danger").inner_text() == "4"  # three members and the organizer: nothing yet
    behind.get_by_text("尚未开始").click()
    expect(page).to_have_url(re.compile(r"/reports/members\?status=not_started"))


def test_the_add_lecture_form_shows_only_the_chosen_kinds_fields(page, login, people):
    from tests.course_helpers import make_course

    course = make_course(people["trainer"], title="党章学习")
    login(page, people["trainer"])
    page.goto(f"/teach/courses/{course.id}/lectures/new")
    kind = page.locator("select[name=kind]")
    sections = {name: page.locator(f"fieldset[data-kind={name}]") for name in ("video", "document", "offline")}
    kind.select_option("text")
    for section in sections.values():
        expect(section).to_be_hidden()
    kind.select_option("video")
    expect(sections["video"]).to_be_visible()
    expect(sections["offline"]).to_be_hidden()
    expect(page.get_by_label("阅读时长", exact=False)).to_be_hidden()  # a video's time is its length
    kind.select_option("offline")
    expect(sections["offline"]).to_be_visible()
    expect(sections["video"]).to_be_hidden()
    expect(sections["document"]).to_be_hidden()
    expect(page.get_by_label("阅读时长", exact=False)).to_be_visible()


def test_the_new_quiz_form_prefills_the_banks_course_and_labels_the_draw_rules(page, login, people):
    from tests.course_helpers import make_course
    from tests.quiz_helpers import make_bank

    course = make_course(people["trainer"], title="党章学习")
    bank, _questions = make_bank(course=course)
    db.session.commit()
    login(page, people["trainer"])
    page.goto(f"/quizzes/new?bank_id={bank.id}")
    expect(page.locator("select[name=course_id]")).to_have_value(str(course.id))
    rows = page.locator(".draw-rule")
    assert rows.count() >= 1
    first = rows.first
    expect(first.get_by_label("题数")).to_be_visible()
    expect(first.get_by_label("每题分值")).to_be_visible()
    expect(first.locator("label", has_text="题数")).to_be_visible()  # a visible label, not only a placeholder
