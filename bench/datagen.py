"""A realistic district for benchmarks, written fast with SQLAlchemy Core bulk inserts.

``generate(app, Scale(...))`` fills an empty database (made by ``bench.harness.fresh_database``):

* a 4-level grid under one 区委: 街道 → 社区 → 小区 → 楼院 (materialized paths computed here);
* members spread over the 楼院 with categories (正式党员/预备党员/入党积极分子), a few public learners
  (群众), trainers, organizers of each 街道 and 社区, an admin, and one secretary per 楼院;
* courses with categories, tags and audiences (mostly published, some draft/archived, some limited
  to a 街道), each with lectures of mixed kinds: text (a few paragraphs of Chinese Markdown, body_html
  filled with plain ``<p>``), video (a ``media_key`` that need not exist on disk, duration set),
  document (pointing at a study material) and offline;
* enrollments (popular courses more often), lecture progress for some of them, and required-course
  assignments to some 街道.

One password hash serves every account. Ids are assigned here (PostgreSQL sequences are moved past
them at the end). ``generate`` returns a ``Generated`` naming a bench member (login, password) and
a course, a text lecture and a video lecture that member can open; course 1 is always a published,
members-only, unrestricted course with ten lectures of every kind, required for the member's 街道.
"""
from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import text

BENCH_LOGIN = "13700000001"
BENCH_PASSWORD = "bench-pass-2026"
CHUNK = 10_000


@dataclass(frozen=True)
class Scale:
    members: int = 100_000
    courses: int = 1_000
    lectures_per_course: int = 10
    streets: int = 10
    communities_per_street: int = 10
    estates_per_community: int = 5
    buildings_per_estate: int = 4
    materials: int = 300
    enrollments_per_member: float = 2.5  # on average
    progress_share: float = 0.25  # of enrollments that have lecture progress
    trainers: int = 20


FULL = Scale()
QUICK = Scale(members=10_000, courses=200, streets=4, communities_per_street=5)


@dataclass
class Generated:
    login: str
    password: str
    member_id: int
    course_id: int
    text_lecture_id: int
    video_lecture_id: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        return ", ".join(f"{n:,} {t}" for t, n in self.counts.items()) + f" in {self.seconds:.1f} s"


# --- content we write ourselves -----------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["建国", "秀英", "志强", "桂兰", "海燕", "立新", "春梅", "国庆", "丽华", "明辉", "晓东", "红霞", "文杰",
         "玉珍", "振华", "淑芬", "伟", "静", "敏", "磊", "洋", "婷", "超", "军", "霞", "鹏", "丹", "思远", "雨欣",
         "子涵", "浩然", "佳怡", "宇航", "梓萱", "家豪", "欣怡", "天佑", "若曦"]
PLACE_WORDS = ["东湖", "西城", "南山", "北岸", "临江", "青石", "望湖", "滨河", "春晖", "锦绣", "翠柳", "和平", "团结",
               "新华", "长安", "光明", "朝阳", "红旗", "幸福", "育才"]
CATEGORIES = ["党章党规", "党史学习", "理论武装", "基层治理", "志愿服务", "廉洁教育", "时事政策", "业务技能"]
TAGS = ["党章", "党史", "新时代", "基层党建", "组织生活", "志愿服务", "廉洁自律", "社区治理", "群众工作", "理想信念",
        "民主集中制", "三会一课", "主题党日", "政策解读", "法治", "安全生产", "乡村振兴", "网格化", "党员义务", "先锋模范"]
TOPICS = ["党章", "党员的权利与义务", "党的组织制度", "民主集中制", "三会一课", "主题党日", "党的纪律", "社区治理",
          "志愿服务", "网格化管理", "基层党组织建设", "党史中的重要会议", "理想信念教育", "为民服务", "廉洁从政",
          "矛盾纠纷调解", "应急管理", "垃圾分类", "文明创建", "政策宣讲"]
PARAGRAPHS = [
    "党员要把学习作为一种生活态度和工作责任，做到学而信、学而用、学而行，在学懂弄通做实上下功夫。",
    "基层党组织是党在社会基层组织中的战斗堡垒，是党的全部工作和战斗力的基础，要把服务群众作为根本任务。",
    "**三会一课**制度是党的组织生活的基本制度：支部党员大会、支部委员会、党小组会，按时上好党课。",
    "社区网格员每天走访楼院，听取居民意见，把矛盾化解在萌芽状态，把服务送到群众家门口。",
    "学习党的历史，要注重从中汲取经验和智慧，增强历史自觉，坚定理想信念，把握历史主动。",
    "党员应当按期交纳党费，积极参加党的组织生活，接受党内外群众监督，发挥先锋模范作用。",
    "开展主题党日活动，要结合社区实际，组织党员参加志愿服务、环境整治和邻里互助。",
    "民主集中制是党的根本组织原则，既要充分发扬民主，又要善于集中正确意见，保证令行禁止。",
    "> 不忘初心，方得始终。每一名党员都要在平凡岗位上作出不平凡的贡献。",
    "疫情防控、防汛救灾等急难险重任务面前，党员干部要冲锋在前，亮身份、作表率。",
    "廉洁自律是对每一名党员的基本要求，要严守纪律规矩，自觉抵制各种不良风气的侵蚀。",
    "调查研究是谋事之基、成事之道。要深入楼院和家庭，掌握第一手情况，解决群众急难愁盼问题。",
]


def markdown_body(rng: random.Random, topic: str) -> tuple[str, str]:
    paragraphs = rng.sample(PARAGRAPHS, rng.randint(3, 5))
    markdown = f"## {topic}\n\n" + "\n\n".join(paragraphs) + "\n\n- 学习要点一\n- 学习要点二\n- 学习要点三\n"
    html = f"<h2>{topic}</h2>" + "".join(f"<p>{p}</p>" for p in paragraphs) + \
        "<ul><li>学习要点一</li><li>学习要点二</li><li>学习要点三</li></ul>"
    return markdown, html


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


# --- generation ---------------------------------------------------------------------------------

def generate(app, scale: Scale = FULL, *, seed: int = 20260101) -> Generated:
    """Fill the (empty) database of ``app``; return what a benchmark needs to log in and browse."""
    from werkzeug.security import generate_password_hash

    from core.extensions import db

    started = time.perf_counter()
    rng = random.Random(seed)
    password_hash = generate_password_hash(BENCH_PASSWORD)
    now = datetime(2026, 6, 1, 8, 0, 0)
    tables = db.metadata.tables
    counts: dict[str, int] = {}

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("PRAGMA synchronous=OFF"))
                conn.execute(text("PRAGMA foreign_keys=OFF"))

            def insert(name: str, rows: list[dict]) -> None:
                if rows and engine.dialect.name == "postgresql":
                    copy_rows(conn, name, rows)
                else:
                    for start in range(0, len(rows), CHUNK):
                        conn.execute(tables[name].insert(), rows[start:start + CHUNK])
                counts[name] = counts.get(name, 0) + len(rows)

            orgs, streets, communities, buildings = grid(scale, now)
            insert("organizations", orgs)

            users, positions, member_ids, organizers, trainer_ids, bench_member = people(
                rng, scale, now, password_hash, orgs, streets, communities, buildings)
            insert("users", users)
            insert("user_positions", positions)

            materials = library(rng, scale, now, trainer_ids)
            insert("materials", materials)

            courses, tags, published, street_of = catalog(rng, scale, now, trainer_ids, streets)
            lectures, lecture_ids_of, first_text, first_video = syllabus(rng, scale, now, materials)

            member_street = {u["id"]: street_for(u["organization_id"], orgs) for u in users
                             if u["id"] in member_ids}
            enrollments, progress, enrolled = learning(rng, scale, now, member_ids, member_street, published,
                                                       street_of, lecture_ids_of, bench_member)
            for course in courses:
                course["enrollment_count"] = enrolled.get(course["id"], 0)
            insert("courses", courses)
            insert("course_tags", tags)
            insert("lectures", lectures)
            insert("enrollments", enrollments)
            insert("lecture_progress", progress)

            bench_street = member_street[bench_member]
            assignments = [{"id": 1, "course_id": 1, "org_id": bench_street, "due_date": date(2026, 12, 31),
                            "assigned_by_id": organizers[0], "created_at": now, "revoked_at": None}]
            for i, course_id in enumerate(rng.sample(published[1:], min(30, len(published) - 1)), start=2):
                assignments.append({"id": i, "course_id": course_id, "org_id": rng.choice(streets),
                                    "due_date": date(2026, rng.randint(7, 12), 28), "assigned_by_id": organizers[0],
                                    "created_at": now, "revoked_at": None})
            insert("required_assignments", assignments)

            if engine.dialect.name == "postgresql":
                for name in counts:
                    if "id" in tables[name].c:
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                          f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"))
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))

    return Generated(login=BENCH_LOGIN, password=BENCH_PASSWORD, member_id=bench_member, course_id=1,
                     text_lecture_id=first_text, video_lecture_id=first_video, counts=counts,
                     seconds=time.perf_counter() - started)


def copy_rows(conn, table: str, rows: list[dict]) -> None:
    """PostgreSQL: COPY is several times faster than executemany."""
    columns = list(rows[0])
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def grid(scale: Scale, now: datetime):
    """区委 → 街道 → 社区 → 小区 → 楼院, ids in creation order, paths ``/1/2/…/``."""
    orgs: list[dict] = []
    streets, communities, buildings = [], [], []

    def add(code: str, name: str, kind: str, parent: dict | None) -> dict:
        org_id = len(orgs) + 1
        org = {"id": org_id, "code": code, "name": name, "kind": kind,
               "parent_id": parent["id"] if parent else None,
               "path": (parent["path"] if parent else "/") + f"{org_id}/",
               "depth": parent["depth"] + 1 if parent else 0, "created_at": now, "updated_at": now}
        orgs.append(org)
        return org

    root = add("B", "中共临江区委员会", "区委", None)
    for s in range(1, scale.streets + 1):
        street = add(f"B-{s:02d}", f"{PLACE_WORDS[s % len(PLACE_WORDS)]}{s}街道", "街道", root)
        streets.append(street["id"])
        for c in range(1, scale.communities_per_street + 1):
            community = add(f"{street['code']}-{c:02d}", f"{PLACE_WORDS[(s + c) % len(PLACE_WORDS)]}社区{c}",
                            "社区", street)
            communities.append(community["id"])
            for e in range(1, scale.estates_per_community + 1):
                estate = add(f"{community['code']}-{e:02d}",
                             f"{PLACE_WORDS[(s * c + e) % len(PLACE_WORDS)]}小区{e}", "小区", community)
                for b in range(1, scale.buildings_per_estate + 1):
                    building = add(f"{estate['code']}-{b:02d}", f"{b}号楼院", "楼院", estate)
                    buildings.append(building["id"])
    return orgs, streets, communities, buildings


def street_for(org_id: int | None, orgs: list[dict]) -> int | None:
    if org_id is None:
        return None
    parts = orgs[org_id - 1]["path"].strip("/").split("/")
    return int(parts[1]) if len(parts) > 1 else None


def people(rng, scale, now, password_hash, orgs, streets, communities, buildings):
    users: list[dict] = []
    positions: list[dict] = []

    def add(phone: str, name: str, role: str, category: str, org_id: int | None, managed: int | None = None,
            username: str | None = None) -> int:
        user_id = len(users) + 1
        users.append({"id": user_id, "name": name, "phone": phone, "username": username,
                      "password_hash": password_hash, "role": role, "category": category,
                      "organization_id": org_id, "managed_org_id": managed, "is_active": True, "locale": None,
                      "created_at": now, "updated_at": now})
        return user_id

    add("13800000000", "区委组织部管理员", "admin", "full", 1, username="admin")
    trainer_ids = [add(f"1380001{i:04d}", person_name(rng), "trainer", "full", 1) for i in range(scale.trainers)]
    organizers = [add(f"1380002{i:04d}", person_name(rng), "organizer", "full", org, managed=org)
                  for i, org in enumerate(streets + communities)]
    bench_member = add(BENCH_LOGIN, "测试学员", "member", "full", buildings[0])
    member_ids = {bench_member}
    categories = ["full"] * 75 + ["probationary"] * 10 + ["activist"] * 15
    for i in range(scale.members):
        if i % 50 == 49:  # 2%: public learners who registered themselves
            add(f"139{i:08d}", person_name(rng), "public", "public", None)
            continue
        building = buildings[i % len(buildings)]
        member_ids.add(add(f"139{i:08d}", person_name(rng), "member", rng.choice(categories), building))
    secretaries = {}
    for user in users[len(users) - scale.members:]:
        if user["role"] == "member" and user["organization_id"] not in secretaries:
            secretaries[user["organization_id"]] = user["id"]
            positions.append({"user_id": user["id"], "position": "secretary"})
    return users, positions, member_ids, organizers, trainer_ids, bench_member


def library(rng, scale, now, trainer_ids) -> list[dict]:
    materials = []
    for i in range(1, scale.materials + 1):
        topic = TOPICS[i % len(TOPICS)]
        body = "\n".join(rng.sample(PARAGRAPHS, 4))
        materials.append({
            "id": i, "title": f"{topic}学习资料（第{i}辑）", "file_kind": "pdf", "file_key": f"bench/material-{i}.pdf",
            "filename": f"material-{i}.pdf", "mime": "application/pdf", "size": 200_000 + i,
            "sha256": hashlib.sha256(f"bench-material-{i}".encode()).hexdigest(), "text": body,
            "category": rng.choice(CATEGORIES), "audience": rng.choice(["public", "members"]), "org_id": None,
            "course_id": None, "uploaded_by_id": rng.choice(trainer_ids), "deleted_at": None,
            "created_at": now, "updated_at": now})
    return materials


def catalog(rng, scale, now, trainer_ids, streets):
    courses, tags = [], []
    published, street_of = [], {}
    for course_id in range(1, scale.courses + 1):
        roll = rng.random()
        status = "published" if course_id == 1 or roll < 0.9 else ("draft" if roll < 0.97 else "archived")
        audience = "members" if course_id == 1 or rng.random() < 0.7 else "public"
        org_id = rng.choice(streets) if course_id != 1 and rng.random() < 0.1 else None
        created = now - timedelta(days=rng.randint(30, 900))
        topic = TOPICS[course_id % len(TOPICS)]
        courses.append({
            "id": course_id, "title": f"{topic}专题课程（{course_id}）",
            "summary": f"本课程围绕{topic}展开，结合社区工作实际，帮助党员和群众学懂弄通做实。",
            "cover_key": None, "category": rng.choice(CATEGORIES), "audience": audience, "org_id": org_id,
            "credit_mode": "time" if rng.random() < 0.8 else "fixed",
            "credit_hours": rng.choice([1, 2, 3, 4]), "status": status,
            "published_at": created + timedelta(days=3) if status != "draft" else None,
            "created_by_id": rng.choice(trainer_ids), "enrollment_count": 0,
            "created_at": created, "updated_at": created})
        tags += [{"course_id": course_id, "tag": tag} for tag in rng.sample(TAGS, rng.randint(2, 4))]
        if status == "published":
            published.append(course_id)
            street_of[course_id] = (org_id, audience)
    return courses, tags, published, street_of


FIRST_COURSE_KINDS = ["text", "video", "text", "document", "video", "text", "offline", "text", "video", "text"]
KIND_WEIGHTS = (["text"] * 50) + (["video"] * 35) + (["document"] * 10) + (["offline"] * 5)


def syllabus(rng, scale, now, materials):
    lectures = []
    lecture_ids_of: dict[int, list[int]] = {}
    bodies = [markdown_body(rng, topic) for topic in TOPICS for _ in range(3)]
    for course_id in range(1, scale.courses + 1):
        ids = []
        for position in range(1, scale.lectures_per_course + 1):
            kind = FIRST_COURSE_KINDS[(position - 1) % 10] if course_id == 1 else rng.choice(KIND_WEIGHTS)
            lecture_id = len(lectures) + 1
            markdown, html = rng.choice(bodies) if kind == "text" else ("", "")
            row = {"id": lecture_id, "course_id": course_id, "position": position,
                   "title": f"第{position}讲 {TOPICS[(course_id + position) % len(TOPICS)]}", "kind": kind,
                   "body_markdown": markdown, "body_html": html, "media_key": None, "media_mime": None,
                   "media_size": None, "duration_seconds": None, "reading_seconds": None, "material_id": None,
                   "starts_at": None, "ends_at": None, "place": None, "deleted_at": None,
                   "created_at": now, "updated_at": now}
            if kind == "text":
                row["reading_seconds"] = 300 + 60 * rng.randint(0, 10)
            elif kind == "video":
                row.update(media_key=f"bench/video-{lecture_id}.mp4", media_mime="video/mp4",
                           media_size=50_000_000, duration_seconds=rng.randint(600, 3600))
            elif kind == "document":
                row.update(material_id=rng.choice(materials)["id"], reading_seconds=900)
            else:
                starts = now + timedelta(days=rng.randint(-60, 60), hours=1)
                row.update(starts_at=starts, ends_at=starts + timedelta(hours=2),
                           place=f"{rng.choice(PLACE_WORDS)}社区党群服务中心")
            lectures.append(row)
            ids.append(lecture_id)
        lecture_ids_of[course_id] = ids
    first = lecture_ids_of[1]
    first_text = next(i for i in first if lectures[i - 1]["kind"] == "text")
    first_video = next(i for i in first if lectures[i - 1]["kind"] == "video")
    return lectures, lecture_ids_of, first_text, first_video


def learning(rng, scale, now, member_ids, member_street, published, street_of, lecture_ids_of, bench_member):
    """Enrollments in courses each member may see (popular ones more often) and some progress."""
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(published))]
    popularity = published[:]
    rng.shuffle(popularity)
    enrollments, progress = [], []
    enrolled: dict[int, int] = {}
    max_k = max(1, round(scale.enrollments_per_member * 2))
    for user_id in sorted(member_ids):
        if user_id == bench_member:
            chosen = {1}
        else:
            picks = rng.choices(popularity, weights=weights, k=rng.randint(0, max_k))
            chosen = {c for c in picks if street_of[c][0] in (None, member_street[user_id])}
        for course_id in sorted(chosen):
            started = now - timedelta(days=rng.randint(1, 300))
            enrollments.append({"id": len(enrollments) + 1, "user_id": user_id, "course_id": course_id,
                                "source": "assigned" if user_id == bench_member else "self",
                                "created_at": started, "completed_at": None})
            enrolled[course_id] = enrolled.get(course_id, 0) + 1
            if user_id == bench_member or rng.random() < scale.progress_share:
                lectures = lecture_ids_of[course_id]
                done = 3 if user_id == bench_member else rng.randint(1, len(lectures))
                for lecture_id in lectures[:done]:
                    progress.append({"id": len(progress) + 1, "user_id": user_id, "lecture_id": lecture_id,
                                     "course_id": course_id, "started_at": started,
                                     "completed_at": started + timedelta(hours=1)})
    return enrollments, progress, enrolled
