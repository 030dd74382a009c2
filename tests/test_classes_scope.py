"""Who manages which class: organizers within their subtree, trainers their own classes, admins all."""
from datetime import datetime

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from core.extensions import db
from classes import services
from classes.models import ClassSession, Participant
from tests.classes_helpers import add_session, make_class, make_course


@pytest.fixture
def two_streets(app, grid):
    community = grid["communities"][0]  # under street 1
    organizer = grid[f"organizer_{community.code}"]
    training_class = make_class(organizer, community)
    return grid, community, organizer, training_class


def test_an_organizer_of_another_street_sees_nothing(two_streets):
    grid, community, organizer, training_class = two_streets
    far = grid[f"organizer_{grid['communities'][3].code}"]
    with pytest.raises(NotFound):
        services.class_for_manager(far, training_class.id)
    assert db.session.scalars(services.manageable_classes(far)).all() == []
    for action in (lambda: services.update_class(training_class, far, name="改名"),
                   lambda: services.set_graduation_rules(training_class, far, exam_pass=True),
                   lambda: services.add_course_item(training_class, make_course(), far),
                   lambda: services.add_roster_members(training_class, [grid["members"][community.code][0]], far),
                   lambda: services.schedule_session(training_class, far, title="x", place="y",
                                                     starts_at=datetime(2026, 3, 3), ends_at=datetime(2026, 3, 4))):
        with pytest.raises(NotFound):
            action()
    assert not services.can_manage(far, training_class)


def test_organizers_above_and_admins_manage_it(two_streets):
    grid, community, organizer, training_class = two_streets
    for manager in (organizer, grid["street_organizer"], grid["admin"]):
        assert services.class_for_manager(manager, training_class.id).id == training_class.id
        assert training_class in db.session.scalars(services.manageable_classes(manager)).all()
    sibling = grid[f"organizer_{grid['communities'][1].code}"]  # the next community in the same street
    assert not services.can_manage(sibling, training_class)


def test_classes_are_hosted_and_staffed_only_inside_the_subtree(two_streets):
    grid, community, organizer, training_class = two_streets
    far_community = grid["communities"][3]
    with pytest.raises(NotFound):
        make_class(organizer, far_community)
    with pytest.raises(NotFound):  # a member of another street cannot be put on the roster
        services.add_roster_members(training_class, [grid["members"][far_community.code][0]], organizer)
    with pytest.raises(NotFound):  # nor a public learner (they register for open classes themselves)
        services.add_roster_members(training_class, [grid["public"]], organizer)
    with pytest.raises(NotFound):
        services.update_class(training_class, organizer, host_org=far_community)
    db.session.rollback()
    assert db.session.scalars(select(Participant)).all() == []


def test_trainers_manage_the_classes_they_created(two_streets, make_user):
    grid, community, organizer, training_class = two_streets
    trainer = grid["trainer"]  # belongs to the district root
    own = make_class(trainer, grid["streets"][1], name="党务干部培训班（教员开班）")
    add_session(own, trainer, 4)
    assert services.can_manage(trainer, own) and not services.can_manage(trainer, training_class)
    assert db.session.scalars(services.manageable_classes(trainer)).all() == [own]
    assert services.can_manage(grid[f"organizer_{grid['communities'][3].code}"], own) is False
    assert services.can_manage(grid["street_organizer"], own) is False  # hosted by street 2
    assert db.session.scalars(select(ClassSession)).all()[0].class_id == own.id
    with pytest.raises(NotFound):  # members and public learners manage nothing
        services.manageable_classes(grid["members"][community.code][0])
    with pytest.raises(NotFound):
        make_class(grid["public"], community)
