"""Zone-level read access on the PostgreSQL warehouse, through one group role per zone.

Each zone has a NOLOGIN role ``<database>__<code>_reader`` (see ``zone_reader_role``) with
CONNECT on the database, USAGE on the zone's schema, SELECT on its tables and default privileges
for tables created there later. The publish step re-applies those grants to every new schema it
swaps in. A BI login gets read access by membership of that role only, so it owns nothing and
reads no other schema: PUBLIC keeps no privilege on the database, on ``public`` or on the
pipeline's schemas.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from dagster_project.publish.postgres import zone_reader_role
from dagster_project.zones import load_zones, validate_zone_code

# Schemas of the pipeline that no BI role may read (PUBLIC has nothing on them either).
PRIVATE_SCHEMAS = ("public", "raw", "zone_context", "staging", "intermediate", "marts")
# Unquoted PostgreSQL identifiers: lowercase, at most 63 bytes, and no "pg_" prefix.
USER_NAME_PATTERN = re.compile(r"^(?!pg_)[a-z_][a-z0-9_]{0,62}$")


class AccessError(ValueError):
    """A zone code or user name is invalid, or the login cannot be granted a zone."""


def validate_user_name(name: str) -> str:
    """Return ``name`` when it is a plain PostgreSQL login name, else raise AccessError."""
    if not USER_NAME_PATTERN.match(name):
        raise AccessError(
            f"invalid user name {name!r}: use 1 to 63 lowercase letters, digits or underscores, "
            "starting with a letter or an underscore and not with pg_"
        )
    return name


def _exists(connection: psycopg.Connection, query: str, value: str) -> bool:
    return connection.execute(query, [value]).fetchone()[0] > 0


def _role_exists(connection: psycopg.Connection, role: str) -> bool:
    return _exists(connection, "select count(*) from pg_roles where rolname = %s", role)


def _schema_exists(connection: psycopg.Connection, schema: str) -> bool:
    return _exists(connection, "select count(*) from pg_namespace where nspname = %s", schema)


def revoke_public(connection: psycopg.Connection) -> None:
    """Take every privilege away from PUBLIC on the database and the pipeline's schemas."""
    database = connection.info.dbname
    connection.execute(
        sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
    )
    for schema in PRIVATE_SCHEMAS:
        if _schema_exists(connection, schema):
            connection.execute(
                sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema))
            )


def ensure_zone_role(connection: psycopg.Connection, zone_code: str) -> str:
    """Create the zone's reader role if missing and grant it the zone schema; return its name."""
    role = zone_reader_role(connection.info.dbname, validate_zone_code(zone_code))
    grantee = sql.Identifier(role)
    if not _role_exists(connection, role):
        connection.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(grantee))
    connection.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(connection.info.dbname), grantee
        )
    )
    _on_zone_schema(
        connection,
        zone_code,
        role,
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        "GRANT SELECT ON TABLES TO {role}",
    )
    return role


def _on_zone_schema(
    connection: psycopg.Connection, zone_code: str, role: str, *statements: str
) -> None:
    """Run ``statements`` on the zone's schema, if it exists, with {schema}, {role}, {owner}.

    Default privileges cover only tables created by the named role. That role is the schema's
    owner (the pipeline's role), not the administrator running this command.
    """
    owner = connection.execute(
        "select pg_get_userbyid(nspowner) from pg_namespace where nspname = %s", [zone_code]
    ).fetchone()
    if owner is None:
        return
    names = {
        "schema": sql.Identifier(zone_code),
        "role": sql.Identifier(role),
        "owner": sql.Identifier(owner[0]),
    }
    for statement in statements:
        connection.execute(sql.SQL(statement).format(**names))


# Every role that ``user`` belongs to, directly or through other roles.
MEMBERSHIPS = """
with recursive granted (oid) as (
    select m.roleid from pg_auth_members as m join pg_roles as r on r.oid = m.member
    where r.rolname = %s
    union
    select m.roleid from pg_auth_members as m join granted as g on m.member = g.oid
)
select rolname from pg_roles where oid in (select oid from granted) order by rolname
"""


def _check_login(connection: psycopg.Connection, user: str, zone_code: str) -> None:
    """Raise AccessError unless ``user`` is a plain login that can read only what it is granted.

    A login that could read other zones through the privileges it already has would make a zone
    grant meaningless. Such logins are superusers, roles that can create roles (they could
    grant themselves any zone), members of roles other than this warehouse's zone readers,
    roles granted to other roles, roles with their own USAGE on another schema, table owners.
    """
    row = connection.execute(
        "select rolsuper, rolcanlogin, rolcreaterole from pg_roles where rolname = %s", [user]
    ).fetchone()
    if row is None:
        raise AccessError(
            f"login {user!r} not found: create it first (CREATE ROLE {user} LOGIN PASSWORD ...)"
        )
    superuser, can_login, create_role = row
    if superuser:
        raise AccessError(f"login {user!r} is a superuser, which reads every schema anyway")
    if not can_login:
        raise AccessError(
            f"role {user!r} cannot log in (NOLOGIN): grant zones to a login role, such as one "
            f"made with CREATE ROLE name LOGIN PASSWORD ..."
        )
    if create_role:
        raise AccessError(
            f"login {user!r} has CREATEROLE, so it could grant itself every zone; use a login "
            "without it"
        )
    database = connection.info.dbname
    codes = [zone.code for zone in load_zones()]
    # Earlier versions named the reader roles zone_<code>_reader: a login still in one of them
    # can move to the new role with this command before the old role is dropped.
    zone_roles = {zone_reader_role(database, code) for code in codes}
    zone_roles |= {f"zone_{code}_reader" for code in codes}
    memberships = [name for (name,) in connection.execute(MEMBERSHIPS, [user]).fetchall()]
    others = [name for name in memberships if name not in zone_roles]
    if others:
        raise AccessError(
            f"login {user!r} is a member of {', '.join(others)}, which may read more than its "
            "zones; use a login that belongs to no other role, or revoke those memberships"
        )
    members = connection.execute(
        "select r.rolname from pg_auth_members as m join pg_roles as r on r.oid = m.member "
        "join pg_roles as g on g.oid = m.roleid where g.rolname = %s order by 1",
        [user],
    ).fetchall()
    if members:
        raise AccessError(
            f"login {user!r} is granted to {', '.join(name for (name,) in members)}, who would "
            "read its zones too; revoke that membership or use another login"
        )
    usable = connection.execute(
        "select distinct n.nspname from pg_namespace as n, aclexplode(n.nspacl) as a "
        "join pg_roles as r on r.oid = a.grantee "
        "where r.rolname = %s and a.privilege_type = 'USAGE' order by 1",
        [user],
    ).fetchall()
    direct = [name for (name,) in usable if name != zone_code]
    if direct:
        raise AccessError(
            f"login {user!r} can already use schema {', '.join(direct)} through its own "
            "grants; revoke them (REVOKE ALL ON SCHEMA ... FROM it) so that it reads only the "
            "zones granted here"
        )
    owned = connection.execute(
        "select count(*) from pg_class as c join pg_roles as r on r.oid = c.relowner "
        "where r.rolname = %s",
        [user],
    ).fetchone()[0]
    if owned:
        raise AccessError(
            f"login {user!r} owns {owned} table(s) or view(s) in this database; a BI login must "
            "own none, so reassign them (REASSIGN OWNED BY ...) or use another login"
        )


def grant_zone(warehouse_url: str, zone_code: str, user: str) -> str:
    """Let ``user`` read schema ``zone_code`` and nothing else; return the group role granted.

    Idempotent: granting a zone twice changes nothing. Runs as a role allowed to create roles.
    """
    validate_zone_code(zone_code)
    validate_user_name(user)
    with psycopg.connect(warehouse_url) as connection:
        _check_login(connection, user, zone_code)
        revoke_public(connection)
        role = ensure_zone_role(connection, zone_code)
        connection.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(user))
        )
    return role


def revoke_zone(warehouse_url: str, zone_code: str, user: str) -> str:
    """Remove ``user`` from the zone's reader role; revoking twice changes nothing."""
    validate_zone_code(zone_code)
    validate_user_name(user)
    with psycopg.connect(warehouse_url) as connection:
        role = zone_reader_role(connection.info.dbname, zone_code)
        if not _role_exists(connection, user):
            raise AccessError(f"login {user!r} not found")
        if _role_exists(connection, role):
            connection.execute(
                sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(role), sql.Identifier(user))
            )
        # Grants made to the login itself on the zone's schema are carried over at each
        # publish, so they are revoked too: membership alone would leave them.
        _on_zone_schema(
            connection,
            zone_code,
            user,
            "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            "REVOKE ALL ON SCHEMA {schema} FROM {role}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
            "REVOKE ALL ON TABLES FROM {role}",
        )
    return role
