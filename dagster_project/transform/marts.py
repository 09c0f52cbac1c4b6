"""Names of the mart models, read from the dbt YAML so publishing and checks never drift."""

from __future__ import annotations

import yaml

from dagster_project.settings import DBT_PROJECT_DIR

MARTS_MODELS_DIR = DBT_PROJECT_DIR / "models" / "marts"


def mart_model_names() -> list[str]:
    """Return every model declared under models/marts/*.yml, sorted."""
    names = []
    for path in sorted(MARTS_MODELS_DIR.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names.extend(model["name"] for model in document.get("models", []))
    return sorted(names)
