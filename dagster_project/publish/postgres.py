"""Publish an audited candidate to PostgreSQL as the zone's schema, swapped in one transaction.

The candidate's tables are loaded into the schema ``<zone>__candidate`` and its quarantined rows
into ``<zone>__quarantine``, which no BI role may read. In the same transaction the current
``<zone>`` schema is renamed away and ``<zone>__candidate`` takes its name. The read grants of
the old schema, and of the zone's reader role, are applied to the new one (with default
privileges for tables created later). PostgreSQL makes the whole change visible at commit, so a
BI query reads either the old schema or the new one, and any error rolls everything back.

The old schema, ``<zone>__previous``, is dropped after the commit, in its own transaction: a BI
transaction still reading it delays only that drop, never the swap, and a drop given up after
``LOCK_TIMEOUT`` is done by the next publish. Objects outside the published tables that the
swap would drop with the old schema, such as a view built on a zone table, stop the publish
instead, naming them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import duckdb

from dagster_project.duckdb_files import connect_duckdb
from dagster_project.gate.candidate import quote_identifier
from dagster_project.gate.quarantine import QUARANTINE_TABLE
from dagster_project.publish.embedded import PublishError
from dagster_project.publish.log import PUBLISH_LOG_TABLE, PublishEntry

logger = logging.getLogger(__name__)

CANDIDATE_SUFFIX = "__candidate"
QUARANTINE_SUFFIX = "__quarantine"
PREVIOUS_SUFFIX = "__previous"
# How long a publish waits for a lock held by another session, such as an open BI transaction.
LOCK_TIMEOUT = "5s"
# SQLSTATE of PostgreSQL's lock_not_available, raised when LOCK_TIMEOUT runs out.
LOCK_NOT_AVAILABLE = "55P03"

# Objects that DROP SCHEMA ... CASCADE of the old version would take with it, other than what a
# publish creates (tables, their indexes, row types, defaults and constraints). Examples are
# views, functions, policies, triggers, foreign keys, a column typed with a zone table's row
# type and any object created in the zone schema. PostgreSQL records each one in pg_depend.
DEPENDENT_OBJECTS = """
with zone_objects (classid, objid) as (
    select 'pg_class'::regclass, c.oid from pg_class as c where c.relnamespace = $1::regnamespace
    union all
    select 'pg_type'::regclass, t.oid from pg_type as t where t.typnamespace = $1::regnamespace
    union all
    select 'pg_namespace'::regclass, $1::regnamespace::oid
)
select distinct pg_describe_object(d.classid, d.objid, d.objsubid) as dependent
from pg_depend as d
join zone_objects as z on d.refclassid = z.classid and d.refobjid = z.objid
where d.deptype in ('n', 'a')
  and d.classid <> 'pg_default_acl'::regclass
  and not (d.classid = 'pg_class'::regclass and exists (
      select 1 from pg_class as c
      where c.oid = d.objid and c.relnamespace = $1::regnamespace
        and c.relkind in ('r', 'p', 'i', 'I', 'S', 't') and d.objsubid = 0))
  and not (d.classid = 'pg_type'::regclass and exists (
      select 1 from pg_type as t where t.oid = d.objid and t.typnamespace = $1::regnamespace))
  and not (d.classid = 'pg_attrdef'::regclass and exists (
      select 1 from pg_attrdef as a join pg_class as c on c.oid = a.adrelid
      where a.oid = d.objid and c.relnamespace = $1::regnamespace))
  and not (d.classid = 'pg_constraint'::regclass and exists (
      select 1 from pg_constraint as k join pg_class as c on c.oid = k.conrelid
      where k.oid = d.objid and c.relnamespace = $1::regnamespace and k.contype <> 'f'))
order by 1
"""

# PostgreSQL truncates longer identifiers.
MAX_IDENTIFIER_BYTES = 63

CREATE_PUBLISH_LOG = """
CREATE TABLE {schema}.{table} (
    run_id TEXT NOT NULL,
    zone_code TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    source_watermarks JSONB,
    row_counts JSONB NOT NULL,
    checks_passed TEXT[] NOT NULL,
    checks_failed TEXT[] NOT NULL
)
"""


def zone_reader_role(database: str, zone_code: str) -> str:
    """Return the name of the role that reads one zone's schema in warehouse ``database``.

    Roles belong to the whole PostgreSQL server, so the name carries the database: a login
    granted a zone of one warehouse reads nothing of another warehouse on the same server. Zone
    codes never contain "__", so the last "__" separates the two and no other database and zone
    give the same name. A name over PostgreSQL's 63 bytes, which it would truncate, keeps the
    start of the database name and a hash of all of it.
    """
    name = f"{database}__{zone_code}_reader"
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    suffix = f"_{hashlib.sha256(database.encode()).hexdigest()[:8]}__{zone_code}_reader"
    room = MAX_IDENTIFIER_BYTES - len(suffix)
    return database.encode()[:room].decode(errors="ignore") + suffix


def _scalar(cursor, sql: str, parameters=None):
    cursor.execute(sql, parameters)
    row = cursor.fetchone()
    return None if row is None else row[0]


def _candidate_tables(candidate: Path) -> list[str]:
    with connect_duckdb(candidate, read_only=True) as connection:
        rows = connection.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' and table_name not in (?, ?) order by table_name",
            [PUBLISH_LOG_TABLE, QUARANTINE_TABLE],
        ).fetchall()
    return [name for (name,) in rows]


def _readers(cursor, schema: str, zone_code: str) -> list[str]:
    """Return the roles to grant read access: the current schema's readers and the zone role."""
    cursor.execute(
        "select distinct grantee from information_schema.role_table_grants "
        "where table_schema = $1 and privilege_type = 'SELECT' "
        "and grantee <> current_user and grantee <> 'PUBLIC'",
        [schema],
    )
    roles = {grantee for (grantee,) in cursor.fetchall()}
    role = zone_reader_role(_scalar(cursor, "select current_database()"), zone_code)
    if _scalar(cursor, "select count(*) from pg_roles where rolname = $1", [role]):
        roles.add(role)
    return sorted(roles)


def _has_quarantine(source: duckdb.DuckDBPyConnection) -> bool:
    rows = source.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'main' and table_name = ?",
        [QUARANTINE_TABLE],
    ).fetchall()
    return bool(rows[0][0])


def _load_table(source, cursor, table: str, target_schema: str, zone_code: str) -> None:
    """Copy one candidate table into ``target_schema``; raise PublishError when it fails."""
    data = source.sql(f"SELECT * FROM {quote_identifier(table)}").to_arrow_table()
    try:
        cursor.adbc_ingest(table, data, mode="create", db_schema_name=target_schema)
    except adbc_driver_manager.Error as error:
        raise PublishError(
            f"cannot load candidate table {table} into PostgreSQL schema "
            f"{target_schema} ({error}); schema {zone_code} is unchanged"
        ) from error


def publish_to_postgres(
    candidate: Path, warehouse_url: str, zone_code: str, entry: PublishEntry
) -> list[str]:
    """Replace schema ``zone_code`` by the candidate's tables and return the roles granted.

    Raise PublishError, with nothing changed in PostgreSQL, when a table cannot be loaded.
    """
    schema = quote_identifier(zone_code)
    next_schema = quote_identifier(zone_code + CANDIDATE_SUFFIX)
    previous_schema = quote_identifier(zone_code + PREVIOUS_SUFFIX)
    quarantine_schema = quote_identifier(zone_code + QUARANTINE_SUFFIX)
    tables = _candidate_tables(candidate)
    with connect_duckdb(candidate, read_only=True) as source:
        source.execute("SET TimeZone = 'UTC'")
        with adbc.connect(warehouse_url) as connection, connection.cursor() as cursor:
            # NOTE: ADBC creates NUMERIC columns without their declared precision and JSON
            # columns as TEXT, so the published types are wider than the warehouse's.
            for name in (next_schema, quarantine_schema):
                cursor.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
                cursor.execute(f"CREATE SCHEMA {name}")
            for table in tables:
                _load_table(source, cursor, table, zone_code + CANDIDATE_SUFFIX, zone_code)
            if _has_quarantine(source):
                _load_table(
                    source, cursor, QUARANTINE_TABLE, zone_code + QUARANTINE_SUFFIX, zone_code
                )
            exists = _scalar(
                cursor, "select count(*) from pg_namespace where nspname = $1", [zone_code]
            )
            cursor.execute(CREATE_PUBLISH_LOG.format(schema=next_schema, table=PUBLISH_LOG_TABLE))
            if exists and _scalar(
                cursor,
                "select count(*) from information_schema.tables "
                "where table_schema = $1 and table_name = $2",
                [zone_code, PUBLISH_LOG_TABLE],
            ):
                cursor.execute(
                    f"INSERT INTO {next_schema}.{PUBLISH_LOG_TABLE} "
                    f"SELECT * FROM {schema}.{PUBLISH_LOG_TABLE}"
                )
            cursor.execute(
                f"INSERT INTO {next_schema}.{PUBLISH_LOG_TABLE} "
                "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, "
                "array(select jsonb_array_elements_text($6::jsonb)), "
                "array(select jsonb_array_elements_text($7::jsonb)))",
                [
                    entry.run_id,
                    entry.zone_code,
                    entry.published_at,
                    json.dumps(entry.source_watermarks, default=str),
                    json.dumps(entry.row_counts),
                    json.dumps(entry.checks_passed),
                    json.dumps(entry.checks_failed),
                ],
            )
            readers = _readers(cursor, zone_code, zone_code)
            if exists:
                _check_no_dependents(cursor, zone_code)
                _drop_previous(connection, cursor, previous_schema, zone_code, before_swap=True)
                cursor.execute(f"ALTER SCHEMA {schema} RENAME TO {previous_schema}")
            cursor.execute(f"ALTER SCHEMA {next_schema} RENAME TO {schema}")
            for reader in readers:
                grantee = quote_identifier(reader)
                cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}")
                cursor.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {grantee}")
                cursor.execute(
                    f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
                    f"GRANT SELECT ON TABLES TO {grantee}"
                )
            connection.commit()
            if exists:
                _drop_previous(connection, cursor, previous_schema, zone_code, before_swap=False)
                connection.commit()
    return readers


def _check_no_dependents(cursor, zone_code: str) -> None:
    """Raise PublishError naming the objects the swap would drop along with the old schema."""
    cursor.execute(DEPENDENT_OBJECTS, [zone_code])
    dependents = [name for (name,) in cursor.fetchall()]
    if dependents:
        raise PublishError(
            f"schema {zone_code} has objects that a publish would drop with its previous "
            f"version: {'; '.join(dependents)}. A publish replaces the schema's tables, so "
            "objects built on them cannot stay: drop them (or build them in the BI tool) and "
            f"publish again; schema {zone_code} is unchanged"
        )


def _drop_previous(
    connection, cursor, previous_schema: str, zone_code: str, before_swap: bool
) -> None:
    """Drop the zone's previous version, waiting at most LOCK_TIMEOUT for its readers.

    Before the swap, a version left by an earlier publish must go, or PublishError is raised.
    After the swap, a version still read is left for the next publish.
    """
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        cursor.execute(f"DROP SCHEMA IF EXISTS {previous_schema} CASCADE")
    except adbc_driver_manager.Error as error:
        locked = getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE
        if before_swap and locked:
            raise PublishError(
                f"schema {zone_code}{PREVIOUS_SUFFIX}, the version before the last publish, is "
                f"still read by an open transaction after {LOCK_TIMEOUT}; end that session and "
                f"publish again; schema {zone_code} is unchanged"
            ) from error
        if before_swap:
            raise
        # The publish is committed: a failed clean-up must not report it as failed.
        connection.rollback()
        reason = "is still read by an open transaction" if locked else "could not be dropped"
        logger.warning(
            "schema %s%s %s (%s); the next publish drops it",
            zone_code,
            PREVIOUS_SUFFIX,
            reason,
            (str(error).strip().splitlines() or [type(error).__name__])[0],
        )


def read_last_postgres_publish(
    warehouse_url: str, zone_code: str
) -> tuple[str | None, dict[str, int] | None]:
    """Return the run id and row counts of the zone schema's latest publish, if any."""
    with adbc.connect(warehouse_url) as connection, connection.cursor() as cursor:
        if not _scalar(
            cursor,
            "select count(*) from information_schema.tables "
            "where table_schema = $1 and table_name = $2",
            [zone_code, PUBLISH_LOG_TABLE],
        ):
            return None, None
        cursor.execute(
            f"select run_id, row_counts::text from {quote_identifier(zone_code)}."
            f"{PUBLISH_LOG_TABLE} order by published_at desc limit 1"
        )
        row = cursor.fetchone()
    if row is None:
        return None, None
    return row[0], json.loads(row[1])
