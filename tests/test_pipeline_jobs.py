"""Jobs that open the embedded warehouse run one at a time on the local instance, and jobs that
write the warehouse run one at a time on the production instance."""

from __future__ import annotations

import yaml

from dagster_project.resources import WAREHOUSE_RUN_TAGS, WAREHOUSE_WRITER_TAGS
from dagster_project.settings import PROJECT_DIR


def test_warehouse_jobs_carry_the_tag():
    from dagster_project.definitions import defs

    for name in ("refresh", "publish_zones", "reconcile_base_operation"):
        tags = defs.resolve_job_def(name).tags
        for key, value in WAREHOUSE_RUN_TAGS.items():
            assert tags.get(key) == value, f"job {name} lacks tag {key}"


def test_local_instance_runs_one_warehouse_job():
    config = yaml.safe_load((PROJECT_DIR / ".dagster_home" / "dagster.yaml").read_text())
    limits = config["run_queue"]["tag_concurrency_limits"]
    (key,) = WAREHOUSE_RUN_TAGS
    assert {"key": key, "limit": 1} in limits


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
