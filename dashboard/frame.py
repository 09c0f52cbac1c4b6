"""The frame every page shares: the zone the server was started for, the language, the banner.

Pages are separate scripts run by st.navigation, so each one asks this module for the zone
(from the command line or the environment, never from a widget) and opens its own mart session.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import duckdb
import streamlit as st

from dagster_project.settings import load_settings
from dagster_project.zones import Zone, load_zones
from dashboard import indicators
from dashboard.mart_access import MartNotFoundError, MartUnreadableError, locate_mart
from dashboard.page_context import PageContext
from dashboard.publish_state import FRESH, LATE, PublishState, read_publish_state
from dashboard.translations import DEFAULT_LANGUAGE, LANGUAGES, format_local, translate

ZONE_VARIABLE = "ZONE_MARTS_DASHBOARD_ZONE"


def zone_code_argument(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """Return the zone code from ``--zone CODE`` in ``argv``, else from ZONE_VARIABLE."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--zone")
    known, _ = parser.parse_known_args(list(argv))
    return known.zone or environ.get(ZONE_VARIABLE) or None


def choose_language() -> str:
    return st.sidebar.radio(
        translate("language", DEFAULT_LANGUAGE) + " / Language",
        list(LANGUAGES),
        format_func=LANGUAGES.__getitem__,
        horizontal=True,
        key="language",
    )


def render_banner(zone: Zone, state: PublishState, language: str) -> None:
    if state.published_at is None:
        st.warning(translate("log_empty", language))
        return
    day, time = format_local(state.published_at, zone.time_zone, language)
    validated = translate("validated_at", language, day=day, time=time, time_zone=zone.time_zone)
    if state.checks_passed is not None:
        validated += " · " + translate("checks_passed", language, count=state.checks_passed)
    if state.status == FRESH:
        st.success(f"{validated} — {translate('status_fresh', language)}", icon="✅")
    elif state.status == LATE:
        deadline_day, deadline_time = format_local(state.missed_deadline, zone.time_zone, language)
        late = translate("status_late", language, deadline=f"{deadline_day} {deadline_time}")
        st.error(f"{validated} — {late}", icon="⏰")
    else:
        hours = zone.freshness.heartbeat_max_interval.total_seconds() / 3600
        interval = f"{hours:g} h"
        st.error(f"{validated} — {translate('status_stale', language, interval=interval)}")


def current_zone() -> Zone:
    """Return the zone of this server; show an error and stop the page when it is invalid."""
    zones = {zone.code: zone for zone in load_zones()}
    code = zone_code_argument(sys.argv[1:], os.environ)
    if code is None or code not in zones:
        message = "zone_missing" if code is None else "zone_unknown"
        st.error(translate(message, DEFAULT_LANGUAGE, zone=code, known=", ".join(zones)))
        st.stop()
    return zones[code]


def current_language() -> str:
    return st.session_state.get("language", DEFAULT_LANGUAGE)


def run_data_page(render: Callable[[PageContext], None]) -> None:
    """Open the zone's mart once for this page load, show the banner, then the page."""
    zone, language = current_zone(), current_language()
    mart = locate_mart(zone.code, load_settings())
    try:
        with mart.session() as session:
            render_banner(zone, read_publish_state(session, zone, datetime.now(UTC)), language)
            as_of = indicators.as_of_date(session)
            render(PageContext(zone, language, session, as_of))
    except MartNotFoundError:
        st.warning(translate("mart_missing", language, zone=zone.name, where=mart.describe()))
    except (MartUnreadableError, duckdb.Error, OSError) as error:
        # A damaged or locked file, or another zone's: a message, never a traceback with paths.
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        st.error(
            translate(
                "mart_unreadable", language, zone=zone.name, where=mart.describe(), reason=reason
            )
        )
