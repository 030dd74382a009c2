"""The benchmark harness's own parts: parsing wrk, the Lua script, the report, and the data generator
(run tiny, on the test database). The benchmarks themselves run with ``python -m bench``, not here."""
from __future__ import annotations

from sqlalchemy import func, select

from accounts.models import Organization, User
from bench import datagen
from bench.harness import count_queries, format_table, report, schema_gaps
from bench.wrk import WrkResult, lua_string, parse_wrk, wrk_script
from core.extensions import db
from courses.models import Course, CourseStatus, Lecture
from learning.models import Enrollment, LectureProgress

WRK_STDOUT = """Running 10s test @ http://127.0.0.1:5000/
  2 threads and 32 connections
Requests/sec:   1234.50
BENCH_JSON {"requests": 12345.000, "duration_us": 10000000.000, "status": 3.000, "connect": 0.000, \
"read": 2.000, "write": 0.000, "timeout": 1.000, "mean": 25.500, "max": 180.250, "p50": 20.000, \
"p75": 28.000, "p90": 40.000, "p95": 55.500, "p99": 120.000}
"""

TINY = datagen.Scale(members=300, courses=12, streets=2, communities_per_street=2, estates_per_community=2,
                     buildings_per_estate=2, materials=5, trainers=2)


def test_parse_wrk_reads_rate_latencies_and_errors():
    result = parse_wrk("http://x/", WRK_STDOUT)
    assert result.rps == 1234.5
    assert result.latency_ms["p50"] == 20.0 and result.latency_ms["p95"] == 55.5 and result.latency_ms["p99"] == 120
    assert result.status_errors == 3
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 1}
    assert result.errors == 6


def test_lua_string_escapes_quotes_newlines_and_chinese():
    assert lua_string('a"b\\c') == '"a\\034b\\092c"'
    assert lua_string("\n") == '"\\010"'
    assert lua_string("党") == '"\\229\\133\\154"'  # UTF-8 bytes, as wrk sends them


def test_wrk_script_sets_method_body_and_headers():
    script = wrk_script("POST", '{"seq": 1}', {"Cookie": "session=abc", "X-CSRFToken": "t"})
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = "{\\034seq\\034: 1}"' in script
    assert 'wrk.headers["Cookie"] = "session=abc"' in script
    assert "latency:percentile(95)" in script and "BENCH_JSON" in script


def result(rps: float) -> WrkResult:
    return WrkResult(url="http://x/", requests=int(rps * 10), seconds=10.0, rps=rps,
                     latency_ms={"p50": 1.0, "p75": 1.0, "p90": 1.0, "p95": 2.0, "p99": 3.0, "mean": 1, "max": 4},
                     status_errors=0, socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 0})


def test_report_divides_by_the_mean_baseline_and_flags_misses(tmp_path, capsys):
    from bench.harness import Row

    payload = report("demo", [Row("fast page", result(900), queries=4, target=0.35),
                              Row("slow page", result(300), queries=9, target=0.35)],
                     [result(1100), result(900)], out_dir=tmp_path)
    ratios = {row["name"]: row["ratio"] for row in payload["rows"]}
    assert ratios == {"fast page": 0.9, "slow page": 0.3}
    printed = capsys.readouterr().out
    assert "BELOW TARGET" in printed.split("slow page")[1].splitlines()[0]
    assert "BELOW TARGET" not in printed.split("fast page")[1].splitlines()[0]
    assert list(tmp_path.glob("demo-*.json"))
    assert "ratio = route req/s" in format_table(payload)


def test_schema_gaps_names_missing_tables_and_columns():
    class Inspector:
        def get_table_names(self):
            return ["users"]

        def get_columns(self, name):
            return [{"name": c.name} for c in db.metadata.tables["users"].columns if c.name != "locale"]

    gaps = schema_gaps(Inspector(), db.metadata)
    assert "users.locale" in gaps
    assert "courses" in gaps and "users" not in gaps


def test_generated_district_is_consistent_and_usable(committing_app, app, client):
    generated = datagen.generate(app, TINY)
    db.session.expire_all()

    assert db.session.scalar(select(func.count()).select_from(User)) == generated.counts["users"]
    orgs = {o.id: o for o in db.session.scalars(select(Organization))}
    assert {o.depth for o in orgs.values()} == {0, 1, 2, 3, 4}  # 区委 and four levels of grid
    for org in orgs.values():
        parent_path = orgs[org.parent_id].path if org.parent_id else "/"
        assert org.path == f"{parent_path}{org.id}/"

    course = db.session.get(Course, generated.course_id)
    assert course.status == CourseStatus.PUBLISHED
    kinds = {lecture.kind.value for lecture in course.lectures}
    assert kinds == {"text", "video", "document", "offline"}
    assert db.session.get(Lecture, generated.text_lecture_id).body_html.startswith("<h2>")
    assert db.session.get(Lecture, generated.video_lecture_id).duration_seconds > 0
    counted = db.session.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course.id))
    assert course.enrollment_count == counted
    assert db.session.scalar(select(func.count()).select_from(LectureProgress).where(
        LectureProgress.user_id == generated.member_id)) == 3

    response = client.post("/login", data={"identifier": generated.login, "password": generated.password})
    assert response.status_code == 302
    page = client.get(f"/courses/{course.id}")
    assert page.status_code == 200 and course.title in page.get_data(as_text=True)
    assert count_queries(app, client, "/healthz") >= 1


def test_replay_lines_keep_method_path_body_and_headers_and_refuse_tabs():
    import pytest

    from bench.wrk import Replay

    line = Replay("PUT", "/api/v1/attempts/7/answers/3", '{"response": ["甲"]}',
                  {"Authorization": "Bearer x", "Content-Type": "application/json"}).line()
    assert line.split("\t") == ["PUT", "/api/v1/attempts/7/answers/3", '{"response": ["甲"]}',
                                "Authorization: Bearer x", "Content-Type: application/json"]
    assert Replay("POST", "/x").line() == "POST\t/x\t"
    with pytest.raises(ValueError):
        Replay("POST", "/x", '{"a": "\t"}').line()
