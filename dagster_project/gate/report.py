"""Render a zone's audit as one self-contained HTML file, linked from the check metadata."""

from __future__ import annotations

from html import escape
from pathlib import Path

from dagster_project.gate.checks import CheckOutcome
from dagster_project.gate.validation import ExpectationOutcome

REPORTS_DIRNAME = "reports"
# Reports kept per zone. Older ones are deleted so the folder does not grow without bound.
REPORTS_KEPT = 30

STYLE = """
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
.passed { color: #176317; } .failed { color: #a31515; font-weight: bold; }
"""


def _verdict(passed: bool) -> str:
    css = "passed" if passed else "failed"
    return f'<span class="{css}">{"passed" if passed else "FAILED"}</span>'


def render_report(
    zone_code: str,
    run_id: str,
    audited_at: str,
    checks: list[CheckOutcome],
    expectations_by_table: dict[str, list[ExpectationOutcome]],
) -> str:
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Audit of zone {escape(zone_code)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Audit of zone {escape(zone_code)}</h1>",
        f"<p>Run {escape(run_id)}, {escape(audited_at)} UTC.</p>",
        "<h2>Checks</h2><table><tr><th>check</th><th>result</th><th>details</th></tr>",
    ]
    for check in checks:
        parts.append(
            f"<tr><td>{escape(check.name)}</td><td>{_verdict(check.passed)}</td>"
            f"<td>{escape(check.description)}</td></tr>"
        )
    parts.append("</table>")
    for table, outcomes in expectations_by_table.items():
        parts.append(f"<h2>{escape(table)}</h2><table><tr><th>expectation</th><th>result</th>")
        parts.append("<th>on failure</th><th>rows</th><th>missing</th><th>unexpected</th>")
        parts.append("<th>observed</th><th>sample of unexpected values</th></tr>")
        for outcome in sorted(outcomes, key=lambda item: (item.success, item.name)):
            cells = [
                escape(outcome.name),
                _verdict(outcome.success),
                escape(outcome.on_failure),
                escape(str(outcome.element_count if outcome.element_count is not None else "")),
                escape(str(outcome.missing_count if outcome.missing_count is not None else "")),
                escape(
                    str(outcome.unexpected_count if outcome.unexpected_count is not None else "")
                ),
                escape(outcome.observed_value or outcome.error or ""),
                escape(", ".join(outcome.unexpected_sample)),
            ]
            parts.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(reports_dir: Path, zone_code: str, stamp: str, html: str) -> Path:
    """Write the report as ``<zone>-<stamp>.html`` and delete the zone's oldest ones."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{zone_code}-{stamp}.html"
    path.write_text(html, encoding="utf-8")
    previous = sorted(reports_dir.glob(f"{zone_code}-*.html"))
    for old in previous[:-REPORTS_KEPT]:
        old.unlink(missing_ok=True)
    return path
