"""Graduation (结业): numbered certificates, a repeat run issues nothing twice, revocation keeps the number
used, verification by code, and the frozen record."""
from datetime import datetime

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from core import clock
from core.extensions import db
from classes import services
from classes.graduation import GraduationError
from classes.models import ClassCertificate, ClassStatus, GraduationRecord
from courses.models import Enrollment
from tests.classes_helpers import add_session, attend, complete_course, make_class, make_course

AFTER = datetime(2026, 3, 25, 2, 0)


@pytest.fixture
def cohort(app, grid, make_member, monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: AFTER)
    community = grid["communities"][0]
    organizer = grid[f"organizer_{community.code}"]
    members = grid["members"][community.code] + [make_member(community, name=f"学员{i}") for i in (3, 4)]
    training_class = make_class(organizer, community)
    services.add_roster_members(training_class, members, organizer)
    course = make_course()
    services.add_course_item(training_class, course, organizer)
    services.set_graduation_rules(training_class, organizer, required_items=True)
    db.session.commit()
    for member in members[:3]:
        complete_course(member, course)
    return training_class, organizer, members, course


def numbers(training_class):
    return list(db.session.scalars(select(ClassCertificate.number).where(ClassCertificate.class_id == training_class.id)
                                   .order_by(ClassCertificate.seq)))


def test_graduation_numbers_certificates_per_class_and_lists_the_others(cohort):
    training_class, organizer, members, _course = cohort
    outcome = services.graduate(training_class, organizer)
    db.session.commit()
    assert [c.user_id for c in outcome.issued] == [m.id for m in members[:3]]
    assert numbers(training_class) == ["睢阳党校〔2026〕第003期-001号", "睢阳党校〔2026〕第003期-002号",
                                       "睢阳党校〔2026〕第003期-003号"]
    assert [(row.user.id, row.missed) for row in outcome.not_graduated] == [(members[3].id, ["required_items"])]
    assert training_class.status == ClassStatus.GRADUATED and training_class.graduated_at == AFTER


def test_a_second_run_issues_no_duplicate(cohort):
    training_class, organizer, members, _course = cohort
    services.graduate(training_class, organizer)
    db.session.commit()
    again = services.graduate(training_class, organizer)
    db.session.commit()
    assert again.issued == [] and len(again.already) == 3
    assert db.session.scalar(select(func.count(ClassCertificate.id))) == 3
    assert db.session.scalar(select(func.count(GraduationRecord.id))) == 4


def test_revocation_keeps_the_number_used(cohort):
    training_class, organizer, members, course = cohort
    services.graduate(training_class, organizer)
    db.session.commit()
    third = services.certificate_for(training_class, members[2])
    with pytest.raises(GraduationError):
        services.revoke_certificate(third, organizer, "  ")
    services.revoke_certificate(third, organizer, "材料不实")
    db.session.commit()
    assert third.is_revoked and third.revoked_by_id == organizer.id and third.revoke_reason == "材料不实"

    complete_course(members[3], course)  # the last one catches up; the organizer runs graduation again
    outcome = services.graduate(training_class, organizer)
    db.session.commit()
    assert [c.number for c in outcome.issued] == ["睢阳党校〔2026〕第003期-004号"]  # 003 is never handed out again
    assert services.certificate_for(training_class, members[2]).is_revoked  # and not re-issued to its holder
    assert len(numbers(training_class)) == len(set(numbers(training_class))) == 4


def test_verification_by_code(cohort):
    training_class, organizer, members, _course = cohort
    services.graduate(training_class, organizer)
    db.session.commit()
    certificate = services.certificate_for(training_class, members[0])
    spaced = " " + certificate.code[:4].lower() + "-" + certificate.code[4:] + " "
    found = services.certificate_by_code(spaced)
    assert found.id == certificate.id and found.user.name == members[0].name
    assert found.training_class.name == training_class.name
    assert services.certificate_by_code("ZZZZZZZZZZZZ") is None and services.certificate_by_code("") is None
    services.revoke_certificate(certificate, organizer, "重复发放")
    db.session.commit()
    assert services.certificate_by_code(certificate.code).is_revoked


def test_the_graduation_record_is_frozen(cohort):
    training_class, organizer, members, course = cohort
    session = add_session(training_class, organizer, 5)
    services.set_graduation_rules(training_class, organizer, required_items=True, min_hours_seconds=3600)
    db.session.commit()
    for member in members[:3]:
        attend(session, member, organizer)
    services.graduate(training_class, organizer)
    db.session.commit()
    before = {row.user.id: [r.as_dict() for r in row.rules] for row in services.board(training_class).rows}

    # Later the course is changed so nobody has completed it any more, and a member's attendance is added.
    db.session.execute(Enrollment.__table__.update().values(completed_at=None))
    attend(session, members[3], organizer)
    db.session.commit()

    rows = {row.user.id: row for row in services.board(training_class).rows}
    assert {uid: [r.as_dict() for r in row.rules] for uid, row in rows.items()} == before
    assert all(row.frozen for row in rows.values())
    assert rows[members[0].id].graduated and rows[members[0].id].certificate.number.endswith("-001号")
    assert rows[members[3].id].graduated is False
    mine = services.standing(services.participant_of(training_class, members[0]))
    assert mine.frozen and mine.meets_all


def test_a_graduated_class_refuses_edits(cohort):
    training_class, organizer, members, _course = cohort
    services.graduate(training_class, organizer)
    db.session.commit()
    with pytest.raises(services.ClassError):
        services.update_class(training_class, organizer, name="改名")
    with pytest.raises(services.ClassError):
        services.add_course_item(training_class, make_course("新课"), organizer)


def test_only_the_classes_managers_graduate(cohort, grid):
    training_class, _organizer, _members, _course = cohort
    other = grid[f"organizer_{grid['communities'][2].code}"]
    with pytest.raises(NotFound):
        services.graduate(training_class, other)
    with pytest.raises(NotFound):
        services.revoke_certificate(ClassCertificate(class_id=training_class.id, training_class=training_class),
                                    other, "x")
    assert services.graduate(training_class, grid["street_organizer"]).issued  # the street above may
