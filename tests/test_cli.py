"""The `approvals` command through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from approvals.cli import app

runner = CliRunner()
OLD = "440304194406159129"  # showcase: aged 82 on 2026-11-30
REPO = Path(__file__).resolve().parents[1]


def test_items_list_json_names_every_item() -> None:
    result = runner.invoke(app, ["items", "list", "--json"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)["items"]
    assert items
    for item in items:
        assert set(item) >= {"code", "name", "kind", "department", "version"}
    human = runner.invoke(app, ["items", "list"])
    assert "高龄老人津贴申领 / Longevity allowance" in human.stdout


def test_items_lint_reports_file_and_line(tmp_path: Path) -> None:
    good = REPO / "rulesets" / "mz" / "longevity-allowance.yaml"
    result = runner.invoke(app, ["items", "lint", str(good)])
    assert result.exit_code == 0, result.output
    assert "all valid" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text(encoding="utf-8").replace("age(person.birth_date)",
                                                            "age(person.brith_date)"))
    result = runner.invoke(app, ["items", "lint", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:" in result.stdout
    assert "brith_date" in result.stdout


def test_items_schema_is_json_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["items", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "checks" in schema["properties"]
    out = tmp_path / "ruleset.schema.json"
    assert runner.invoke(app, ["items", "schema", "--output", str(out)]).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema


def test_decide_prints_a_signed_decision(tmp_path: Path) -> None:
    form = tmp_path / "form.json"
    form.write_text(json.dumps({"bank_account": "6222020200112233445"}))
    result = runner.invoke(app, ["decide", "longevity-allowance", "--applicant", OLD,
                                 "--form", str(form), "--on", "2026-11-30", "--json"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "approve"
    assert decision["reasons"] == []
    assert set(decision["ruleset"]) == {"code", "version", "hash"}
    assert decision["signed_record"]["signature"]["alg"] == "Ed25519"
    assert decision["signed_record"]["record"]["application_date"] == "2026-11-30"
    human = runner.invoke(app, ["decide", "longevity-allowance", "--applicant", OLD,
                                "--form", str(form), "--on", "2026-11-30"])
    assert "决定 / outcome: 准予（通过） / approve" in human.stdout


def test_decide_explains_a_missing_form_field() -> None:
    result = runner.invoke(app, ["decide", "longevity-allowance", "--applicant", OLD,
                                 "--on", "2026-11-30", "--json"])
    assert result.exit_code == 1
    assert "bank_account" in result.stderr


def test_prefill_json_has_provenance() -> None:
    result = runner.invoke(app, ["prefill", "longevity-allowance", "--applicant", OLD,
                                 "--on", "2026-11-30", "--json"])
    assert result.exit_code == 0, result.output
    assert "population" in result.stdout


def test_invalid_id_numbers_are_refused() -> None:
    for command in (["decide", "longevity-allowance"], ["prefill", "longevity-allowance"]):
        result = runner.invoke(app, [*command, "--applicant", "440304194406159120", "--json"])
        assert result.exit_code == 2
        assert "GB 11643" in result.stderr
    result = runner.invoke(app, ["decide", "longevity-allowance", "--applicant", OLD,
                                 "--on", "30/11/2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr
