"""The dbt models as Dagster assets: keys, groups, checks, and one materialization on DuckDB."""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import shutil
import subprocess
import threading
from functools import cached_property

import dagster as dg
import dbt_raw_data as raw
import duckdb
import pytest
from dagster_dbt import DbtCliResource, DbtProject
from duckdb_holder import duckdb_held_by_another_process
from packaging import version

from dagster_project import resources
from dagster_project.context.assets import zone_context
from dagster_project.extract.loader_postgres import PostgresLoader
from dagster_project.resources import WarehouseResource, connect_postgres
from dagster_project.settings import DBT_PROJECT_DIR, load_settings
from dagster_project.transform.assets import (
    PARSE_PROFILE_FILE,
    build_dbt_resource,
    builds_taking_turns,
    manifest_is_stale,
    prepare_manifest,
    profile_key,
    prune_build_folders,
    saved_salt,
    zone_marts_dbt_assets,
)
from dagster_project.transform.environment import DBT_EXECUTABLE, dbt_environment
from dagster_project.transform.marts import mart_model_names
from dagster_project.transform.project import dbt_project


def test_asset_keys_and_groups():
    groups = {spec.key: spec.group_name for spec in zone_marts_dbt_assets.specs}
    for name in mart_model_names():
        assert groups[dg.AssetKey(["marts", name])] == "marts"
    assert groups[dg.AssetKey(["staging", "stg_base_operation__sales_orders"])] == "staging"
    assert set(groups.values()) == {"staging", "intermediate", "marts"}


def test_sources_map_to_extraction_and_context_keys():
    upstream = {dep.asset_key for spec in zone_marts_dbt_assets.specs for dep in spec.deps}
    assert dg.AssetKey(["base_operation", "sales_order_lines"]) in upstream
    assert dg.AssetKey(["zone_context", "zone_calendar"]) in upstream


def test_dbt_tests_become_asset_checks():
    checked = {check.asset_key for check in zone_marts_dbt_assets.check_specs}
    assert dg.AssetKey(["marts", "fct_order_lines"]) in checked


def test_environment_from_warehouse_url():
    settings = load_settings(
        {
            "ZONE_MARTS_MODE": "production",
            "BASE_OPERATION_URL": "postgresql://reader@db:5432/base",
            "WAREHOUSE_URL": "postgresql://etl:s%40cret@warehouse.internal:6432/dwh?sslmode=require",
        }
    )
    environment = dbt_environment(settings)
    assert environment["DBT_TARGET"] == "postgres"
    assert environment["DBT_PG_HOST"] == "warehouse.internal"
    assert environment["DBT_PG_PORT"] == "6432"
    assert environment["DBT_PG_USER"] == "etl"
    assert environment["DBT_PG_PASSWORD"] == "s@cret"
    assert environment["DBT_PG_DBNAME"] == "dwh"
    assert environment["DBT_PG_SSLMODE"] == "require"


def test_context_and_dbt_assets_materialize(tmp_path, monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(path))
    monkeypatch.setenv("DBT_TARGET", "duckdb")
    monkeypatch.delenv("ZONE_MARTS_MODE", raising=False)
    with duckdb.connect(str(path)) as connection:
        raw.write_duckdb(connection, raw.base_rows())
    settings = load_settings()
    result = dg.materialize(
        [zone_context, zone_marts_dbt_assets],
        resources={
            "warehouse": WarehouseResource(path=str(path)),
            "dbt": build_dbt_resource(settings),
        },
    )
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "fct_zone_daily_kpis"]) in materialized
    assert dg.AssetKey(["zone_context", "zone_calendar"]) in materialized


def test_manifest_stale_after_model_change(tmp_path):
    shutil.copytree(
        DBT_PROJECT_DIR, tmp_path / "dbt", ignore=shutil.ignore_patterns("target", "logs")
    )
    project = DbtProject(project_dir=tmp_path / "dbt")
    assert manifest_is_stale(project)
    project.manifest_path.parent.mkdir(parents=True)
    project.manifest_path.write_text("{}")
    # Date every project file back to 1970, then change one model.
    model = tmp_path / "dbt" / "models" / "marts" / "dim_carriers.sql"
    for path in (tmp_path / "dbt").rglob("*"):
        if path.is_file() and path != project.manifest_path:
            os.utime(path, (0, 0))
    assert not manifest_is_stale(project)
    model.touch()
    assert manifest_is_stale(project)


def test_dbt_resource_skips_startup_work():
    # ZoneMartsDbtResource replaces two private members of DbtCliResource. If a dagster-dbt
    # upgrade renamed them, the overrides would silently stop saving start-up time.
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), cached_property)
    assert callable(inspect.getattr_static(DbtCliResource, "_initialize_dbt_core_adapter"))
    resource = build_dbt_resource(load_settings())
    printed = subprocess.run(
        [DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert f"installed: {importlib.metadata.version('dbt-core')}" in printed
    assert resource._cli_version == version.parse(importlib.metadata.version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_reparse_on_profile_change(monkeypatch, tmp_path):
    monkeypatch.delenv("ZONE_MARTS_MODE", raising=False)
    marker = dbt_project.manifest_path.parent / PARSE_PROFILE_FILE
    prepare_manifest()
    parsed_at = dbt_project.manifest_path.stat().st_mtime_ns
    key = marker.read_text()
    # The same profile: the saved parse is kept.
    prepare_manifest()
    assert dbt_project.manifest_path.stat().st_mtime_ns == parsed_at
    # Another warehouse file renders another profile, which dbt would parse again at each build.
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "other.duckdb"))
    prepare_manifest()
    assert marker.read_text() != key
    reparsed_at = dbt_project.manifest_path.stat().st_mtime_ns
    assert reparsed_at > parsed_at
    # An unreadable marker is replaced, not raised.
    marker.write_bytes(b"\xff\xfe")
    prepare_manifest()
    assert marker.read_text().startswith("scrypt$")
    assert dbt_project.manifest_path.stat().st_mtime_ns > reparsed_at


def test_marker_keeps_no_plain_password_hash(monkeypatch):
    # The marker held an unsalted SHA-256 of a JSON text holding the warehouse password, which
    # a dictionary attack reverses quickly.
    settings = load_settings(
        {
            "ZONE_MARTS_MODE": "production",
            "BASE_OPERATION_URL": "postgresql://reader@db:5432/base",
            "WAREHOUSE_URL": "postgresql://etl:hunter2@warehouse.internal:6432/dwh",
        }
    )
    first = profile_key(settings, saved_salt(None))
    assert profile_key(settings, saved_salt(first)) == first
    assert profile_key(settings, saved_salt(None)) != first


def test_marker_folder_is_named(monkeypatch):
    monkeypatch.delenv("ZONE_MARTS_MODE", raising=False)
    marker = dbt_project.manifest_path.parent / PARSE_PROFILE_FILE
    marker.unlink(missing_ok=True)
    marker.mkdir()
    try:
        with pytest.raises(OSError, match=f"cannot write dbt's parse marker {marker}"):
            prepare_manifest()
    finally:
        marker.rmdir()
    prepare_manifest()
    assert marker.read_text().startswith("scrypt$")


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)


def test_production_build_waits_for_writers(postgres_database):
    # Two builds at once on one PostgreSQL warehouse failed at dbt's temporary relations with
    # "The dbt CLI process failed", the cause only in dbt.log. Rows that an extraction committed
    # during a build were skipped by its incremental models.
    settings = load_settings(
        {
            "ZONE_MARTS_MODE": "production",
            "BASE_OPERATION_URL": "postgresql://127.0.0.1/source",
            "WAREHOUSE_URL": postgres_database,
        }
    )
    log, entered = RecordingLog(), threading.Event()

    def build() -> None:
        with builds_taking_turns(settings, log):
            entered.set()

    with connect_postgres(postgres_database) as other:
        # Held by an extraction of another run, which the build must not overlap either.
        with PostgresLoader(other).exclusive():
            waiting = threading.Thread(target=build)
            waiting.start()
            assert not entered.wait(timeout=1.5)
        waiting.join(timeout=30)
    assert entered.is_set()
    assert log.lines == ["Waiting for another run's extraction or dbt build to end."]


def test_embedded_build_names_lock_holder(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "LOCK_RETRY_SECONDS", 0.5)
    path = tmp_path / "warehouse.duckdb"
    settings = load_settings({"WAREHOUSE_PATH": str(path)})
    with duckdb_held_by_another_process(path):
        with pytest.raises(ConnectionError, match="is open in another process .* wait for"):
            with builds_taking_turns(settings, RecordingLog()):
                pass
    with builds_taking_turns(settings, RecordingLog()):
        pass


def test_old_build_folders_are_pruned(tmp_path):
    # Each build left a folder of about 8 MB in dbt_project/target, which grew without end.
    for number in range(14):
        folder = tmp_path / f"zone_marts_dbt_assets-{number:02d}"
        folder.mkdir()
        os.utime(folder, (1_000_000 + number, 1_000_000 + number))
    (tmp_path / "manifest.json").write_text("{}")
    prune_build_folders(tmp_path, keep=10)
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == ["manifest.json"] + [f"zone_marts_dbt_assets-{n:02d}" for n in range(4, 14)]
