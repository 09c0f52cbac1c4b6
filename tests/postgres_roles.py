"""Clean-up of the PostgreSQL roles that tests make the pipeline create."""

from __future__ import annotations

import psycopg
from psycopg import sql


def drop_zone_roles(connection: psycopg.Connection, database: str) -> None:
    """Drop the zone reader roles of a dropped warehouse database: roles outlive databases."""
    roles = connection.execute(
        "select rolname from pg_roles where starts_with(rolname, %s) and rolname like %s",
        [f"{database}_", "%\\_reader"],
    ).fetchall()
    for (role,) in roles:
        connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
