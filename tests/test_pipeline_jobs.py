"""Jobs that open the embedded warehouse run one at a time on the local instance."""

from __future__ import annotations

import yaml

from dagster_project.resources import WAREHOUSE_RUN_TAGS
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
