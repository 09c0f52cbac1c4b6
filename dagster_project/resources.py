"""Dagster resources shared by every stage: where the source and the warehouse are."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """The embedded warehouse: one DuckDB file holding the raw, context, staging and mart schemas.

    DuckDB allows one writer process at a time, so the definitions use the in-process executor.
    """

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(self.path, read_only=read_only)
        try:
            connection.execute("SET TimeZone = 'UTC'")
            yield connection
        finally:
            connection.close()


class SourceResource(dg.ConfigurableResource):
    """The Base Opération: ``sqlite:///path`` (embedded demo) or ``postgresql://...``."""

    url: str


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "source": SourceResource(url=settings.source_url),
    }
