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
        (zone_with(delivery_sla_days=-3), "delivery_sla_days=-3 must be at least 0"),
        (zone_with(targets={"daily_revenue": 10, "on_time_rate": 2.5}), "on_time_rate=2.5"),
        (zone_with(targets={"daily_revenue": 10}), "targets needs"),
        (zone_with(tiemzone="Europe/Paris"), "unknown field(s) tiemzone"),
        (zone_with(name=None), "missing field(s) name"),
        (zone_with(working_days=[0, 8]), "ISO weekdays"),
        (zone_with(business_hours={"start": "19:00", "end": "08:00"}), "must be before end"),
        (zone_with(business_hours={"start": "25:99", "end": "08:00"}), "HH:MM"),
    ],
)
def test_invalid_zone_rejected(tmp_path, zone, message):
    with pytest.raises(ZoneConfigError) as error:
        load_zones(write_zones(tmp_path, [zone]))
    assert message in str(error.value)


def test_duplicate_codes_rejected(tmp_path):
    with pytest.raises(ZoneConfigError, match="declared twice: nord"):
        load_zones(write_zones(tmp_path, [VALID_ZONE, VALID_ZONE]))


def test_top_level_list_rejected(tmp_path):
    path = tmp_path / "zones.yml"
    path.write_text("- code: nord\n", encoding="utf-8")
    with pytest.raises(ZoneConfigError, match="top level must be a mapping"):
        load_zones(path)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"ZONE_MARTS_MODE": "prod"}, "ZONE_MARTS_MODE='prod' is invalid"),
        ({"ZONE_MARTS_MODE": "production"}, "BASE_OPERATION_URL"),
        (
            {"ZONE_MARTS_MODE": "production", "BASE_OPERATION_URL": "postgresql://h/db"},
            "WAREHOUSE_URL",
        ),
    ],
)
def test_invalid_settings_rejected(environment, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environment)
