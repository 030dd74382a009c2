"""Places and registration windows: enforced one at a time and under concurrency (100 learners for the
last 10 places on a real SQLite file, or on PostgreSQL when DATABASE_URL names one)."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import func, select

from accounts import services as account_services
from accounts.models import User
from core import clock
from core.extensions import db
from core.permissions import Role
from classes import services
from classes.models import EnrolmentMode, Participant, ParticipantStatus, TrainingClass
from tests.classes_helpers import make_class
from tests.conftest import password_hash, shared_database_app

LEARNERS = 100
WORKERS = 20  # connections at once (PostgreSQL's slots are shared with other test runs)


def approved(training_class) -> int:
    return db.session.scalar(select(func.count(Participant.id)).where(
        Participant.class_id == training_class.id, Participant.status == ParticipantStatus.APPROVED))


def test_open_class_takes_anyone_until_full(app, grid, make_user):
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    training_class = make_class(organizer, community, mode=EnrolmentMode.OPEN, capacity=2)
    learners = [make_user(Role.PUBLIC) for _ in range(2)]
    member_elsewhere = grid["members"][grid["communities"][3].code][0]
    services.register(training_class, learners[0])
    again = services.register(training_class, learners[0])  # twice: one place
    services.register(training_class, member_elsewhere)  # members of any subtree may join an open class
    db.session.commit()
    assert again.status == ParticipantStatus.APPROVED and training_class.taken == 2
    with pytest.raises(services.ClassError, match="名额已满"):
        services.register(training_class, learners[1])
    db.session.rollback()
    services.withdraw(training_class, learners[0])  # a place frees up
    services.register(training_class, learners[1])
    db.session.commit()
    assert approved(training_class) == 2 and training_class.places_left == 0


def test_registration_window(app, grid, make_user):
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    training_class = make_class(organizer, community, mode=EnrolmentMode.OPEN,
                                registration_opens_at=datetime(2026, 2, 1), registration_closes_at=datetime(2026, 3, 1))
    learner = make_user(Role.PUBLIC)
    for moment in (datetime(2026, 1, 31, 23, 59), datetime(2026, 3, 1)):
        with pytest.raises(services.ClassError, match="不在报名时间内"):
            services.register(training_class, learner, now=moment)
    assert services.register(training_class, learner, now=datetime(2026, 2, 15)).status == ParticipantStatus.APPROVED
    draft = make_class(organizer, community, mode=EnrolmentMode.OPEN, publish=False)
    with pytest.raises(services.ClassError):
        services.register(draft, make_user(Role.PUBLIC))


def test_applications_wait_for_approval_and_respect_capacity(app, grid):
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    training_class = make_class(organizer, community, mode=EnrolmentMode.APPLICATION, capacity=1)
    a, b = grid["members"][community.code]
    first, second = services.apply(training_class, a, "希望参加"), services.apply(training_class, b)
    db.session.commit()
    assert first.status == second.status == ParticipantStatus.APPLIED and training_class.taken == 0
    services.approve(first, organizer)
    db.session.commit()
    with pytest.raises(services.ClassError, match="名额已满"):
        services.approve(second, organizer)
    db.session.rollback()
    services.reject(second, organizer, "名额已满，请报下一期")
    db.session.commit()
    assert (first.status, second.status) == (ParticipantStatus.APPROVED, ParticipantStatus.REJECTED)
    assert second.note == "名额已满，请报下一期"
    with pytest.raises(services.ClassError):
        services.apply(training_class, b)  # a rejected applicant cannot simply apply again


def test_public_learners_cannot_apply_to_a_members_class(app, grid, make_user):
    community = grid["communities"][0]
    training_class = make_class(grid[f"organizer_{community.code}"], community, mode=EnrolmentMode.APPLICATION)
    from werkzeug.exceptions import NotFound

    with pytest.raises(NotFound):
        services.apply(training_class, make_user(Role.PUBLIC))
    with pytest.raises(NotFound):  # nor members of another street
        services.apply(training_class, grid["members"][grid["communities"][3].code][0])


def test_roster_is_all_or_nothing_when_places_run_out(app, grid):
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    training_class = make_class(organizer, community, capacity=1)
    with pytest.raises(services.ClassError):
        services.add_roster_members(training_class, grid["members"][community.code], organizer)
    db.session.commit()
    assert approved(training_class) == 0 and training_class.taken == 0


# --- concurrency ---------------------------------------------------------------------------------------------

@pytest.fixture
def shared_app(tmp_path):
    with shared_database_app(tmp_path, WORKERS, sqlite_timeout=60) as application:
        yield application


def test_hundred_learners_race_for_the_last_ten_places(shared_app, make_org, make_user, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 2, 20, 2, 0))
    square = make_org("广场社区", kind="社区")
    organizer = make_user(Role.ORGANIZER, org=square)
    training_class = make_class(organizer, square, name="广场宣讲系列", mode=EnrolmentMode.OPEN, capacity=30)
    training_class.taken = 20  # twenty places went earlier
    hashed = password_hash()
    learner_ids = []
    for i in range(LEARNERS):
        learner = account_services.create_user(name=f"群众{i}", phone=f"137{i:08d}", password_hash=hashed,
                                               role=Role.PUBLIC)
        learner_ids.append(learner.id)
    db.session.commit()
    class_id = training_class.id
    db.session.remove()

    barrier = threading.Barrier(WORKERS)
    outcomes, errors = [], []

    def attempt(user_id: int):
        with shared_app.app_context():
            try:
                if user_id in learner_ids[:WORKERS]:
                    barrier.wait()  # the first wave starts together; the rest follow as workers free up
                tc = db.session.get(TrainingClass, class_id)
                services.register(tc, db.session.get(User, user_id))
                db.session.commit()
                outcomes.append("ok")
            except services.ClassError:
                db.session.rollback()
                outcomes.append("full")
            except Exception as exc:  # reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(attempt, learner_ids))

    assert not errors, errors[:3]
    assert outcomes.count("ok") == 10 and outcomes.count("full") == LEARNERS - 10
    training_class = db.session.get(TrainingClass, class_id)
    assert training_class.taken == 30
    assert approved(training_class) == 10  # the twenty earlier places were set directly


def test_concurrent_graduation_runs_number_each_member_once(shared_app, make_org, make_user, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 3, 25, 2, 0))
    community = make_org("春晖社区", kind="社区")
    organizer = make_user(Role.ORGANIZER, org=community)
    training_class = make_class(organizer, community)
    members = [make_user(Role.MEMBER, org=community, name=f"学员{i}") for i in range(6)]
    services.add_roster_members(training_class, members, organizer)
    db.session.commit()
    class_id, organizer_id = training_class.id, organizer.id
    db.session.remove()
    runs = 4
    barrier = threading.Barrier(runs)
    issued, errors = [], []

    def run():
        with shared_app.app_context():
            try:
                barrier.wait()
                outcome = services.graduate(db.session.get(TrainingClass, class_id), db.session.get(User, organizer_id))
                db.session.commit()
                issued.append(len(outcome.issued))
            except Exception as exc:  # reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(issued) == [0, 0, 0, 6]
    from classes.models import ClassCertificate

    seqs = db.session.scalars(select(ClassCertificate.seq).where(ClassCertificate.class_id == class_id)
                              .order_by(ClassCertificate.seq)).all()
    assert seqs == [1, 2, 3, 4, 5, 6]
