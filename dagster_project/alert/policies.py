"""Attach Dagster freshness policies to the extraction and zone mart assets, in one place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

import dagster as dg

from dagster_project.zones import Zone

EXTRACTION_PREFIX = "base_operation"
ZONE_MART_KEY = dg.AssetKey("zone_mart")


def heartbeat_window(zones: Iterable[Zone]) -> timedelta:
    """Return the strictest heartbeat interval: the extraction and zone_mart serve every zone."""
    return min(zone.freshness.heartbeat_max_interval for zone in zones)


def freshness_policy_for(key: dg.AssetKey, zones: Sequence[Zone]) -> dg.FreshnessPolicy | None:
    """Return the policy for ``key``: a time window equal to the heartbeat, or None.

    Dagster evaluates a policy per asset on its materialization time, so it can show the
    pipeline heartbeat. Zone-local deadlines (business days, public holidays, one time zone per
    zone partition) and the source's own cursor cannot be expressed in a Dagster policy; the
    freshness sensor evaluates those.
    """
    if key.path[0] == EXTRACTION_PREFIX or key == ZONE_MART_KEY:
        return dg.FreshnessPolicy.time_window(fail_window=heartbeat_window(zones))
    return None


def apply_freshness_policies(
    assets: Iterable[dg.AssetsDefinition | dg.AssetSpec], zones: Sequence[Zone]
) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """Return ``assets`` with the freshness policy of each extraction and zone_mart spec set."""

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        policy = freshness_policy_for(spec.key, zones)
        if policy is None:
            return spec
        return dg.apply_freshness_policy(spec, policy)

    return list(dg.map_asset_specs(apply, list(assets)))
