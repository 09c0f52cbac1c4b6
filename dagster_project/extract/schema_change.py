"""Compare a source table's columns with its landing table and decide what may change.

Additions and widenings are applied (``on_schema_change: apply_additive``); a column that
disappeared (dropped or renamed) or a type that would narrow raises ``SchemaChangeError`` before
anything is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dagster_project.extract.columns import SourceColumn
from dagster_project.extract.declaration import TableSpec

INTEGER_RANKS = {"SMALLINT": 1, "INTEGER": 2, "BIGINT": 3, "HUGEINT": 4}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")
# Fields of a landing table's comment: the primary key its rows were merged by, and the position
# of each column in the source table at the last load.
KEY_FIELD = "primary_key"
POSITIONS_FIELD = "positions"


class SchemaChangeError(RuntimeError):
    """The source table changed in a way the landing table cannot follow without losing data."""


@dataclass
class SchemaPlan:
    """Changes to apply to the landing table before loading."""

    create: bool = False
    added: list[tuple[str, str]] = field(default_factory=list)
    widened: list[tuple[str, str, str]] = field(default_factory=list)
    landed_comment: str | None = None
    """Comment of the landing table, which records its key and columns (``landing_comment``)."""
    rekeyed: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    """Recorded and current primary key, when they differ: the landed rows are replaced."""
    moved: list[str] = field(default_factory=list)
    """Columns at another position in the source table than at the last load."""

    @property
    def needs_full_read(self) -> bool:
        """Return whether rows outside the cursor's reach contain values the landing table lacks.

        An added column is NULL in every landed row, while the source may contain a default or
        backfilled values there. A column widened to VARCHAR keeps DuckDB's text of the old
        type ('[1, 2]') in landed rows, while the source's text differs ('{1,2}'). Reading every
        row once brings both level; the merge rewrites only the rows that differ.
        """
        return (
            bool(self.added)
            or any(new == "VARCHAR" for _, _, new in self.widened)
            or self.rekeyed is not None
            or bool(self.moved)
        )

    @property
    def changes(self) -> list[str]:
        changes = [f"added {name} {new}" for name, new in self.added] + [
            f"widened {name} {old} -> {new}" for name, old, new in self.widened
        ]
        if self.rekeyed:
            old, new = (f"({', '.join(key)})" if key else "none" for key in self.rekeyed)
            changes.append(f"primary key {old} -> {new}, landed rows replaced by a full read")
        if self.moved:
            changes.append(
                f"column {', '.join(self.moved)} at a new position in the source (dropped and "
                "added again?), every row read again"
            )
        return changes


def landing_comment(primary_key: Sequence[str], columns: list[SourceColumn]) -> str:
    """Return the comment recording a landing table's primary key and its columns' positions.

    A comment moves with its table, and a table of the raw schema changes whole when its key
    does. Positions are those of the source table (``SourceColumn.position``).
    """
    positions = {column.name: column.position for column in columns if column.position}
    return json.dumps({KEY_FIELD: list(primary_key), POSITIONS_FIELD: positions})


def read_landing_comment(
    table: str, comment: str | None
) -> tuple[list[str] | None, dict[str, int]]:
    """Return the primary key and the column positions a comment records (None, {} if none).

    Raise SchemaChangeError for a comment that another tool wrote, rather than replace it.
    """
    if not comment:
        return None, {}
    try:
        recorded = json.loads(comment)
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict) or KEY_FIELD not in recorded:
        raise SchemaChangeError(
            f"table {table!r}: raw.{table} has a comment that the extraction did not write "
            f"({comment[:80]!r}); the extraction records the table's primary key and columns "
            "there, so move that comment elsewhere or remove it, then rerun"
        )
    key, positions = recorded.get(KEY_FIELD), recorded.get(POSITIONS_FIELD)
    return (
        key if isinstance(key, list) else None,
        positions if isinstance(positions, dict) else {},
    )


def _decimal(type_name: str) -> tuple[int, int] | None:
    match = _DECIMAL.match(type_name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def is_widening(old: str, new: str) -> bool:
    """Return whether every value of type ``old`` converts to ``new`` without loss.

    An integer may become a DECIMAL of any size: the source accepted that change only because
    its values fit, and the ALTER in the warehouse fails if one of ours does not.
    """
    if old in INTEGER_RANKS:
        if new in INTEGER_RANKS:
            return INTEGER_RANKS[new] > INTEGER_RANKS[old]
        return _decimal(new) is not None or (new == "DOUBLE" and old != "BIGINT")
    old_decimal, new_decimal = _decimal(old), _decimal(new)
    if old_decimal and new_decimal:
        (old_precision, old_scale), (new_precision, new_scale) = old_decimal, new_decimal
        return new_scale >= old_scale and new_precision - new_scale >= old_precision - old_scale
    if new == "VARCHAR":
        return True
    return (old, new) in {("FLOAT", "DOUBLE"), ("DATE", "TIMESTAMP")}


def plan_schema_change(
    spec: TableSpec,
    columns: list[SourceColumn],
    existing: list[tuple[str, str]],
    comment: str | None = None,
) -> SchemaPlan:
    """Plan the landing table's changes; ``existing`` lists its (name, type) without _loaded_at.

    ``comment`` is the landing table's comment (see ``landing_comment``). When the primary key it
    records differs from the source's key, the landed rows are replaced: merged by
    the new key, two rows of the old key that share a new key would both stay. A column at
    another position was dropped and added again (or a column before it was dropped), and its
    landed values may be stale, so every row is read again.
    """
    table, on_schema_change, primary_key = spec.name, spec.on_schema_change, spec.primary_key
    if not existing:
        return SchemaPlan(create=True)

    existing_types = dict(existing)
    source_types = {column.name: column.landing_type for column in columns}
    gone = [name for name in existing_types if name not in source_types]
    new = [name for name in source_types if name not in existing_types]
    if gone:
        hint = (
            f" while {', '.join(new)} appeared (a rename?)" if new else " (dropped in the source?)"
        )
        raise SchemaChangeError(
            f"table {table!r}: column {', '.join(gone)} of raw.{table} is missing from the "
            f"source{hint}; rename or drop it in the warehouse by hand, then rerun"
        )

    plan = SchemaPlan(added=[(name, source_types[name]) for name in new])
    plan.landed_comment = comment
    landed_key, landed_positions = read_landing_comment(table, comment)
    # The same columns in another order are the same key: the merge matches rows alike.
    if landed_key is not None and set(landed_key) != set(primary_key):
        plan.rekeyed = (tuple(landed_key), tuple(primary_key))
    plan.moved = [
        column.name
        for column in columns
        if column.position is not None
        and column.name in landed_positions
        and landed_positions[column.name] != column.position
    ]
    narrowed = []
    for name, old in existing_types.items():
        if source_types[name] == old:
            continue
        if is_widening(old, source_types[name]):
            plan.widened.append((name, old, source_types[name]))
        else:
            narrowed.append(f"{name} {old} -> {source_types[name]}")
    if narrowed:
        raise SchemaChangeError(
            f"table {table!r}: type change would narrow or convert column "
            f"{', '.join(narrowed)}; change the landing table by hand, then rerun"
        )
    if plan.changes and on_schema_change == "fail":
        raise SchemaChangeError(
            f"table {table!r}: the source schema changed ({'; '.join(plan.changes)}) and "
            "on_schema_change is 'fail'; set it to 'apply_additive' to apply such changes"
        )
    return plan
