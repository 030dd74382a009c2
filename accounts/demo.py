"""Demo district: a four-level grid (街道 → 社区 → 小区 → 楼院), ~300 members, trainers,
organizers and an admin. Written for this project; deterministic and idempotent."""
from __future__ import annotations

import random
from functools import lru_cache

from flask import current_app
from werkzeug.security import generate_password_hash

from accounts import services
from accounts.models import MemberCategory, Organization, Position, User
from core.permissions import Role

DEMO_PASSWORD = "dangxiao2026"
ROOT = ("LJ", "中共临江区委员会", "区委")

# street -> its communities; every community has three estates, every estate two building groups.
STREETS = [
    ("滨江街道", ["春晖社区", "望江社区", "渔港社区", "柳岸社区"]),
    ("望湖街道", ["湖畔社区", "荷花社区", "新村社区"]),
    ("青石街道", ["石桥社区", "枫林社区", "育才社区"]),
]
ESTATES = ["锦绣花园", "翠湖苑", "阳光小区", "和顺家园", "书香名邸", "红星新村", "金桂园", "幸福里",
           "滨河湾", "紫荆苑", "东方明珠小区", "百合园"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = ["建国", "秀英", "志强", "桂兰", "海燕", "立新", "春梅", "国庆", "丽华", "明辉", "晓东", "红霞",
         "文杰", "玉珍", "振华", "淑芬", "伟", "静", "敏", "磊", "洋", "婷", "超", "军", "霞", "鹏", "丹",
         "思远", "雨欣", "子涵", "浩然", "佳怡", "宇航", "梓萱", "家豪", "欣怡", "天佑", "若曦"]
TRAINERS = [("13800000011", "周明远"), ("13800000012", "沈丽君"), ("13800000013", "韩立平")]
PUBLIC_LEARNER = ("13900000001", "方小雨")
ADMIN = ("13800000000", "区委组织部管理员", "admin")


def _org(code: str, name: str, kind: str, parent: Organization | None) -> Organization:
    return services.organization_by_code(code) or services.create_organization(code, name, kind, parent)


def demo_password_hash() -> str:
    return _demo_hash(current_app.config["PASSWORD_HASH_METHOD"])


@lru_cache(maxsize=2)
def _demo_hash(method: str) -> str:
    return generate_password_hash(DEMO_PASSWORD, method=method)  # hashed once, not 300 times


def _user(phone: str, **fields) -> User:
    existing = services.find_user_by_login(phone)
    if existing is not None:
        return existing
    return services.create_user(phone=phone, password_hash=demo_password_hash(), **fields)


def database_has_users() -> bool:
    return services.count_users() > 0


def is_loaded() -> bool:
    return services.organization_by_code(ROOT[0]) is not None


def build_grid() -> tuple[Organization, list[Organization], list[Organization], list[Organization]]:
    root = _org(*ROOT, None)
    streets, communities, groups = [], [], []
    estate_names = iter(ESTATES * 3)
    for s, (street_name, community_names) in enumerate(STREETS, start=1):
        street = _org(f"LJ-{s:02d}", street_name, "街道", root)
        streets.append(street)
        for c, community_name in enumerate(community_names, start=1):
            community = _org(f"{street.code}-{c:02d}", community_name, "社区", street)
            communities.append(community)
            for e in range(1, 4):
                estate = _org(f"{community.code}-{e:02d}", next(estate_names), "小区", community)
                for b in range(1, 3):
                    first = (b - 1) * 6 + 1
                    groups.append(_org(f"{estate.code}-{b:02d}", f"{first}-{first + 5}号楼院", "楼院", estate))
    return root, streets, communities, groups


def load() -> list[tuple[str, str, str]]:
    """Create what is missing; return (role, name, login) of the accounts worth printing."""
    rng = random.Random(20190101)
    root, streets, communities, groups = build_grid()
    admin = _user(ADMIN[0], name=ADMIN[1], username=ADMIN[2], role=Role.ADMIN, organization=root)
    trainers = [_user(phone, name=name, role=Role.TRAINER, organization=root) for phone, name in TRAINERS]
    organizers = []
    for i, org in enumerate(streets + communities, start=1):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        organizers.append(_user(f"1370000{i:04d}", name=name, role=Role.ORGANIZER, managed_org=org,
                                category=MemberCategory.FULL, positions=[Position.COMMITTEE]))
    members = []
    categories = [MemberCategory.FULL] * 14 + [MemberCategory.PROBATIONARY] * 2 + [MemberCategory.ACTIVIST] * 2 + \
        [MemberCategory.PUBLIC] * 2
    n = 0
    for group in groups:
        for _ in range(5):
            n += 1
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            category = rng.choice(categories)
            positions = []
            if n % 25 == 1:
                positions = [Position.SECRETARY]
            elif n % 25 in (2, 3, 4):
                positions = [Position.COMMITTEE]
            members.append(_user(f"1390100{n:04d}", name=name, role=Role.MEMBER, organization=group,
                                 category=category, positions=positions if category != MemberCategory.PUBLIC else []))
    public = _user(PUBLIC_LEARNER[0], name=PUBLIC_LEARNER[1], role=Role.PUBLIC)
    return [
        ("admin", admin.name, f"{admin.username} / {admin.phone}"),
        ("organizer", organizers[0].name + f"（{streets[0].name}）", organizers[0].phone),
        ("organizer", organizers[len(streets)].name + f"（{communities[0].name}）", organizers[len(streets)].phone),
        ("trainer", trainers[0].name, trainers[0].phone),
        ("member", members[0].name, members[0].phone),
        ("public", public.name, public.phone),
    ]
