"""dbt models and tests as Dagster assets and asset checks, built with one `dbt build`."""

import hashlib
import importlib.metadata
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging import version

from dagster_project.resources import (
    WAREHOUSE_POOL,
    connect_postgres,
    open_when_free,
    warehouse_open_error,
    warehouse_writer_lock,
)
from dagster_project.settings import Settings, load_settings
from dagster_project.transform.environment import (
    DBT_EXECUTABLE,
    dbt_environment,
    dbt_environment_applied,
)
from dagster_project.transform.project import dbt_project

# Models keep dagster-dbt's default keys. By the same default, sources map to the extraction
# and context keys ["base_operation", table] and ["zone_context", table].
LAYER_GROUPS = ("staging", "intermediate", "marts")
# File beside the manifest holding the profile key (see ``profile_key``) of the saved parse.
PARSE_PROFILE_FILE = "zone_marts_parse_profile"
# Build folders of dagster-dbt in the target folder (one per build, named after the op), and
# how many of the newest are kept for reading a build's compiled SQL and run results.
BUILD_FOLDER_PREFIX = "zone_marts_dbt_assets-"
KEPT_BUILD_FOLDERS = 10
# Variables that profiles.yml reads besides those of ``dbt_environment``.
PROFILE_VARIABLES = ("ZONE_MARTS_DBT_MEMORY_LIMIT",)


class ZoneMartsTranslator(DagsterDbtTranslator):
    """Put each model in the group of its layer folder: staging, intermediate or marts."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        folders = dbt_resource_props.get("fqn", [])[1:-1]
        for folder in folders:
            if folder in LAYER_GROUPS:
                return folder
        return super().get_group_name(dbt_resource_props)


# dbt tests become asset checks on the models they test.
translator = ZoneMartsTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def manifest_is_stale(project: DbtProject = dbt_project) -> bool:
    """Return whether a dbt project file changed after the manifest was written.

    dbt build runs the project's current tests, and a test missing from the manifest that the
    assets were defined from makes dagster-dbt fail with a KeyError, so an old manifest must go.
    """
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    project_dir = project.project_dir
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        sources.extend(path for path in (project_dir / folder).rglob("*") if path.is_file())
    written = manifest.stat().st_mtime
    return any(path.stat().st_mtime > written for path in sources)


class ZoneMartsDbtResource(DbtCliResource):
    """dagster-dbt's dbt resource without two start-up costs per command that nothing here uses.

    Before each command, `DbtCliResource` runs `dbt --version`, which also queries PyPI for the
    latest release (about 1.9 s on a 2-core machine), and builds a dbt adapter (about 1.2 s) that
    only `fetch_row_counts` and `fetch_column_metadata` use. This project calls neither, and
    dagster-dbt streams events without an adapter. Both members are private to the pinned
    dagster-dbt, and a test checks that they still exist.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        # NOTE: this is the dbt-core installed with the project. It is the dbt that runs unless
        # none sits beside this Python and DBT_EXECUTABLE falls back to another one on PATH.
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def build_dbt_resource(settings: Settings) -> DbtCliResource:
    """Return the dbt resource for ``settings`` (duckdb or postgres target)."""
    return ZoneMartsDbtResource(
        project_dir=dbt_project,
        profiles_dir=str(dbt_project.profiles_dir),
        target=settings.dbt_target,
        dbt_executable=DBT_EXECUTABLE,
    )


def profile_key(settings: Settings, salt: bytes) -> str:
    """Return ``scrypt$<salt>$<digest>`` of the target and of every variable profiles.yml reads.

    dbt reuses a saved parse only for the same rendered profile: a parse made for another
    warehouse path or memory limit is thrown away and redone at every build. The variables
    include the warehouse password, so the digest is salted and costly to reverse (scrypt).
    """
    values = dict(dbt_environment(settings), target=settings.dbt_target)
    values |= {name: os.environ.get(name, "") for name in PROFILE_VARIABLES}
    text = json.dumps(values, sort_keys=True).encode()
    digest = hashlib.scrypt(text, salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def saved_salt(marker_text: str | None) -> bytes:
    """Return the salt of a marker written by ``profile_key``, or a new one."""
    scheme, _, rest = (marker_text or "").partition("$")
    salt, _, _ = rest.partition("$")
    try:
        if scheme == "scrypt" and salt:
            return bytes.fromhex(salt)
    except ValueError:
        pass
    return os.urandom(16)


def prepare_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than the project files.

    A packaged deployment ships the manifest prepared by `dagster-dbt project prepare-and-package`.
    dagster-dbt's own `prepare_if_dev` runs `dbt` from PATH, which misses an unactivated virtual
    environment, so this parses with the dbt installed beside this Python.

    Each build starts from the parse saved here, so the parse renders the builds' profile and is
    made again when the profile changes.
    """
    settings = load_settings()
    marker = dbt_project.manifest_path.parent / PARSE_PROFILE_FILE
    # An unreadable marker counts as none: the project is parsed again and the marker rewritten.
    try:
        saved = marker.read_text(errors="replace")
    except OSError:
        saved = None
    expected = profile_key(settings, saved_salt(saved))
    if not manifest_is_stale() and saved == expected:
        return
    with dbt_environment_applied(settings):
        build_dbt_resource(settings).cli(["parse"], target_path=dbt_project.target_path).wait()
    try:
        marker.write_text(expected)
    except OSError as error:
        raise OSError(
            f"cannot write dbt's parse marker {marker}: {error.strerror}. Remove it or make it a "
            "writable file; it records which profile the saved parse was made for"
        ) from error


prepare_manifest()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
)
def zone_marts_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    """Build the selected models and run their data tests, each reported as an asset check.

    Unit tests check the models' logic on fixed rows, not the data, so `make test` runs them
    and the pipeline's builds leave them out.
    """
    settings = load_settings()
    prune_build_folders(Path(dbt_project.project_dir) / dbt_project.target_path)
    with dbt_environment_applied(settings), builds_taking_turns(settings, context.log):
        build = ["build", "--exclude-resource-type", "unit_test"]
        yield from dbt.cli(build, context=context).stream()


def prune_build_folders(target_dir: Path, keep: int = KEPT_BUILD_FOLDERS) -> None:
    """Delete all but the ``keep`` newest build folders that dagster-dbt left in ``target_dir``.

    Each build writes its compiled SQL and artifacts to a folder of its own (about 8 MB for
    this project), which nothing removes: at one refresh every 15 minutes, 0.7 GB a day.
    """
    folders = sorted(
        (path for path in target_dir.glob(f"{BUILD_FOLDER_PREFIX}*") if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def builds_taking_turns(settings: Settings, log) -> Iterator[None]:
    """Keep other processes' builds and extractions off the warehouse while the block runs.

    Two builds at once on a PostgreSQL warehouse collide on dbt's temporary relations, and rows
    an extraction commits during a build can be skipped by its incremental models, so a build
    waits for the lock that both take (see ``warehouse_writer_lock``). A DuckDB file admits one
    writing process: a build fails at once, with the reason, while another process has it open.
    """
    if settings.is_production:
        with connect_postgres(settings.warehouse_url) as connection:

            def waiting() -> None:
                log.info("Waiting for another run's extraction or dbt build to end.")

            with warehouse_writer_lock(connection, on_wait=waiting):
                yield
        return
    try:
        # Opened and closed again, so that dbt can open the file.
        open_when_free(settings.warehouse_path).close()
    except duckdb.IOException as error:
        raise ConnectionError(warehouse_open_error(settings.warehouse_path, error)) from error
    yield
