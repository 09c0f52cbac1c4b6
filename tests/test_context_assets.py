"""The zone_context multi-asset materializes both tables into the DuckDB warehouse."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb

from dagster_project.context.assets import zone_context
from dagster_project.resources import WarehouseResource
from dagster_project.zones import load_zones


def test_zone_context_asset_writes_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv("ZONE_MARTS_MODE", raising=False)
    path = tmp_path / "warehouse.duckdb"
    result = dg.materialize(
        [zone_context], resources={"warehouse": WarehouseResource(path=str(path))}
    )
    assert result.success
    with duckdb.connect(str(path), read_only=True) as connection:
        codes = connection.execute(
            "select zone_code from zone_context.zone_settings order by zone_code"
        ).fetchall()
        first_day = connection.execute(
            "select min(calendar_date) from zone_context.zone_calendar"
        ).fetchall()
    assert [code for (code,) in codes] == sorted(zone.code for zone in load_zones())
    assert first_day == [(date(2020, 1, 1),)]
