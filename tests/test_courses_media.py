"""Videos: duration read at upload, broken files refused, streamed with Range to those who may see them."""
from __future__ import annotations

import io

import pytest

from core import storage
from core.extensions import db
from core.storage import VIDEO_KINDS, UploadError, save_upload
from courses.media import make_demo_video, probe_video
from courses.models import Audience, Course, CourseStatus, Lecture, LectureKind


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return {"mp4": make_demo_video(folder / "demo.mp4", 3, "党章学习", container="mp4"),
            "webm": make_demo_video(folder / "demo.webm", 2, "党史教育", container="webm")}


def test_demo_videos_are_playable_with_their_duration(videos):
    assert probe_video(videos["mp4"]).__dict__ == {"duration_seconds": 3, "container": "mp4"}
    assert probe_video(videos["webm"]).__dict__ == {"duration_seconds": 2, "container": "webm"}


def test_demo_video_is_deterministic_and_small(videos, tmp_path):
    again = make_demo_video(tmp_path / "again.mp4", 3, "党章学习")
    assert again.read_bytes() == videos["mp4"].read_bytes()
    assert videos["mp4"].stat().st_size < 100_000


@pytest.mark.parametrize("kind", ["mp4", "webm"])
def test_truncated_video_is_refused(videos, tmp_path, kind):
    broken = tmp_path / f"broken.{kind}"
    broken.write_bytes(videos[kind].read_bytes()[:200])
    with pytest.raises(UploadError) as refused:
        probe_video(broken)
    assert "视频" in refused.value.message


def test_header_only_mp4_is_refused(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 2000)
    with pytest.raises(UploadError):
        probe_video(fake)


def test_videos_are_recognised_by_content(app, videos):
    assert save_upload(videos["mp4"], allowed=VIDEO_KINDS).kind == "mp4"
    stored = save_upload(io.BytesIO(videos["webm"].read_bytes()), allowed=VIDEO_KINDS)
    assert stored.kind == "webm" and stored.mime == "video/webm" and stored.key.endswith(".webm")
    with pytest.raises(UploadError):
        save_upload(videos["mp4"], allowed={"pdf", "docx", "txt", "md"})


def test_video_over_the_limit_is_refused(app, videos):
    app.config["MAX_VIDEO_BYTES"] = 1000
    with pytest.raises(UploadError) as refused:
        save_upload(videos["mp4"], allowed=VIDEO_KINDS)
    assert "文件太大" in refused.value.message


# --- the stream -------------------------------------------------------------------------------

def video_lecture(app, videos, *, audience=Audience.PUBLIC, org=None, status=CourseStatus.PUBLISHED,
                  deleted=False) -> tuple[Lecture, bytes]:
    stored = save_upload(videos["mp4"], allowed=VIDEO_KINDS)
    course = Course(title="视频课程", audience=audience, org_id=org.id if org else None, status=status)
    db.session.add(course)
    db.session.flush()
    lecture = Lecture(course_id=course.id, title="第一讲 视频", kind=LectureKind.VIDEO, media_key=stored.key,
                      media_mime=stored.mime, media_size=stored.size,
                      duration_seconds=probe_video(stored.path).duration_seconds)
    if deleted:
        from core import clock

        lecture.deleted_at = clock.utcnow()
    db.session.add(lecture)
    db.session.commit()
    return lecture, stored.path.read_bytes()


def test_member_streams_a_video_with_range(app, client, auth, grid, videos):
    lecture, data = video_lecture(app, videos)
    auth.login(grid["members"]["R-1-1"][0])
    whole = client.get(f"/lectures/{lecture.id}/media")
    assert whole.status_code == 200 and whole.data == data
    assert whole.mimetype == "video/mp4"
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert whole.headers["Content-Disposition"].startswith("inline")
    part = client.get(f"/lectures/{lecture.id}/media", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert part.data == data[100:200]
    tail = client.get(f"/lectures/{lecture.id}/media", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == data[-10:]
    beyond = client.get(f"/lectures/{lecture.id}/media", headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416


def test_visitors_must_log_in(app, client, grid, videos):
    lecture, _ = video_lecture(app, videos)
    response = client.get(f"/lectures/{lecture.id}/media")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("who, setup, status", [
    ("public", {"audience": Audience.MEMBERS}, 404),
    ("member_1", {"audience": Audience.MEMBERS}, 200),
    ("member_2", {"org": "street_1"}, 404),
    ("member_1", {"org": "street_1"}, 200),
    ("member_1", {"status": CourseStatus.DRAFT}, 404),
    ("trainer", {"status": CourseStatus.DRAFT}, 200),
    ("member_1", {"deleted": True}, 404),
    ("public", {}, 200),
])
def test_media_follows_lecture_visibility(app, client, auth, grid, videos, who, setup, status):
    if setup.get("org") == "street_1":
        setup = {**setup, "org": grid["streets"][0]}
    lecture, _ = video_lecture(app, videos, **setup)
    users = {"public": grid["public"], "trainer": grid["trainer"], "member_1": grid["members"]["R-1-1"][0],
             "member_2": grid["members"]["R-2-1"][0]}
    auth.login(users[who])
    assert client.get(f"/lectures/{lecture.id}/media", headers={"Range": "bytes=0-9"}).status_code in (
        (206,) if status == 200 else (status,))


def test_lecture_without_video_has_no_media(app, client, auth, grid):
    course = Course(title="文字课程", audience=Audience.PUBLIC, status=CourseStatus.PUBLISHED)
    db.session.add(course)
    db.session.flush()
    lecture = Lecture(course_id=course.id, title="文字", kind=LectureKind.TEXT)
    db.session.add(lecture)
    db.session.commit()
    auth.login(grid["members"]["R-1-1"][0])
    assert client.get(f"/lectures/{lecture.id}/media").status_code == 404
    assert client.get("/lectures/999999/media").status_code == 404
    assert storage.MIME_TYPES["mp4"] == "video/mp4"
