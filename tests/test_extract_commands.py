"""The discover and reconcile commands."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from dagster_project.cli import main
from dagster_project.extract.declaration import parse_declaration

pytest.register_assert_rewrite("extract_support")

pytest_plugins = ("extract_support",)

SCHEMA = (
    "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, created_at TIMESTAMPTZ, "
    "updated_at TIMESTAMPTZ NOT NULL)",
    "CREATE INDEX orders_updated_at ON orders (updated_at)",
    "CREATE TABLE notes (note_id INTEGER PRIMARY KEY, body TEXT, modified_on TIMESTAMP)",
    "CREATE TABLE audit_log (message TEXT, logged_at TIMESTAMPTZ)",
    "CREATE TABLE currencies (code TEXT PRIMARY KEY)",
    "INSERT INTO orders VALUES (1, '2026-01-01T10:00Z', '2026-01-01T10:00Z')",
)


def test_discover_drafts_valid_declaration(source, tmp_path, capsys):
    source.run(*SCHEMA)
    draft = tmp_path / "draft.yml"
    assert main(["discover", "--url", source.url, "--write", str(draft)]) == 0
    output = capsys.readouterr().out
    specs = {spec.name: spec for spec in parse_declaration(yaml.safe_load(draft.read_text()))}
    assert "orders" in output
    assert "updated_at*" in output
    assert specs["orders"].cursor == "updated_at"
    assert specs["notes"].cursor == "modified_on"
    assert specs["audit_log"].no_primary_key == "append_distinct"
    assert specs["currencies"].cursor is None


def test_reconcile_command_deletes_gone_rows(sqlite_source, tmp_path, monkeypatch, capsys):
    sqlite_source.run(
        "CREATE TABLE zones (zone_code TEXT PRIMARY KEY, updated_at TIMESTAMPTZ NOT NULL)",
        *(f"INSERT INTO zones VALUES ('z{i}', '2026-01-01T10:00Z')" for i in range(20)),
    )
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("BASE_OPERATION_URL", sqlite_source.url)
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("ZONE_MARTS_MODE", "embedded")
    assert main(["reconcile", "--table", "zones"]) == 0
    sqlite_source.run("DELETE FROM zones WHERE zone_code = 'z3'")
    assert main(["reconcile", "--table", "zones"]) == 0
    assert "zones: read 19, inserted 0, updated 0, deleted 1" in capsys.readouterr().out
    with duckdb.connect(str(warehouse)) as connection:
        assert connection.execute("SELECT count(*) FROM raw.zones").fetchall() == [(19,)]


def test_discover_quotes_names_yaml_would_misread(sqlite_source, tmp_path):
    # Written plain, YAML read these table names back as True, None and 8.
    sqlite_source.run(
        *(
            f'CREATE TABLE "{name}" (id INTEGER PRIMARY KEY, updated_at TIMESTAMPTZ)'
            for name in ("on", "null", "010")
        )
    )
    draft = tmp_path / "draft.yml"
    assert main(["discover", "--url", sqlite_source.url, "--write", str(draft)]) == 0
    specs = parse_declaration(yaml.safe_load(draft.read_text()))
    assert sorted(spec.name for spec in specs) == ["010", "null", "on"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://reader:Secret9@127.0.0.1/erp", "scheme 'mysql' is not supported"),
        ("sqlite:///{tmp}/missing.sqlite", "not found"),
    ],
)
def test_discover_names_unusable_source(tmp_path, capsys, url, message):
    assert main(["discover", "--url", url.format(tmp=tmp_path)]) == 1
    error = capsys.readouterr().err
    assert message in error
    assert "Secret9" not in error
