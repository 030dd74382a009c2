"""Per-member, per-year sums of the training-hour ledger (``hour_totals``), kept by the database itself.

The ledger stays the truth: ``hour_totals`` is derived data, like an index. AFTER INSERT and AFTER DELETE
triggers on ``hour_entries`` add each entry's seconds to its member's row for the entry's local year, inside the
statement that writes the entry, so no writer (record_entry, the heartbeat's Core insert, a bulk load) sends
an extra statement or can forget it. A whole-year report then reads 100,000 rows instead of a million.

The local year is the year of ``occurred_at`` (naive UTC) shifted by the display time zone's UTC offset at New
Year, the only instant where it matters; the offset is written into the triggers. After changing
``DISPLAY_TIMEZONE``, run ``flask hours rebuild-totals`` (recreates the triggers and the sums);
``flask hours verify-totals`` compares the table with SQL sums over the ledger.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

SOURCES = ("online", "offline", "quiz", "course", "manual")  # learning.models.HourSource values
DEFAULT_ZONE = "Asia/Shanghai"


def offset_minutes(zone: str | None = None) -> int:
    """The zone's UTC offset at New Year, in minutes (Asia/Shanghai: 480)."""
    offset = ZoneInfo(zone or DEFAULT_ZONE).utcoffset(datetime(datetime.now().year, 1, 1))
    return int(offset.total_seconds() // 60)


def configured_offset() -> int:
    from flask import current_app, has_app_context

    return offset_minutes(current_app.config.get("DISPLAY_TIMEZONE") if has_app_context() else None)


def year_sql(dialect: str, column: str, minutes: int) -> str:
    """SQL for the local year of a naive-UTC timestamp column."""
    if dialect == "postgresql":
        return f"CAST(EXTRACT(YEAR FROM {column} + INTERVAL '{int(minutes)} minutes') AS INTEGER)"
    return f"CAST(strftime('%Y', {column}, '{int(minutes):+d} minutes') AS INTEGER)"


def _source_values(row: str) -> list[str]:
    return [f"CASE WHEN {row}.source = '{s}' THEN {row}.seconds ELSE 0 END" for s in SOURCES]


COLUMNS = ("seconds",) + SOURCES


def trigger_ddl(dialect: str, minutes: int) -> list[str]:
    """Statements that (re)create the triggers keeping ``hour_totals`` equal to the ledger's sums."""
    columns = ", ".join(COLUMNS)
    if dialect == "postgresql":
        def apply(row: str, sign: str) -> str:
            values = ", ".join([f"{sign}{row}.seconds"] + [f"{sign}({v})" for v in _source_values(row)])
            return (f"INSERT INTO hour_totals (user_id, year, {columns}) "
                    f"VALUES ({row}.user_id, {year_sql(dialect, row + '.occurred_at', minutes)}, {values}) "
                    f"ON CONFLICT (user_id, year) DO UPDATE SET "
                    + ", ".join(f"{c} = hour_totals.{c} + EXCLUDED.{c}" for c in COLUMNS) + ";")

        return [
            "CREATE OR REPLACE FUNCTION hour_totals_follow_ledger() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            f"  IF TG_OP = 'INSERT' THEN {apply('NEW', '')}\n"
            f"  ELSE {apply('OLD', '-')}\n"
            "  END IF;\n"
            "  RETURN NULL;\n"
            "END $$",
            "DROP TRIGGER IF EXISTS hour_totals_follow_ledger ON hour_entries",
            "CREATE TRIGGER hour_totals_follow_ledger AFTER INSERT OR DELETE ON hour_entries "
            "FOR EACH ROW EXECUTE FUNCTION hour_totals_follow_ledger()",
        ]
    insert_values = ", ".join(["NEW.seconds"] + _source_values("NEW"))
    minus = ", ".join(f"{c} = {c} - ({v})" for c, v in zip(COLUMNS, ["OLD.seconds"] + _source_values("OLD")))
    return [
        "DROP TRIGGER IF EXISTS hour_totals_after_insert",
        "DROP TRIGGER IF EXISTS hour_totals_after_delete",
        "CREATE TRIGGER hour_totals_after_insert AFTER INSERT ON hour_entries BEGIN "
        f"INSERT INTO hour_totals (user_id, year, {columns}) "
        f"VALUES (NEW.user_id, {year_sql(dialect, 'NEW.occurred_at', minutes)}, {insert_values}) "
        "ON CONFLICT (user_id, year) DO UPDATE SET "
        + ", ".join(f"{c} = {c} + excluded.{c}" for c in COLUMNS) + "; END",
        "CREATE TRIGGER hour_totals_after_delete AFTER DELETE ON hour_entries BEGIN "
        f"UPDATE hour_totals SET {minus} "
        f"WHERE user_id = OLD.user_id AND year = {year_sql(dialect, 'OLD.occurred_at', minutes)}; END",
    ]


def drop_trigger_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return ["DROP TRIGGER IF EXISTS hour_totals_follow_ledger ON hour_entries",
                "DROP FUNCTION IF EXISTS hour_totals_follow_ledger()"]
    return ["DROP TRIGGER IF EXISTS hour_totals_after_insert", "DROP TRIGGER IF EXISTS hour_totals_after_delete"]


def create_triggers(connection, minutes: int | None = None) -> None:
    for statement in trigger_ddl(connection.dialect.name, configured_offset() if minutes is None else minutes):
        connection.exec_driver_sql(statement)


def ledger_sums_sql(dialect: str, minutes: int) -> str:
    year = year_sql(dialect, "occurred_at", minutes)
    sums = ", ".join(["SUM(seconds) AS seconds"] + [f"SUM(CASE WHEN source = '{s}' THEN seconds ELSE 0 END) AS {s}"
                                                    for s in SOURCES])
    return f"SELECT user_id, {year} AS year, {sums} FROM hour_entries GROUP BY user_id, {year}"


def rebuild(connection, minutes: int | None = None) -> int:
    """Recreate the triggers (with the configured zone) and every row from the ledger; returns the rows."""
    minutes = configured_offset() if minutes is None else minutes
    create_triggers(connection, minutes)
    connection.execute(text("DELETE FROM hour_totals"))
    connection.exec_driver_sql(f"INSERT INTO hour_totals (user_id, year, {', '.join(COLUMNS)}) "
                               + ledger_sums_sql(connection.dialect.name, minutes))
    return connection.execute(text("SELECT COUNT(*) FROM hour_totals")).scalar()


def differences(connection, minutes: int | None = None, limit: int = 20) -> list[tuple]:
    """Rows where ``hour_totals`` and the SQL sums over the ledger disagree: ("ledger", row) for a sum the
    table lacks or has otherwise, ("table", row) for a table row no ledger sum matches (all-zero rows, left by
    deleted entries, count as absent)."""
    minutes = configured_offset() if minutes is None else minutes
    nonzero = " OR ".join(f"{c} <> 0" for c in COLUMNS)
    ledger = f"SELECT * FROM ({ledger_sums_sql(connection.dialect.name, minutes)}) AS l WHERE {nonzero}"
    table = f"SELECT user_id, year, {', '.join(COLUMNS)} FROM hour_totals WHERE {nonzero}"
    found = [("ledger", tuple(r)) for r in connection.exec_driver_sql(
        f"SELECT * FROM ({ledger} EXCEPT {table}) AS d LIMIT {int(limit)}")]
    found += [("table", tuple(r)) for r in connection.exec_driver_sql(
        f"SELECT * FROM ({table} EXCEPT {ledger}) AS d LIMIT {int(limit)}")]
    return found
