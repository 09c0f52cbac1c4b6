"""Operations alerts: freshness and heartbeat evaluation, storm control, delivery, status."""

from dagster_project.alert.policies import apply_freshness_policies
from dagster_project.alert.sensors import build_alert_definitions

__all__ = ["apply_freshness_policies", "build_alert_definitions"]
