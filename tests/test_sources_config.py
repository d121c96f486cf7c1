"""`connectors/`: the shipped catalogue, file:line errors, and how config becomes clients."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from approvals.errors import SpecErrors
from approvals.licence import TrustList
from approvals.sources import ConnectorConfigError, sources_from_config
from approvals.spec.catalog import Catalog, load_ruleset_text
from approvals.spec.connectors import input_errors, load_connectors

ROOT = Path(__file__).resolve().parents[1]

# docs/architecture.md, "Data platform HTTP contract": dataset -> (key, record fields).
CONTRACT = {
    "population": (
        "id_number",
        "id_number name gender birth_date hukou_city hukou_address deceased death_date",
    ),
    "criminal_records": ("id_number", "category record_date"),
    "driving_scores": ("id_number", "period_start period_end points"),
    "ridehail_exams": ("id_number", "exam_date passed"),
    "longevity_allowance": ("id_number", "since status"),
    "dishonest_debtors": ("id_number", "case_number listed_on removed_on"),
    "business_names": ("name", "name uscc registered_on"),
    "lease_filings": ("address", "filing_number address lessee_id_number valid_from valid_to"),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A writable copy of connectors/ to break."""
    root = tmp_path / "connectors"
    shutil.copytree(ROOT / "connectors", root)
    return root


def test_the_catalogue_is_the_architecture_contract() -> None:
    config = load_connectors(ROOT / "connectors")
    assert set(config.datasets) == set(CONTRACT)
    for name, (key, fields) in CONTRACT.items():
        dataset = config.datasets[name]
        assert dataset.key == key
        assert [f.name for f in dataset.fields] == fields.split()
    assert config.datasets["population"].field("death_date").nullable  # type: ignore[union-attr]
    assert config.platform.base_url_env == "APPROVALS_PLATFORM_URL"
    assert config.licences.base_url_env == "APPROVALS_LICENCES_URL"


def test_every_ruleset_reads_what_the_connectors_serve() -> None:
    catalog = Catalog.load(ROOT / "rulesets")
    config = load_connectors(ROOT / "connectors")
    assert input_errors(catalog, config, TrustList.load().types) == []


def test_a_ruleset_reading_an_unknown_dataset_is_named_with_its_line() -> None:
    text = (ROOT / "rulesets/mz/longevity-allowance.yaml").read_text(encoding="utf-8")
    loaded = load_ruleset_text(
        text.replace("dataset: longevity_allowance", "dataset: longevity"), "x.yaml"
    )
    errors = input_errors([loaded], load_connectors(ROOT / "connectors"), [])
    assert [str(e) for e in errors] == [
        f"x.yaml:{_line(text, 'dataset: longevity_allowance')}: inputs.allowance.dataset: "
        "unknown dataset 'longevity' (did you mean 'longevity_allowance'?)"
    ]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_typo_is_refused_with_file_line_and_a_suggestion(tree: Path) -> None:
    path = tree / "platform.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("  read: 5", "  raed: 5"), encoding="utf-8"
    )
    with pytest.raises(SpecErrors) as caught:
        load_connectors(tree)
    line = _line(path.read_text(encoding="utf-8"), "raed:")
    assert str(caught.value) == (
        f"connectors/platform.yaml:{line}: timeout.raed: unknown field 'raed' "
        "(did you mean 'read'?)"
    )


def test_every_bad_file_is_reported_at_once(tree: Path) -> None:
    (tree / "datasets/driving_scores.yaml").write_text(
        (tree / "datasets/driving_scores.yaml")
        .read_text(encoding="utf-8")
        .replace("type: integer", "type: int"),
        encoding="utf-8",
    )
    (tree / "datasets/renamed.yaml").write_text(
        (tree / "datasets/ridehail_exams.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tree / "licences.yaml").write_text(
        (tree / "licences.yaml")
        .read_text(encoding="utf-8")
        .replace("mode: none", "mode: password"),
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as caught:
        load_connectors(tree)
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 3, messages
    assert messages[0].startswith("connectors/licences.yaml:")
    assert "auth" in messages[0] and "password" in messages[0]
    assert messages[1].startswith("connectors/datasets/driving_scores.yaml:")
    assert "fields.2.type" in messages[1] and "'int'" in messages[1]
    assert messages[2] == (
        "connectors/datasets/renamed.yaml:1: name: 'ridehail_exams' must match the file name "
        "('renamed')"
    )


def test_total_timeout_must_cover_the_steps(tree: Path) -> None:
    path = tree / "platform.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("total: 8", "total: 1"), encoding="utf-8"
    )
    with pytest.raises(SpecErrors, match=r"platform.yaml:\d+: timeout: .*total \(1.0\) must be"):
        load_connectors(tree)


def _reads(env: dict[str, str], tree: Path) -> list[httpx.Request]:
    """Build sources from `tree` and `env`, read one dataset, return what went out."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        key = request.url.params["key"]
        return httpx.Response(200, json={"dataset": "ridehail_exams", "key": key, "records": []})

    config = load_connectors(tree)

    async def go() -> None:
        transport = httpx.MockTransport(handler)
        sources = sources_from_config(config, env=env, transports={"platform": transport})
        async with sources:
            await sources.platform.records(config.datasets["ridehail_exams"], "440305198805129116")

    asyncio.run(go())
    return seen


def test_the_environment_overrides_the_base_url(tree: Path) -> None:
    default = _reads({}, tree)
    assert str(default[0].url).startswith("http://127.0.0.1:8000/sandbox/platform/v1/datasets/")
    moved = _reads({"APPROVALS_PLATFORM_URL": "https://dsp.example.gov.cn/api"}, tree)
    assert str(moved[0].url) == (
        "https://dsp.example.gov.cn/api/v1/datasets/ridehail_exams/records?key=440305198805129116"
    )


def test_api_key_auth_sends_the_key_from_the_environment(tree: Path) -> None:
    path = tree / "platform.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "auth:\n  mode: none",
            "auth:\n  mode: api_key\n  header: X-Gateway-Key\n  key_env: TEST_PLATFORM_KEY",
        ),
        encoding="utf-8",
    )
    sent = _reads({"TEST_PLATFORM_KEY": "s3cret"}, tree)
    assert sent[0].headers["X-Gateway-Key"] == "s3cret"
    with pytest.raises(ConnectorConfigError, match=r"\$TEST_PLATFORM_KEY, which is not set"):
        _reads({}, tree)


def test_mtls_needs_https_and_its_files(tree: Path) -> None:
    path = tree / "licences.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "auth:\n  mode: none",
            "auth:\n  mode: mtls\n  cert_env: TEST_CERT\n  key_env: TEST_KEY",
        ),
        encoding="utf-8",
    )
    config = load_connectors(tree)
    with pytest.raises(ConnectorConfigError, match="needs an https:// base URL"):
        sources_from_config(config, env={})
    https = {"APPROVALS_LICENCES_URL": "https://licences.example.gov.cn"}
    with pytest.raises(ConnectorConfigError, match=r"\$TEST_CERT, which is not set"):
        sources_from_config(config, env=https)
    missing = {**https, "TEST_CERT": "/nonexistent/cert.pem", "TEST_KEY": "/nonexistent/key.pem"}
    with pytest.raises(ConnectorConfigError, match="cannot load the client certificate"):
        sources_from_config(config, env=missing)
