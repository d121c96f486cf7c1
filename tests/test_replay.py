"""Replay reproduces every stored decision from its record alone."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from approvals.api.settings import Settings
from approvals.audit.replay import Replayer, record_of_leaf
from approvals.cli import app
from approvals.store import DecisionRecord, RulesetText, open_database
from audit_log_helpers import decide_showcases

runner = CliRunner()


def test_replay_of_every_stored_decision_reproduces_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    # Every showcase case on its date, a day later, and over a year earlier (when
    # other ruleset versions and parameters were in force).
    ids = decide_showcases(Settings(database_url=url), dates=(0, 1, -400))
    engine = open_database(url)
    with Session(engine) as s:
        rows = s.exec(select(DecisionRecord)).all()
        texts = {r.hash: (r.text, r.path) for r in s.exec(select(RulesetText)).all()}
    assert len(rows) == len(ids) >= 200
    replayer = Replayer(texts.get)
    results = [replayer.replay(record_of_leaf(r.leaf)) for r in rows]
    assert [r.render() for r in results if not r.same] == []
    outcomes = {r.recorded_outcome for r in results}
    assert outcomes == {"approve", "reject", "refer"}

    result = runner.invoke(app, ["audit", "replay", "--all", "--database", url])
    assert result.exit_code == 0, result.output
    assert f"{len(ids)} replayed, {len(ids)} same, 0 different" in result.output
    one = runner.invoke(app, ["audit", "replay", ids[3], "--database", url])
    assert one.exit_code == 0 and f"{ids[3]}: same" in one.output
    engine.dispose()


def test_replay_reports_a_decision_that_no_longer_follows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    ids = decide_showcases(Settings(database_url=url))
    engine = open_database(url)
    with Session(engine) as s:
        rows = s.exec(select(DecisionRecord)).all()
        texts = {r.hash: (r.text, r.path) for r in s.exec(select(RulesetText)).all()}
    replayer = Replayer(texts.get)
    record = record_of_leaf(rows[0].leaf)
    flipped = {"approve": "reject", "reject": "approve", "refer": "approve"}[record["outcome"]]
    changed = replayer.replay(record | {"outcome": flipped, "reasons": []})
    assert not changed.same and "outcome: recorded" in changed.render()
    unknown = replayer.replay(json.loads(json.dumps(record)) | {
        "ruleset": record["ruleset"] | {"hash": "sha256:" + "0" * 64}})
    assert not unknown.same and "is not stored" in unknown.render()
    assert ids
    engine.dispose()


def test_records_dump_inputs_checks_and_reasons_as_each_model_would() -> None:
    """decision_record dumps each list with one TypeAdapter call; the signed bytes must
    stay those of a `model_dump(mode="json")` per model (dates, datetimes, None basis)."""
    import datetime as dt

    from approvals.engine.model import Basis, CheckResult, Gathered, Provenance, Reason
    from approvals.service import _CHECKS, _INPUTS, _REASONS

    when = dt.datetime(2026, 11, 30, 19, 0, 1, 234, tzinfo=dt.UTC)
    inputs = {
        "person": Gathered(
            value=[{"birth_date": "1940-01-02", "n": 1}],
            provenance=Provenance(source="platform", dataset="population", key="k",
                                  fetched_at=when, digest="sha256:" + "0" * 64, cached=True),
        ),
        "licence": Gathered(provenance=Provenance(source="licences", licence_type="x"),
                            error="licences type x: timed out"),
    }
    checks = [
        CheckResult(id="age", status="pass", on_fail="reject",
                    values={"age": 86, "on": dt.date(2026, 11, 30), "none": None},
                    basis=Basis(title="条例", article="第三条")),
        CheckResult(id="x", status="missing", on_fail="refer", values={}, basis=Basis(
            title="t", article="a")),
    ]
    reasons = [
        Reason(code="R1", check="age", outcome="reject", zh="年龄", en="age",
               basis=Basis(title="条例", article="第三条")),
        Reason(code="R2", check="x", outcome="refer", zh="缺", en="missing"),
    ]
    assert _INPUTS.dump_python(inputs, mode="json") == {
        k: v.model_dump(mode="json") for k, v in inputs.items()
    }
    assert _CHECKS.dump_python(checks, mode="json") == [c.model_dump(mode="json") for c in checks]
    assert _REASONS.dump_python(reasons, mode="json") == [
        r.model_dump(mode="json") for r in reasons
    ]
