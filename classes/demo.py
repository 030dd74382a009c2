"""Demo training classes (培训班) for the demo district, written for this project.

- two classes of last year, graduated, with numbered certificates (and a few who did not graduate);
- one class running now, some participants at risk (missed sessions), an exam on the plan, and one session
  moved (its participants have a notice on their home page);
- the open lecture series in 春晖社区's square (社区广场宣讲), with public learners registered.

Runs after the accounts, courses, quizzes and hours loaders. Deterministic (a fixed seed; dates counted from
today, as the hours demo does) and idempotent: a class already there (found by name) is left alone.
Services flush; the demo command commits.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from accounts import services as accounts
from accounts.demo import demo_password_hash
from accounts.models import MemberCategory, Organization, User
from core import clock
from core.extensions import db
from core.permissions import Role
from learning import offline
from classes import services
from classes.models import ClassSession, EnrolmentMode, TrainingClass
from quizzes.models import Quiz

SEED = 20260301
PUBLIC_LEARNERS = [("13900000002", "林晓光"), ("13900000003", "郑雨桐"), ("13900000004", "何家乐"),
                   ("13900000005", "宋佳琪"), ("13900000006", "罗建新")]
ACTIVIST_TOPICS = ["党的性质、宗旨和指导思想", "党员的条件、义务和权利", "端正入党动机", "党的纪律与作风建设",
                   "中国共产党历史专题", "入党程序与培养考察"]
ROTATION_TOPICS = ["学习党的创新理论", "全面从严治党", "党员先锋模范作用", "基层治理中的党建引领",
                   "党史学习教育专题", "廉洁自律教育"]
CANDIDATE_TOPICS = ["党章逐章学习（上）", "党章逐章学习（下）", "中国共产党发展党员工作细则解读",
                    "理想信念教育", "党的优良传统和作风", "结业座谈与思想汇报"]
SQUARE_TOPICS = ["微党课：身边的榜样", "红色故事会：渡江战役中的临江人", "社区议事厅：加装电梯怎么议",
                 "法律进社区：《民法典》与邻里纠纷", "垃圾分类与社区治理", "国家安全教育微课堂",
                 "重阳敬老：传承孝老爱亲家风", "冬季消防安全与邻里互助"]


def _org(code: str) -> Organization | None:
    return accounts.organization_by_code(code)


def _organizer(org: Organization) -> User | None:
    return db.session.scalar(select(User).where(User.role == Role.ORGANIZER, User.managed_org_id == org.id)
                             .order_by(User.id))


def _members(org: Organization, categories: tuple[MemberCategory, ...], count: int, rng: random.Random) -> list[User]:
    pool = list(db.session.scalars(
        select(User).join(Organization, User.organization_id == Organization.id)
        .where(User.role == Role.MEMBER, User.category.in_(categories), accounts.subtree_condition(org))
        .order_by(User.id)))
    return sorted(rng.sample(pool, min(count, len(pool))), key=lambda u: u.id)


def _trainers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == Role.TRAINER).order_by(User.id)))


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) wall-clock time on ``day`` as naive UTC."""
    local = datetime.combine(day, time(hour, minute), ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _exists(name: str) -> bool:
    return db.session.scalar(select(TrainingClass.id).where(TrainingClass.name == name)) is not None


def _type(name: str):
    return services.class_type_named(name) or services.class_types()[0]


def _new_class(by: User, name: str, kind: str, host: Organization, starts_on: date, ends_on: date, *,
               mode: EnrolmentMode = EnrolmentMode.ROSTER, capacity: int | None = None, prefix: str = "",
               opens_at: datetime | None = None, closes_at: datetime | None = None) -> TrainingClass:
    item = services.create_class(by=by, name=name, class_type=_type(kind), host_org=host, starts_on=starts_on,
                                 ends_on=ends_on, enrolment_mode=mode, capacity=capacity, certificate_prefix=prefix,
                                 registration_opens_at=opens_at, registration_closes_at=closes_at)
    services.publish_class(item, by)
    services.start_class(item, by)
    db.session.flush()
    return item


def _sessions(item: TrainingClass, by: User, days: list[date], topics: list[str], place: str, hour: int,
              minutes: int, trainers: list[User]) -> list[ClassSession]:
    made = []
    for n, day in enumerate(days):
        trainer = trainers[n % len(trainers)] if trainers else None
        starts = _utc(day, hour)
        made.append(services.schedule_session(item, by, title=topics[n % len(topics)], place=place,
                                              starts_at=starts, ends_at=starts + timedelta(minutes=minutes),
                                              trainer=trainer))
    return made


def _attend(sessions: list[ClassSession], people: list[User], by: User, rng: random.Random, share: float,
            absentees: set[int] = frozenset()) -> None:
    """Roster attendance, as the organizer enters it after each session (only sessions already held)."""
    now = clock.utcnow()
    for session in sessions:
        if session.starts_at > now:
            continue
        for person in people:
            if person.id in absentees and rng.random() < 0.7:
                continue
            if rng.random() < share:
                offline.mark_attendance(session.offline_class, person, by, now=session.ends_at)


def load() -> int:
    """Create the demo classes that are missing; returns how many were created."""
    street, square, lake = _org("LJ-01"), _org("LJ-01-01"), _org("LJ-02")
    if street is None or square is None or lake is None:
        return 0  # no demo district (accounts/demo.py) yet
    services.ensure_class_types()
    db.session.flush()
    rng = random.Random(SEED)
    today = clock.to_local(clock.utcnow(), current_app.config["DISPLAY_TIMEZONE"]).date()
    year = today.year
    trainers = _trainers()
    created = 0
    created += _activist_class(street, year - 1, trainers, rng)
    created += _rotation_class(street, year - 1, trainers, rng)
    created += _running_class(lake, year, today, trainers, rng)
    created += _square_series(square, year, today, trainers, rng)
    db.session.flush()
    return created


def _graduate(item: TrainingClass, by: User) -> None:
    services.graduate(item, by, now=_utc(item.ends_on + timedelta(days=3), 10))


def _activist_class(street: Organization, year: int, trainers: list[User], rng: random.Random) -> int:
    name = f"{year}年第一期入党积极分子培训班"
    by = _organizer(street)
    if _exists(name) or by is None:
        return 0
    item = _new_class(by, name, "入党积极分子培训班", street, date(year, 3, 6), date(year, 4, 24),
                      capacity=30, prefix=f"临江区委党校〔{year}〕第001期")
    people = _members(street, (MemberCategory.ACTIVIST,), 14, rng)
    services.add_roster_members(item, people, by)
    days = [date(year, 3, 6) + timedelta(days=7 * n) for n in range(6)]
    sessions = _sessions(item, by, days, ACTIVIST_TOPICS, "滨江街道党群服务中心三楼报告厅", 9, 180, trainers)
    services.set_graduation_rules(item, by, required_items=False, min_attendance_percent=80)
    _attend(sessions, people, by, rng, 0.95, absentees={p.id for p in people[:2]})
    _graduate(item, by)
    return 1


def _rotation_class(street: Organization, year: int, trainers: list[User], rng: random.Random) -> int:
    name = f"{year}年滨江街道党员集中轮训班"
    by = _organizer(street)
    if _exists(name) or by is None:
        return 0
    item = _new_class(by, name, "党员集中轮训", street, date(year, 10, 9), date(year, 11, 27),
                      prefix=f"临江区委党校〔{year}〕第006期")
    people = _members(street, (MemberCategory.FULL, MemberCategory.PROBATIONARY), 20, rng)
    services.add_roster_members(item, people, by)
    days = [date(year, 10, 9) + timedelta(days=10 * n) for n in range(5)]
    sessions = _sessions(item, by, days, ROTATION_TOPICS, "滨江街道党群服务中心三楼报告厅", 14, 150, trainers)
    services.set_graduation_rules(item, by, min_attendance_percent=60, min_hours_seconds=6 * 45 * 60)
    _attend(sessions, people, by, rng, 0.9, absentees={p.id for p in people[:3]})
    _graduate(item, by)
    return 1


def _running_class(lake: Organization, year: int, today: date, trainers: list[User], rng: random.Random) -> int:
    name = f"{year}年第二期发展对象培训班"
    by = _organizer(lake)
    if _exists(name) or by is None:
        return 0
    starts_on = today - timedelta(days=21)
    item = _new_class(by, name, "发展对象培训班", lake, starts_on, today + timedelta(days=24), capacity=20,
                      prefix=f"临江区委党校〔{year}〕第009期")
    people = _members(lake, (MemberCategory.ACTIVIST, MemberCategory.PROBATIONARY, MemberCategory.FULL), 12, rng)
    services.add_roster_members(item, people, by)
    days = [starts_on + timedelta(days=7 * n) for n in range(6)]
    sessions = _sessions(item, by, days, CANDIDATE_TOPICS, "望湖街道新时代文明实践所", 19, 120, trainers)
    exam = db.session.scalar(select(Quiz).where(Quiz.published.is_(True)).order_by(Quiz.id))
    if exam is not None:
        services.add_exam_item(item, exam, by)
    services.set_graduation_rules(item, by, required_items=True, min_attendance_percent=80,
                                  exam_pass=exam is not None)
    _attend(sessions, people, by, rng, 0.97, absentees={p.id for p in people[:3]})
    upcoming = [s for s in sessions if s.starts_at > clock.utcnow()]
    if upcoming:  # one session moved: its participants find a notice on their home page
        moved = upcoming[0]
        services.move_session(moved, by, starts_at=moved.starts_at + timedelta(days=1),
                              ends_at=moved.ends_at + timedelta(days=1), place="望湖街道党群服务中心二楼会议室",
                              reason="原场地用于社区疫苗接种")
    return 1


def _public_learners() -> list[User]:
    people = []
    for phone, name in PUBLIC_LEARNERS:
        user = accounts.find_user_by_login(phone)
        if user is None:
            user = accounts.create_user(name=name, phone=phone, password_hash=demo_password_hash(), role=Role.PUBLIC)
        people.append(user)
    demo_public = accounts.find_user_by_login("13900000001")  # 方小雨, the demo's public login
    return people + ([demo_public] if demo_public is not None else [])


def _square_series(square: Organization, year: int, today: date, trainers: list[User], rng: random.Random) -> int:
    name = f"{year}年春晖社区广场宣讲"
    by = _organizer(square)
    if _exists(name) or by is None:
        return 0
    starts_on = today - timedelta(days=10)
    item = _new_class(by, name, "公开课/广场宣讲", square, starts_on, today + timedelta(days=60),
                      mode=EnrolmentMode.OPEN, capacity=60, prefix=f"春晖社区〔{year}〕广场宣讲",
                      opens_at=_utc(starts_on - timedelta(days=14), 8),
                      closes_at=_utc(today + timedelta(days=60), 18))
    days = [starts_on + timedelta(days=7 * n) for n in range(10)]
    sessions = _sessions(item, by, days, SQUARE_TOPICS, "春晖社区文化广场", 19, 90, trainers)
    services.set_graduation_rules(item, by, min_attendance_percent=50)
    learners = _public_learners()
    neighbours = _members(square, (MemberCategory.FULL, MemberCategory.PUBLIC), 8, rng)
    for person in learners[:-1] + neighbours:  # 方小雨 (the demo login) registers herself
        services.register(item, person, now=_utc(starts_on - timedelta(days=rng.randrange(1, 10)), 20))
    _attend(sessions, learners[:-1] + neighbours, by, rng, 0.8)
    return 1
