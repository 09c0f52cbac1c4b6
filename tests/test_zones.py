"""The zone declaration: the shipped file loads, and each kind of mistake is named."""

from __future__ import annotations

import copy

import pytest
import yaml

from dagster_project.settings import SettingsError, load_settings
from dagster_project.zones import ZONES_FILE, ZoneConfigError, load_zones

VALID_ZONE = {
    "code": "nord",
    "name": "Nord",
    "time_zone": "Europe/Paris",
    "currency": "EUR",
    "holidays": {"country": "FR"},
    "delivery_sla_days": 2,
    "targets": {"daily_revenue": 1000, "on_time_rate": 0.9},
}


def write_zones(tmp_path, zones) -> object:
    path = tmp_path / "zones.yml"
    path.write_text(yaml.safe_dump({"zones": zones}, allow_unicode=True), encoding="utf-8")
    return path


def zone_with(**changes) -> dict:
    zone = copy.deepcopy(VALID_ZONE)
    for field, value in changes.items():
        if value is None:
            zone.pop(field)
        else:
            zone[field] = value
    return zone


def test_shipped_declaration_loads():
    zones = load_zones(ZONES_FILE)
    assert len(zones) >= 5
    reunion = next(zone for zone in zones if zone.code == "reunion")
    assert reunion.time_zone == "Indian/Reunion"
    assert reunion.holiday_subdivision == "RE"


def test_valid_zone_loads(tmp_path):
    (zone,) = load_zones(write_zones(tmp_path, [VALID_ZONE]))
    assert zone.code == "nord"
    assert zone.working_days == (1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        (zone_with(code='nord"; drop schema x; --'), "invalid zone code"),
        (zone_with(code="../../etc"), "invalid zone code"),
        (zone_with(time_zone="Europe/Lille"), "not an IANA time zone"),
        (zone_with(currency="EURO"), "ISO 4217"),
        (zone_with(holidays={"country": "XX"}), "holidays"),
        (zone_with(delivery_sla_days=-3), "delivery_sla_days=-3 must be between 0 and 366"),
        (zone_with(delivery_sla_days=5.9), "delivery_sla_days=5.9 must be a whole number"),
        (zone_with(code="marts"), "invalid zone code 'marts': the warehouse uses this name"),
        (zone_with(code="warehouse"), "invalid zone code 'warehouse': the warehouse uses"),
        (zone_with(code="idf__quarantine"), "names containing __"),
        (zone_with(time_zone="posix/Europe/Paris"), "that both Python and DuckDB know"),
        (zone_with(time_zone=5), "time_zone=5 is not an IANA time zone"),
        (zone_with(name=""), "name='' must be a non-empty text"),
        (zone_with(holidays={"country": None}), "holidays.country=None must be"),
        (zone_with(working_days=5), "working_days=5 must list distinct ISO weekdays"),
        (zone_with(working_days=[1, 1]), "must list distinct ISO weekdays"),
        (zone_with(working_days=[True]), "must list distinct ISO weekdays"),
        (zone_with(business_hours={"start": "08:00"}), "business_hours must be a mapping with"),
        (zone_with(business_hours="8-18"), "business_hours must be a mapping with"),
        (
            zone_with(business_hours={"start": "08:00", "end": "18:00+02:00"}),
            "business_hours.end='18:00+02:00' has an offset",
        ),
        (zone_with(freshness={"sources": ["orders"]}), "freshness sources must map"),
        (
            zone_with(targets={"daily_revenue": 10, "on_time_rate": float("nan")}),
            "on_time_rate=nan is not a finite number",
        ),
        (
            zone_with(targets={"daily_revenue": 1e15, "on_time_rate": 0.9}),
            "daily_revenue=1000000000000000.0 must be between 0 and 999,999,999,999.99",
        ),
        (
            zone_with(targets={"daily_revenue": 10, "on_time_rate": 0.99999}),
            "on_time_rate=0.99999 must be given to at most 4 decimals",
        ),
        (zone_with(targets={"daily_revenue": 10, "on_time_rate": 2.5}), "on_time_rate=2.5"),
        (zone_with(targets={"daily_revenue": 10}), "targets needs"),
        (zone_with(tiemzone="Europe/Paris"), "unknown field(s) tiemzone"),
        (zone_with(name=None), "missing field(s) name"),
        (zone_with(working_days=[0, 8]), "ISO weekdays"),
        (zone_with(business_hours={"start": "19:00", "end": "08:00"}), "must be before end"),
        (zone_with(business_hours={"start": "25:99", "end": "08:00"}), "HH:MM"),
        (zone_with(business_hours={"start": 480, "end": "18:00"}), "quote it, as '08:00'"),
    ],
)
def test_invalid_zone_rejected(tmp_path, zone, message):
    with pytest.raises(ZoneConfigError) as error:
        load_zones(write_zones(tmp_path, [zone]))
    assert message in str(error.value)


def test_duplicate_codes_rejected(tmp_path):
    with pytest.raises(ZoneConfigError, match="declared twice: nord"):
        load_zones(write_zones(tmp_path, [VALID_ZONE, VALID_ZONE]))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"zones": None}, "no zone declared"),
        ({"zones": {"nord": VALID_ZONE}}, "'zones:' must be a list of zones"),
        ({"zones": [VALID_ZONE], "zone": []}, "unknown top-level key(s) zone"),
    ],
)
def test_invalid_document_rejected(tmp_path, document, message):
    path = tmp_path / "zones.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ZoneConfigError) as error:
        load_zones(path)
    assert message in str(error.value)


def test_top_level_list_rejected(tmp_path):
    path = tmp_path / "zones.yml"
    path.write_text("- code: nord\n", encoding="utf-8")
    with pytest.raises(ZoneConfigError, match="top level must be a mapping"):
        load_zones(path)


# PostgreSQL URLs that libpq, dbt and urllib would read differently, each with the expected message.
BAD_URLS = [
    ("postgresql://etl:ab#Secret9@127.0.0.1:5432/db", "ends it early"),
    ("postgresql://etl:ab@Secret9@127.0.0.1:5432/db", "ends it early"),
    ("postgresql://etl:ab/Secret9@127.0.0.1:5432/db", "ends it early"),
    ("postgresql://etl:my Secret9@127.0.0.1:5432/db", "contains a space"),
    ("postgresql://etl:p%zzSecret9@127.0.0.1:5432/db", "not followed by two hexadecimal"),
    ("postgresql://etl:Secret9@127.0.0.1:99999/db", "port is not a number"),
    ("postgresql://etl:Secret9@h1:5432,h2:5432/db", "several hosts"),
    ("postgresql://etl:Secret9@127.0.0.1:5432", "names no database"),
    ("postgresql://127.0.0.1/db?user=etl&sslmode=require", "dbt cannot apply"),
    ("postgresql://etl@127.0.0.1/db?password=Secret9", "password query parameter"),
    ("postgresql://etl:Xy[Secret9]z@127.0.0.1:5432/db", "does not parse"),
    ("postgresql://etl:Secret9@/db", "names no host"),
    ("postgresql://etl:Secret9@%2Fvar%2Frun%2Fpostgresql/db", "names no host"),
    ("postgresql://etl:Secret9@127.0.0.1/db/extra", "more than a database"),
    ("postgresql://etl:Secret9@127.0.0.1:0/db", "port is not a number"),
]


def production_urls(source: str = "postgresql://h/src", warehouse: str = "postgresql://h/wh"):
    return {
        "ZONE_MARTS_MODE": "production",
        "BASE_OPERATION_URL": source,
        "WAREHOUSE_URL": warehouse,
    }


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"ZONE_MARTS_MODE": "prod"}, "ZONE_MARTS_MODE='prod' is invalid"),
        ({"ZONE_MARTS_MODE": "production"}, "BASE_OPERATION_URL"),
        (
            {"ZONE_MARTS_MODE": "production", "BASE_OPERATION_URL": "postgresql://h/db"},
            "WAREHOUSE_URL",
        ),
        ({"WAREHOUSE_URL": "postgresql://h/wh"}, "ZONE_MARTS_MODE is not production"),
        ({"ZONE_MARTS_DIR": "/m", "WAREHOUSE_PATH": "/m/idf.duckdb"}, "is inside ZONE_MARTS_DIR"),
        ({"ZONE_MARTS_DIR": __file__}, "it is a file, not a directory"),
        *[
            (production_urls(warehouse=url), f"WAREHOUSE_URL is an invalid .*{message}")
            for url, message in BAD_URLS
        ],
        *[
            (production_urls(source=url), f"BASE_OPERATION_URL is an invalid .*{message}")
            for url, message in BAD_URLS
            if "dbt" not in message
        ],
    ],
)
def test_invalid_settings_rejected(environment, message):
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings(environment)
    # A password that breaks a URL's syntax cannot be masked, so the URL is never repeated.
    assert "Secret9" not in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read the zone declaration"), ("zones: [\n", "invalid YAML")],
)
def test_unreadable_zone_file_named(tmp_path, content, message):
    # A directory or broken YAML given as --zones-file printed a traceback.
    path = tmp_path / "zones.yml"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ZoneConfigError, match=message):
        load_zones(path)
