"""`approvals sources check`: reachable, authenticated, serving what the rulesets read."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from approvals.cli import app

runner = CliRunner()


def test_the_sandbox_passes_every_check() -> None:
    result = runner.invoke(app, ["sources", "check", "--sandbox", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"]
    targets = {(c["source"], c["target"]) for c in report["checks"]}
    assert ("platform", "population") in targets
    assert ("licences", "driving_licence") in targets
    assert all(c["reachable"] and c["authenticated"] and c["serving"] for c in report["checks"])


def test_an_unreachable_platform_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    monkeypatch.setenv("APPROVALS_PLATFORM_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("APPROVALS_LICENCES_URL", "http://127.0.0.1:9")
    result = runner.invoke(app, ["sources", "check", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert not report["ok"]
    catalogue = next(c for c in report["checks"] if c["target"] == "catalogue")
    assert catalogue["reachable"] is False
    assert "cannot connect" in catalogue["problems"][0]
