"""hour_totals: the ledger summed per member and local year by database triggers, so whole-year reports read
100,000 rows instead of a million; it always equals SQL sums over the ledger (`flask hours verify-totals`)."""
from datetime import datetime

from sqlalchemy import select, text

from core.extensions import db
from reports import compliance
from learning.ledger import record_entry
from learning.models import HourEntry, HourSource, HourTotal


def totals_of(member):
    db.session.expire_all()
    return {t.year: (t.seconds, t.online, t.offline, t.quiz, t.course, t.manual)
            for t in db.session.scalars(select(HourTotal).where(HourTotal.user_id == member.id))}


def test_every_write_to_the_ledger_is_summed_by_local_year(app, grid):
    member = grid["members"]["R-1-1"][0]
    # 2025-12-31 15:59 UTC is 23:59 in Beijing (2025); 16:00 UTC is New Year's midnight (2026)
    record_entry(user_id=member.id, seconds=100, source=HourSource.ONLINE, source_ref="t:1",
                 occurred_at=datetime(2025, 12, 31, 15, 59))
    record_entry(user_id=member.id, seconds=60, source=HourSource.QUIZ, source_ref="t:2",
                 occurred_at=datetime(2025, 12, 31, 16, 0))
    record_entry(user_id=member.id, seconds=40, source=HourSource.OFFLINE, source_ref="t:3",
                 occurred_at=datetime(2026, 6, 1))
    record_entry(user_id=member.id, seconds=-30, source=HourSource.MANUAL, source_ref="t:4",
                 occurred_at=datetime(2026, 6, 2))
    record_entry(user_id=member.id, seconds=60, source=HourSource.QUIZ, source_ref="t:2")  # the same event: nothing
    # a writer that bypasses the ORM (the heartbeat's Core insert does)
    db.session.execute(HourEntry.__table__.insert().values(
        user_id=member.id, seconds=15, source=HourSource.ONLINE, source_ref="t:5", occurred_at=datetime(2026, 7, 1),
        note=""))
    db.session.commit()
    assert totals_of(member) == {2025: (100, 100, 0, 0, 0, 0), 2026: (85, 15, 40, 60, 0, -30)}


def test_the_dashboard_of_a_year_equals_the_ledger_sums_of_a_date_range_covering_it(app, grid):
    member = grid["members"]["R-1-1"][0]
    for n, when in enumerate([datetime(2025, 12, 31, 16, 0), datetime(2026, 3, 1), datetime(2026, 12, 31, 15, 59),
                              datetime(2026, 12, 31, 16, 0)]):
        record_entry(user_id=member.id, seconds=1000 * (n + 1), source=HourSource.ONLINE, source_ref=f"y:{n}",
                     occurred_at=when)
    db.session.commit()
    community = grid["communities"][0]
    year = compliance.Period.for_year(2026)
    from_totals = compliance.compliance(community, year, compliance.Basis.CURRENT)  # reads hour_totals
    from_ledger = compliance.compliance(community, year, compliance.Basis.AT_THE_TIME)  # sums the ledger itself
    assert from_totals.total.earned == from_ledger.total.earned == 1000 + 2000 + 3000  # not the 2027 entry
    rows = {r.user_id: r.earned for r in db.session.execute(compliance.member_rows(community, year))}
    assert rows[member.id] == 6000


def test_verify_totals_finds_drift_and_rebuild_repairs_it(app, grid, runner):
    member = grid["members"]["R-1-1"][0]
    record_entry(user_id=member.id, seconds=500, source=HourSource.ONLINE, source_ref="v:1",
                 occurred_at=datetime(2026, 3, 1))
    db.session.commit()
    result = runner.invoke(args=["hours", "verify-totals"])
    assert result.exit_code == 0 and "equals" in result.output, result.output

    db.session.execute(text("UPDATE hour_totals SET seconds = seconds + 1"))
    db.session.commit()
    result = runner.invoke(args=["hours", "verify-totals"])
    assert result.exit_code == 1
    assert f"user {member.id} year 2026" in result.output

    result = runner.invoke(args=["hours", "rebuild-totals"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["hours", "verify-totals"]).exit_code == 0
    assert totals_of(member)[2026][0] == 500


def test_a_deleted_entry_leaves_the_totals(app, grid):
    member = grid["members"]["R-1-1"][0]
    record_entry(user_id=member.id, seconds=500, source=HourSource.ONLINE, source_ref="d:1",
                 occurred_at=datetime(2026, 3, 1))
    record_entry(user_id=member.id, seconds=200, source=HourSource.MANUAL, source_ref="d:2",
                 occurred_at=datetime(2026, 3, 2))
    db.session.commit()
    db.session.execute(text("DELETE FROM hour_entries WHERE source_ref = 'd:1'"))
    db.session.commit()
    assert totals_of(member)[2026] == (200, 0, 0, 0, 0, 200)
