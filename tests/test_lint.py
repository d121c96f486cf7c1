"""`approvals items lint`: the shipped data folders are valid; mistakes name file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from approvals.errors import SpecErrors
from approvals.spec.lint import lint

ROOT = Path(__file__).resolve().parent.parent


def _copy(tmp_path: Path) -> Path:
    for folder in ("rulesets", "connectors", "licences"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_shipped_folders_are_valid() -> None:
    project = lint(ROOT)
    assert set(project.catalog.codes()) == {
        "graduate-hukou",
        "individual-business-registration",
        "longevity-allowance",
        "ride-hailing-driver-permit",
    }


def test_misspelt_record_field_names_file_line_and_suggestion(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "rulesets/mz/longevity-allowance.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "age(person.birth_date)", "age(person.brith_date)"
    )
    path.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "brith_date" in s)
    with pytest.raises(SpecErrors) as caught:
        lint(root)
    assert [str(e) for e in caught.value.errors] == [
        f"rulesets/mz/longevity-allowance.yaml:{line}: derived.age: 'person' records have no "
        "field 'brith_date' (did you mean 'birth_date'?)"
    ]


def test_misspelt_item_field_inside_any_is_caught(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "rulesets/jt/ride-hailing-driver-permit.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "it.category in params.violent", "it.categroy in params.violent"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        SpecErrors,
        match=r"'records' records have no field 'categroy' \(did you mean 'category'\?\)",
    ):
        lint(root)


def test_unknown_dataset_and_every_error_reported_at_once(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "rulesets/mz/longevity-allowance.yaml"
    text = path.read_text(encoding="utf-8").replace("dataset: population", "dataset: populaton")
    path.write_text(text, encoding="utf-8")
    other = root / "rulesets/rs/graduate-hukou.yaml"
    other.write_text(
        other.read_text(encoding="utf-8").replace("kind: approval", "kind: approve"),
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as caught:
        lint(root)
    messages = "\n".join(str(e) for e in caught.value.errors)
    assert "unknown dataset 'populaton' (did you mean 'population'?)" in messages
    assert "rulesets/rs/graduate-hukou.yaml:" in messages and "kind" in messages


def test_json_schema_for_editors_is_current() -> None:
    """docs/ruleset.schema.json is generated: regenerate with `approvals items schema -o ...`."""
    import json

    from typer.testing import CliRunner

    from approvals.cli import app

    result = CliRunner().invoke(app, ["items", "schema"])
    assert result.exit_code == 0
    shipped = (ROOT / "docs/ruleset.schema.json").read_text(encoding="utf-8")
    assert json.loads(result.output) == json.loads(shipped)


def test_items_test_runs_every_case() -> None:
    from typer.testing import CliRunner

    from approvals.cli import app

    result = CliRunner().invoke(app, ["items", "test"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("passed, 0 failed")
