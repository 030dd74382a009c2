"""A member studies a video lecture on a phone: enrolls, opens the lecture, plays the video and seeks.
The video streams from /lectures/<id>/media with HTTP Range (206), which is what makes seeking work."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core import storage
from core.extensions import db
from core.permissions import Role
from courses import media, services
from courses.models import Audience, LectureKind

pytestmark = pytest.mark.browser

VIDEO_SECONDS = 8


@pytest.fixture
def video_course(make_org, make_user, make_member, tmp_path):
    """A published members' course whose first lecture is an uploaded 8-second MP4 (H.264)."""
    community = make_org("幸福社区", code="XF")
    trainer = make_user(Role.TRAINER, org=community, name="王教员")
    member = make_member(community, name="赵建国")
    course = services.create_course(trainer, title="党章学习", summary="逐章学习党章。", category="党章党规",
                                    audience=Audience.MEMBERS, credit_hours=1)
    lecture = services.add_lecture(course, trainer, kind=LectureKind.VIDEO, title="第一讲 党章总纲")
    source = media.make_demo_video(tmp_path / "总纲.mp4", VIDEO_SECONDS, "党章总纲")
    stored = storage.save_upload(source, allowed={"mp4", "webm"})
    info = media.probe_video(stored.path)
    services.set_video(lecture, trainer, key=stored.key, mime=stored.mime, size=stored.size,
                       duration_seconds=info.duration_seconds)
    services.add_lecture(course, trainer, kind=LectureKind.TEXT, title="第二讲 党员", body_markdown="党员的义务。")
    services.publish(course, trainer)
    db.session.commit()
    return {"course": course, "lecture": lecture, "member": member, "video": stored.path.read_bytes()}


def test_member_plays_and_seeks_a_video_lecture_on_a_phone(phone_page, login, video_course):
    page = phone_page
    lecture = video_course["lecture"]
    media_path = f"/lectures/{lecture.id}/media"
    media_calls = []  # (request headers, status, response headers) of every media request
    page.on("response", lambda r: media_calls.append((r.request.all_headers(), r.status, r.all_headers()))
            if r.url.endswith(media_path) else None)

    login(page, video_course["member"])
    page.goto(f"/courses/{video_course['course'].id}")
    page.get_by_role("button", name="报名学习").click()
    expect(page.get_by_text("已报名")).to_be_visible()
    page.get_by_role("link", name="开始学习").click()
    expect(page).to_have_url(re.compile(rf"/lectures/{lecture.id}$"))
    expect(page.get_by_role("heading", name="第一讲 党章总纲")).to_be_visible()

    video = page.locator("video#lecture-video")
    expect(video).to_be_visible()
    box = video.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone's screen
    page.wait_for_function("v => v.readyState >= 1", arg=video.element_handle())
    assert round(video.evaluate("v => v.duration")) == VIDEO_SECONDS

    # Play: a tap on the page is the user gesture the autoplay policy asks for.
    video.tap()
    video.evaluate("v => v.play()")
    page.wait_for_function("v => !v.paused && v.currentTime > 0.2", arg=video.element_handle())

    # Seek near the end: the position takes, a frame is decoded there, and playback goes on from it.
    video.evaluate("""v => new Promise(done => { v.addEventListener('seeked', done, {once: true});
                                                  v.currentTime = 6; })""")
    assert 6 <= video.evaluate("v => v.currentTime") < VIDEO_SECONDS
    page.wait_for_function("v => v.readyState >= 2 && v.currentTime > 6.2 && !v.error",
                           arg=video.element_handle())
    played = video.evaluate("v => Array.from({length: v.played.length}, (_, i) => [v.played.start(i), v.played.end(i)])")
    assert len(played) >= 2, played  # two stretches: before the seek and after it; the middle was skipped

    # The browser fetched the video with Range requests and the server answered 206 with the range.
    assert media_calls, "the page never requested the video"
    for request_headers, status, response_headers in media_calls:
        assert request_headers.get("range", "").startswith("bytes="), request_headers
        assert status == 206, status
        assert response_headers["content-range"].startswith("bytes ")
        assert response_headers["x-content-type-options"] == "nosniff"

    # A range in the middle, asked by the page with the member's session, gives exactly those bytes.
    part = page.evaluate("""async url => {
        const r = await fetch(url, {headers: {Range: 'bytes=1000-1999'}});
        return {status: r.status, range: r.headers.get('content-range'),
                bytes: Array.from(new Uint8Array(await r.arrayBuffer()))}; }""", media_path)
    total = len(video_course["video"])
    assert part["status"] == 206
    assert part["range"] == f"bytes 1000-1999/{total}"
    assert bytes(part["bytes"]) == video_course["video"][1000:2000]
