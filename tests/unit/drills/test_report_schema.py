"""The published JSON Schema of drill reports is the model's: auditors validate against the file."""

from __future__ import annotations

import json
from pathlib import Path

from drills.report import SCHEMA, DrillReport, canonical_json
from tests.unit.drills.factories import make_report

PUBLISHED = Path(__file__).resolve().parents[3] / "docs" / "drill-report.schema.json"


def test_published_schema_matches_the_model() -> None:
    # After a model change: .venv/bin/python -c 'import json; from drills.report import DrillReport;
    #   print(json.dumps(DrillReport.model_json_schema(by_alias=True), indent=2, sort_keys=True))'
    #   > docs/drill-report.schema.json
    assert json.loads(PUBLISHED.read_text()) == DrillReport.model_json_schema(by_alias=True)


def test_a_report_round_trips_through_its_canonical_bytes() -> None:
    report = make_report()
    raw = canonical_json(report)
    assert json.loads(raw)["schema"] == SCHEMA
    assert DrillReport.model_validate_json(raw) == report
    assert canonical_json(DrillReport.model_validate_json(raw)) == raw
