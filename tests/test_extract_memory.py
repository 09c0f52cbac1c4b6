"""The extraction's memory cap in the embedded warehouse: applied, restored, and a clear error
naming the table and the setting when a load needs more."""

from __future__ import annotations

import pytest

from dagster_project.extract.loader import LoadError
from dagster_project.settings import EXTRACT_MEMORY_LIMIT_VARIABLE, SettingsError, load_settings

pytest.register_assert_rewrite("extract_support")
from extract_support import extract, landed  # noqa: E402

pytest_plugins = ("extract_support",)

LINES = (
    "CREATE TABLE lines (order_id INTEGER, line INTEGER, note TEXT, updated_at TIMESTAMP, "
    "PRIMARY KEY (order_id, line))"
)
FILL = (
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) "
    "INSERT INTO lines SELECT i, 1, 'note ' || i, '2026-01-01 00:00:00' FROM n"
)


def memory_limit(warehouse) -> str:
    return landed(warehouse, "SELECT current_setting('memory_limit')")[0][0]


def test_memory_cap_exceeded_names_table(sqlite_source, warehouse, monkeypatch):
    sqlite_source.run(LINES, FILL.format(last=199_999))
    before = memory_limit(warehouse)
    monkeypatch.setenv(EXTRACT_MEMORY_LIMIT_VARIABLE, "1MB")
    with pytest.raises(LoadError) as raised:
        extract("lines", sqlite_source, warehouse)
    message = str(raised.value)
    assert "table 'lines'" in message
    assert f"Raise {EXTRACT_MEMORY_LIMIT_VARIABLE}" in message
    assert "nothing was changed" in message
    assert memory_limit(warehouse) == before
    assert landed(
        warehouse, "SELECT count(*) FROM raw._extract_state WHERE table_name = 'lines'"
    ) == [(0,)]

    monkeypatch.setenv(EXTRACT_MEMORY_LIMIT_VARIABLE, "64MB")
    result = extract("lines", sqlite_source, warehouse)
    assert result.inserted == 200_000
    assert memory_limit(warehouse) == before


def test_invalid_memory_limit_rejected(sqlite_source, warehouse, monkeypatch):
    sqlite_source.run(LINES, FILL.format(last=9))
    monkeypatch.setenv(EXTRACT_MEMORY_LIMIT_VARIABLE, "lots")
    with pytest.raises(SettingsError, match=f"{EXTRACT_MEMORY_LIMIT_VARIABLE}='lots' is invalid"):
        extract("lines", sqlite_source, warehouse)


@pytest.mark.parametrize("value", ["10XB", "0GB", "", "-1GB"])
def test_settings_reject_invalid_memory_limit(value):
    with pytest.raises(
        SettingsError, match=f"{EXTRACT_MEMORY_LIMIT_VARIABLE}='{value}' is invalid"
    ):
        load_settings({EXTRACT_MEMORY_LIMIT_VARIABLE: value})
