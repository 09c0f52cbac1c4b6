"""Jobs that open the embedded warehouse run one at a time on the local instance, and jobs that
write the warehouse run one at a time on the production instance."""

from __future__ import annotations

import shutil

import dagster as dg
import yaml

from dagster_project.resources import (
    WAREHOUSE_POOL,
    WAREHOUSE_RUN_TAGS,
    WAREHOUSE_WRITER_TAGS,
)
from dagster_project.settings import PROJECT_DIR


def test_warehouse_jobs_carry_the_tag():
    from dagster_project.definitions import defs

    for name in ("refresh", "publish_zones", "reconcile_base_operation"):
        tags = defs.resolve_job_def(name).tags
        for key, value in WAREHOUSE_RUN_TAGS.items():
            assert tags.get(key) == value, f"job {name} lacks tag {key}"


def test_local_instance_runs_one_warehouse_job(tmp_path, monkeypatch):
    # Loaded as Dagster reads it: a run_queue section beside concurrency is rejected.
    shutil.copy(PROJECT_DIR / ".dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        config = instance.get_concurrency_config()
    (key,) = WAREHOUSE_RUN_TAGS
    assert {"key": key, "limit": 1} in config.run_queue_config.tag_concurrency_limits
    assert config.pool_config.pool_granularity.value == "run"
    assert config.pool_config.default_pool_limit == 1


def test_warehouse_assets_in_pool():
    # A run started from the asset graph carries no job tag: only the pool queues it behind a
    # refresh, whose steps it would otherwise fail by holding the DuckDB file.
    from dagster_project.definitions import defs

    opening = [
        assets
        for assets in defs.resolve_asset_graph().assets_defs
        if assets.required_resource_keys & {"warehouse", "dbt"}
    ]
    outside = [
        key.to_user_string()
        for assets in opening
        if assets.node_def.pools != {WAREHOUSE_POOL}
        for key in assets.keys
    ]
    assert len(opening) >= 16
    assert outside == []


def test_writer_jobs_carry_writer_tag():
    from dagster_project.definitions import defs

    (key,) = WAREHOUSE_WRITER_TAGS
    for name in ("refresh", "reconcile_base_operation"):
        assert defs.resolve_job_def(name).tags.get(key) == "true", f"job {name} lacks tag {key}"
    # Publishes read the warehouse and may run side by side in production.
    assert key not in defs.resolve_job_def("publish_zones").tags


def test_production_instance_runs_one_writer_job():
    deploy = PROJECT_DIR / "dagster_project" / "deploy" / "dagster.yaml"
    coordinator = yaml.safe_load(deploy.read_text())["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    (key,) = WAREHOUSE_WRITER_TAGS
    assert {"key": key, "limit": 1} in coordinator["config"]["tag_concurrency_limits"]
