"""Load the alert configuration (alerts.yml) with secrets taken from environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dagster_project.settings import load_settings
from dagster_project.zones import ZoneConfigError, parse_duration, read_yaml

DEFAULT_ALERTS_FILE = Path(__file__).resolve().parent / "alerts.yml"
ALERTS_FILE_VARIABLE = "ZONE_MARTS_ALERTS_FILE"
STATE_FILE_NAME = "alert_state.sqlite"
# More notices than this, due in one evaluation, go out as one message.
DEFAULT_GROUP_ABOVE = 3

# ${NAME} or ${NAME:-default}; NAME follows the shell's rules for variable names.
VARIABLE_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class AlertConfigError(ValueError):
    """The alert configuration is invalid or names an unset environment variable."""


@dataclass(frozen=True)
class AlertConfig:
    receivers: tuple[str, ...]
    dagster_ui_url: str
    reminder_interval: timedelta
    state_path: Path
    group_above: int = DEFAULT_GROUP_ABOVE


def expand_variables(text: str, environ: Mapping[str, str], where: str) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}``; raise naming the variable when it is unset.

    The error names only the variable, never a value, so a secret cannot leak into a log.
    """

    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise AlertConfigError(f"{where}: environment variable {name} is not set")

    return VARIABLE_PATTERN.sub(replace, text)


def default_state_path(environ: Mapping[str, str]) -> Path:
    """Return $DAGSTER_HOME/alert_state.sqlite, else <data dir>/alert_state.sqlite."""
    if environ.get("DAGSTER_HOME"):
        return Path(environ["DAGSTER_HOME"]) / STATE_FILE_NAME
    return load_settings(dict(environ)).data_dir / STATE_FILE_NAME


def check_receivers(path: Path, receivers: list[str]) -> None:
    """Raise AlertConfigError naming each receiver apprise cannot send to.

    One invalid receiver made every delivery fail, so the valid ones received nothing either.
    The URL is not shown: it may carry a password.
    """
    import apprise

    invalid = [
        index for index, url in enumerate(receivers) if url and not apprise.Apprise().add(url)
    ]
    if invalid:
        listed = ", ".join(f"receivers[{index}]" for index in invalid)
        raise AlertConfigError(
            f"{path}: {listed} is not a URL that apprise can send to, after ${{VARIABLE}} "
            "expansion (for example mailtos://..., json://... or slack://...)"
        )


def load_alert_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> AlertConfig:
    """Read alerts.yml (default: $ZONE_MARTS_ALERTS_FILE, else the packaged one).

    Variables are expanded after YAML parsing, so a secret containing ``:`` or ``#`` needs no
    quoting. A receiver that expands to an empty string is left out.
    """
    env = os.environ if environ is None else environ
    path = Path(path or env.get(ALERTS_FILE_VARIABLE) or DEFAULT_ALERTS_FILE)
    hint = f"; create it or set {ALERTS_FILE_VARIABLE}"
    document = read_yaml(path, AlertConfigError, "the alert configuration", hint) or {}
    if not isinstance(document, dict):
        raise AlertConfigError(f"{path}: expected a mapping at the top level")

    def setting(name: str, default: str) -> str:
        value = document.get(name, default)
        return expand_variables(str(value if value is not None else ""), env, f"{path}: {name}")

    raw_receivers = document.get("receivers") or []
    if not isinstance(raw_receivers, list):
        raise AlertConfigError(f"{path}: receivers must be a list of apprise URLs")
    receivers = []
    for index, url in enumerate(raw_receivers):
        if not isinstance(url, str):
            raise AlertConfigError(
                f"{path}: receivers[{index}] is a {type(url).__name__}, not an apprise URL "
                "written as text"
            )
        receivers.append(expand_variables(url, env, f"{path}: receivers[{index}]").strip())
    check_receivers(path, receivers)
    try:
        reminder_interval = parse_duration(
            f"{path}: reminder_interval", setting("reminder_interval", "4h")
        )
    except ZoneConfigError as error:
        raise AlertConfigError(str(error)) from error
    if reminder_interval <= timedelta(0):
        raise AlertConfigError(
            f"{path}: reminder_interval must be longer than 0, or every evaluation would send "
            "a reminder"
        )
    group_above = setting("group_above", str(DEFAULT_GROUP_ABOVE))
    if not re.fullmatch(r"[0-9]+", group_above.strip()) or int(group_above) < 1:
        raise AlertConfigError(
            f"{path}: group_above={group_above!r} is not a whole number of at least 1 (the "
            "number of notices due at once above which they go out as one message)"
        )
    state_path = setting("state_path", "")
    return AlertConfig(
        receivers=tuple(url for url in receivers if url),
        dagster_ui_url=setting("dagster_ui_url", "http://127.0.0.1:3000").rstrip("/"),
        reminder_interval=reminder_interval,
        state_path=Path(state_path) if state_path else default_state_path(env),
        group_above=int(group_above),
    )
