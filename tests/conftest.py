"""Shared fixtures: real PostgreSQL databases, and skipping rules for missing servers.

Tests that need the PostgreSQL server at 127.0.0.1:5432 (user postgres, trust auth) create their
own database and drop it afterwards. Without the server they skip with a message saying what to
install; under CI=true they fail instead, because CI must run them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from postgres_roles import drop_zone_roles

POSTGRES_ADMIN_URL = os.environ.get(
    "ZONE_MARTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip the test on a developer machine; fail it under CI=true, where nothing may skip."""
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip().splitlines()[0]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _postgres_available()
    if problem:
        skip_or_fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({problem}); install and start "
            "PostgreSQL 15 (Debian: apt-get install postgresql) or set "
            "ZONE_MARTS_TEST_POSTGRES_URL"
        )
    return POSTGRES_ADMIN_URL


def _database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def make_postgres_database(postgres_admin_url: str) -> Iterator:
    """Return a factory that creates an empty database and returns its URL; all are dropped."""
    created: list[str] = []

    def create(prefix: str = "zm_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _database_url(postgres_admin_url, name)

    yield create
    with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
        for name in created:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            drop_zone_roles(connection, name)


@pytest.fixture
def postgres_database(make_postgres_database) -> str:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    return make_postgres_database()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        skip_or_fail(
            "Chromium is not installed; install Debian's package: apt-get install chromium"
        )
    return path
