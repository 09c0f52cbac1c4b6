"""Alert configuration: secrets from the environment, never in logs."""

from __future__ import annotations

import logging
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from alert_receivers import free_port

from dagster_project.alert.config import AlertConfigError, load_alert_config
from dagster_project.alert.dispatch import AppriseSender
from dagster_project.settings import PROJECT_DIR

SECRET = "s3cr:t#pass"
URL_SAFE_SECRET = "s3cretToken42"


def write_config(tmp_path, text: str):
    path = tmp_path / "alerts.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_secret_expanded_from_environment(tmp_path):
    path = write_config(
        tmp_path,
        "receivers:\n  - json://ops:${ALERT_HOOK_TOKEN}@127.0.0.1:9/hook\nreminder_interval: 2h\n",
    )
    environment = {"ALERT_HOOK_TOKEN": URL_SAFE_SECRET, "DAGSTER_HOME": str(tmp_path)}
    config = load_alert_config(path, environment)
    assert config.receivers == (f"json://ops:{URL_SAFE_SECRET}@127.0.0.1:9/hook",)
    assert config.reminder_interval == timedelta(hours=2)
    assert config.state_path == tmp_path / "alert_state.sqlite"


def test_secret_that_breaks_the_url_is_named(tmp_path):
    # A '#' in a password ends the URL early: apprise could not send to it, and every alert,
    # to the valid receivers too, failed at each evaluation.
    path = write_config(tmp_path, "receivers:\n  - json://ops:${ALERT_HOOK_TOKEN}@127.0.0.1:9/h\n")
    with pytest.raises(AlertConfigError, match="receivers.0. is not a URL that apprise") as raised:
        load_alert_config(path, {"ALERT_HOOK_TOKEN": SECRET, "DAGSTER_HOME": str(tmp_path)})
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("receivers:\n  - {url: json://127.0.0.1:9/h}\n", "receivers.0. is a dict, not an apprise"),
        ("receivers:\n  - foo://nowhere\n", "receivers.0. is not a URL that apprise"),
        ("reminder_interval: 0m\n", "reminder_interval must be longer than 0"),
        *[(f"group_above: {value}\n", "group_above=") for value in ("0", "-2", "2.5", "''", "²")],
    ],
)
def test_invalid_alert_setting_is_named(tmp_path, text, message):
    path = write_config(tmp_path, text)
    with pytest.raises(AlertConfigError, match=message):
        load_alert_config(path, {"DAGSTER_HOME": str(tmp_path)})


def test_unset_variable_named_in_error(tmp_path):
    path = write_config(tmp_path, "receivers:\n  - mailto://${ALERT_SMTP_PASSWORD}@host\n")
    with pytest.raises(AlertConfigError, match="ALERT_SMTP_PASSWORD is not set"):
        load_alert_config(path, {})


def test_empty_receivers_skipped(tmp_path):
    config = load_alert_config(None, {"ZONE_MARTS_DATA_DIR": str(tmp_path)})
    assert config.receivers == ()
    assert config.state_path == tmp_path / "alert_state.sqlite"


def test_group_above_read(tmp_path):
    assert load_alert_config(write_config(tmp_path, "group_above: 10\n"), {}).group_above == 10
    assert load_alert_config(write_config(tmp_path, "{}\n"), {}).group_above == 3


def test_invalid_reminder_interval_rejected(tmp_path):
    path = write_config(tmp_path, "reminder_interval: soon\n")
    with pytest.raises(AlertConfigError, match="reminder_interval='soon'"):
        load_alert_config(path, {})


def test_failed_delivery_never_logs_secret(caplog):
    url = f"json://ops:{URL_SAFE_SECRET}@127.0.0.1:{free_port()}/hook"
    sender = AppriseSender([url])
    with caplog.at_level(logging.DEBUG):
        delivered = sender("title", f"sent at {datetime.now(UTC)}")
        described = sender.describe()
    assert not delivered
    assert URL_SAFE_SECRET not in caplog.text
    assert URL_SAFE_SECRET not in " ".join(described)


def test_make_dev_points_alert_links_at_its_port():
    # With DAGSTER_PORT=3917 the alerts still linked to http://127.0.0.1:3000.
    printed = subprocess.run(
        ["make", "-n", "dev", "DAGSTER_PORT=3917"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'DAGSTER_UI_URL="${DAGSTER_UI_URL:-http://127.0.0.1:3917}"' in printed
