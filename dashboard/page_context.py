"""Page context: the zone, the language and the open mart session of one page load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dagster_project.zones import Zone
from dashboard.mart_access import MartSession
from dashboard.translations import TEXTS, translate


@dataclass(frozen=True)
class PageContext:
    zone: Zone
    language: str
    session: MartSession
    as_of: date | None

    def text(self, key: str, **values: object) -> str:
        return translate(key, self.language, **values)

    def with_headers(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rename the columns that have a translated header; others keep their mart name."""
        headers = {column: self.text(column) for column in frame.columns if str(column) in TEXTS}
        return frame.rename(columns=headers)
