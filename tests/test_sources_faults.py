"""Sources against misbehaving platforms: every fault is `Gathered(error=...)` naming the
source, never an exception; reads run concurrently; digests are of what came back.

The platform is an injected `httpx.MockTransport` (no patching), and the ruleset is
written here so that these tests depend only on the connector contract.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.engine.model import Gathered
from approvals.errors import SourceUnavailable
from approvals.licence import Licence, TrustList, identifier, sign
from approvals.sandbox.keys import signing_key
from approvals.sources import LicenceStoreClient, PlatformClient, Sources, sources_from_config
from approvals.sources.http import parse_json
from approvals.spec.catalog import LoadedRuleset, load_ruleset_text
from approvals.spec.connectors import Timeouts, load_connectors

ON = dt.date(2026, 11, 30)
APPLICANT = "440305198805129116"
OTHER = "440304194406159129"

RULESET = """
code: faults-demo
version: "1"
name: {zh: 测试, en: Test}
kind: approval
department: {zh: 测试, en: Test}
effective: {from: 2020-01-01}
legal_basis:
  law: {title: 《测试办法》, article: 第一条}
inputs:
  person:
    {source: platform, dataset: population, key: applicant.id_number, required: true, one: true}
  records: {source: platform, dataset: criminal_records, key: applicant.id_number}
  scores: {source: platform, dataset: driving_scores, key: applicant.id_number}
  exams: {source: platform, dataset: ridehail_exams, key: applicant.id_number}
  lease: {source: platform, dataset: lease_filings, key: form.premises_address}
  driving: {source: licences, type: driving_licence}
form:
  - name: name
    label: {zh: 姓名, en: Name}
    type: string
    autofill: person.name
  - name: premises_address
    label: {zh: 经营场所, en: Premises}
    type: string
    required: false
derived:
  clean: not any(records, true)
checks:
  - id: clean
    description: {zh: 无记录, en: No records}
    when: clean
    reason: {code: X01, zh: 有记录。, en: Has records.}
    basis: law
"""

FORM = {"premises_address": "深圳市南山区科苑路1号"}


def person(id_number: str = APPLICANT) -> dict[str, Any]:
    return {
        "id_number": id_number,
        "name": "陈建国",
        "gender": "男",
        "birth_date": "1988-05-12",
        "hukou_city": "深圳市",
        "hukou_address": "广东省深圳市南山区桃园路1号",
        "deceased": False,
        "death_date": None,
    }


def driving_licence(holder: str = APPLICANT) -> Licence:
    trust = TrustList.load()
    kind = trust.licence_type("driving_licence")
    issuer = trust.issuer("sz-traffic-police")
    issued = dt.date(2023, 5, 1)
    unsigned = Licence(
        licence_id=identifier.build(kind.code, issuer.code, "2023000001"),
        type="driving_licence",
        type_name=kind.name.zh,
        number=holder,
        holder={"id_number": holder, "name": "陈建国"},
        issuer={"id": issuer.id, "code": issuer.code, "name": issuer.name.zh},
        issue_date=issued,
        valid_from=issued,
        valid_to=dt.date(2029, 5, 1),
        fields={"class": "C1", "first_issue_date": "2015-05-01"},
    )
    key, key_id = signing_key(trust, issuer.id, issued)
    return sign(unsigned, key, key_id)


def healthy(request: httpx.Request) -> httpx.Response:
    """A well-behaved platform and store: the baseline each test breaks one way."""
    path = request.url.path
    if path.startswith("/v1/datasets/"):
        name = path.split("/")[3]
        key = request.url.params["key"]
        records = {"population": [person(key)]}.get(name, [])
        return httpx.Response(200, json={"dataset": name, "key": key, "records": records})
    if path == "/v1/licences":
        holder = request.url.params["holder"]
        found = [driving_licence(holder).model_dump(mode="json")]
        if request.url.params["type"] != "driving_licence":
            found = []
        return httpx.Response(200, json={"licences": found})
    return httpx.Response(404)


Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def sources(handler: Handler, timeouts: Timeouts | None = None) -> Sources:
    config = load_connectors()
    if timeouts is not None:
        platform = config.platform.model_copy(update={"timeout": timeouts})
        config = type(config)(config.root, platform, config.licences, config.datasets)
    transport = httpx.MockTransport(handler)
    # The env override is how a deployment points at its platforms; here it also keeps
    # the mock's paths free of the sandbox mount prefix.
    env = {
        "APPROVALS_PLATFORM_URL": "http://platform.test",
        "APPROVALS_LICENCES_URL": "http://licences.test",
    }
    return sources_from_config(
        config, env=env, transports={"platform": transport, "licences": transport}
    )


def gather(handler: Handler, form: dict[str, Any] | None = None, **kw: Any) -> dict[str, Gathered]:
    loaded = ruleset()

    async def go() -> dict[str, Gathered]:
        async with sources(handler, **kw) as s:
            return await s.gather(loaded, APPLICANT, FORM if form is None else form, ON)

    return asyncio.run(go())


def ruleset() -> LoadedRuleset:
    return load_ruleset_text(RULESET, "faults-demo.yaml")


def breaking(dataset: str, response: Callable[[httpx.Request], httpx.Response]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/v1/datasets/{dataset}/records":
            return response(request)
        return healthy(request)

    return handler


def only_error(got: dict[str, Gathered], name: str) -> str:
    """The error of input `name`, checking every other input was read fine."""
    others = {k: g.error for k, g in got.items() if k != name and g.error}
    assert others == {}
    error = got[name].error
    assert error is not None
    return error


# -- the baseline ---------------------------------------------------------------------


def test_healthy_sources_give_every_input_with_provenance() -> None:
    got = gather(healthy)
    assert set(got) == {"person", "records", "scores", "exams", "lease", "driving"}
    assert all(g.error is None for g in got.values())
    assert got["person"].value == [person()]
    assert got["lease"].provenance.key == FORM["premises_address"]
    prov = got["person"].provenance
    assert (prov.source, prov.dataset, prov.key) == ("platform", "population", APPLICANT)
    assert prov.fetched_at is not None and prov.fetched_at.utcoffset() == dt.timedelta(0)
    assert got["driving"].provenance.licence_type == "driving_licence"
    view = got["driving"].value[0]
    assert view["signature_valid"] is True and view["verification_problem"] is None
    assert view["class"] == "C1" and view["issuer"] == "sz-traffic-police"


def test_digest_is_sha256_of_the_canonical_json_received() -> None:
    # Same JSON value as the healthy answer, but spaced and ordered differently on the
    # wire: the digest must not depend on either (RFC 8785).
    body = {"records": [person()], "key": APPLICANT, "dataset": "population"}
    raw = json.dumps(body, indent=3, ensure_ascii=True).encode()

    got = gather(breaking("population", lambda r: httpx.Response(200, content=raw)))
    expected = "sha256:" + hashlib.sha256(rfc8785.dumps(body)).hexdigest()
    assert got["person"].provenance.digest == expected
    assert got["records"].provenance.digest == (
        "sha256:"
        + hashlib.sha256(
            rfc8785.dumps({"dataset": "criminal_records", "key": APPLICANT, "records": []})
        ).hexdigest()
    )


# -- faults: each is an error naming the source, never an exception -------------------


def test_server_error_names_the_dataset() -> None:
    got = gather(breaking("criminal_records", lambda r: httpx.Response(503, text="down")))
    error = only_error(got, "records")
    assert "platform dataset criminal_records" in error and "HTTP 503" in error
    assert got["records"].provenance.dataset == "criminal_records"
    assert got["records"].provenance.key == APPLICANT


def test_total_deadline_turns_a_hanging_source_into_an_error() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        if "driving_scores" in request.url.path:
            await asyncio.sleep(5)
        return healthy(request)

    started = time.perf_counter()
    got = gather(slow, timeouts=Timeouts(connect=0.1, read=0.1, total=0.3))
    assert time.perf_counter() - started < 3
    error = only_error(got, "scores")
    assert "platform dataset driving_scores" in error and "within 0.3 s" in error


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ConnectTimeout, "timed out"),
        (httpx.ReadTimeout, "timed out"),
        (httpx.ConnectError, "cannot connect"),
        (httpx.RemoteProtocolError, "transport error"),
    ],
)
def test_transport_failures_name_the_dataset(exc: type[httpx.TransportError], words: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    error = only_error(gather(breaking("ridehail_exams", fail)), "exams")
    assert "platform dataset ridehail_exams" in error and words in error


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b"", b"\xff\xfe\x00garbage", b'{"dataset": "ridehail_'],
)
def test_garbage_is_not_json(body: bytes) -> None:
    error = only_error(
        gather(breaking("ridehail_exams", lambda r: httpx.Response(200, content=body))), "exams"
    )
    assert "platform dataset ridehail_exams" in error and "not JSON" in error


def _records(dataset: str, *records: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.params["key"]
        return httpx.Response(200, json={"dataset": dataset, "key": key, "records": list(records)})

    return answer


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"period_start": "2025-01-01", "period_end": "2025-12-31"}, "missing fields: points"),
        (
            {"period_start": "2025-01-01", "period_end": "2025-12-31", "points": 3, "x": 1},
            "not in the driving_scores catalogue entry: x",
        ),
        ({"period_start": "2025-01-01", "period_end": "2025-12-31", "points": "12"}, "integer"),
        ({"period_start": "2025-01-01", "period_end": "2025-12-31", "points": True}, "integer"),
        ({"period_start": "20250101", "period_end": "2025-12-31", "points": 1}, "YYYY-MM-DD"),
        ({"period_start": "2025-02-30", "period_end": "2025-12-31", "points": 1}, "YYYY-MM-DD"),
        ({"period_start": None, "period_end": "2025-12-31", "points": 1}, "found null"),
        ({"period_start": "2025-01-01", "period_end": "2025-12-31", "points": 2**60}, "RFC 8785"),
    ],
)
def test_schema_violations_are_malformed(record: dict[str, Any], words: str) -> None:
    error = only_error(
        gather(breaking("driving_scores", _records("driving_scores", record))), "scores"
    )
    assert "platform dataset driving_scores" in error and words in error


def test_a_value_outside_the_declared_list_is_malformed() -> None:
    record = {"category": "乱穿马路", "record_date": "2025-01-01"}
    error = only_error(
        gather(breaking("criminal_records", _records("criminal_records", record))), "records"
    )
    assert "malformed" in error and "乱穿马路" in error


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"dataset": "driving_scores", "key": APPLICANT},
        {"dataset": "driving_scores", "key": APPLICANT, "records": {}},
        {"dataset": "driving_scores", "key": APPLICANT, "records": [], "total": 0},
    ],
)
def test_a_broken_envelope_is_malformed(body: Any) -> None:
    error = only_error(
        gather(breaking("driving_scores", lambda r: httpx.Response(200, json=body))), "scores"
    )
    assert "platform dataset driving_scores: malformed" in error


def test_another_persons_record_is_refused() -> None:
    error = only_error(
        gather(breaking("population", _records("population", person(OTHER)))), "person"
    )
    assert "platform dataset population" in error and "another party's record" in error
    assert OTHER in error


def test_an_answer_for_another_key_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"dataset": "ridehail_exams", "key": OTHER, "records": []})

    error = only_error(gather(breaking("ridehail_exams", answer)), "exams")
    assert "another party's record" in error


def test_another_persons_licence_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/licences":
            other = driving_licence(OTHER).model_dump(mode="json")
            return httpx.Response(200, json={"licences": [other]})
        return healthy(request)

    error = only_error(gather(handler), "driving")
    assert "licences type driving_licence" in error and "another party's record" in error


def test_a_malformed_licence_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/licences":
            broken = driving_licence().model_dump(mode="json")
            del broken["valid_from"]
            return httpx.Response(200, json={"licences": [broken]})
        return healthy(request)

    error = only_error(gather(handler), "driving")
    assert "licences type driving_licence: malformed" in error and "valid_from" in error


def test_a_tampered_licence_is_passed_on_marked_not_genuine() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/licences":
            forged = driving_licence().model_dump(mode="json")
            forged["valid_to"] = "2039-05-01"  # extended after the issuer signed it
            return httpx.Response(200, json={"licences": [forged]})
        return healthy(request)

    got = gather(handler)
    assert got["driving"].error is None
    view = got["driving"].value[0]
    assert view["signature_valid"] is False
    assert view["valid_to"] == "2039-05-01"
    assert "BadSignature" in view["verification_problem"]


def test_every_source_down_still_returns_every_input() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    got = gather(down)
    assert set(got) == {"person", "records", "scores", "exams", "lease", "driving"}
    assert all(g.error and "cannot connect" in g.error for g in got.values())


def test_a_key_needing_an_absent_form_field_is_an_error_not_a_read() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return healthy(request)

    got = gather(handler, form={})
    error = only_error(got, "lease")
    assert "lease_filings" in error and "premises_address" in error
    assert not any("lease_filings" in path for path in seen)


def test_the_client_itself_raises_only_source_unavailable() -> None:
    async def go() -> None:
        transport = httpx.MockTransport(lambda r: httpx.Response(500))
        async with PlatformClient("http://p.test", transport=transport) as client:
            dataset = load_connectors().datasets["population"]
            with pytest.raises(SourceUnavailable) as caught:
                await client.records(dataset, APPLICANT)
        assert caught.value.source == "platform dataset population"
        assert "HTTP 500" in caught.value.detail

    asyncio.run(go())


# -- concurrency ----------------------------------------------------------------------


def test_reads_run_concurrently() -> None:
    in_flight = 0
    most = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return healthy(request)

    async def go() -> dict[str, Gathered]:
        async with sources(slow) as s:
            return await s.gather(ruleset(), APPLICANT, FORM, ON)

    got = asyncio.run(go())
    assert all(g.error is None for g in got.values())
    # All six reads were in flight at once. (Not a timing: an elapsed-time bound here
    # failed at 1.006 s on a loaded machine although all six overlapped.)
    assert most == 6


def test_two_inputs_with_the_same_read_share_one_request() -> None:
    text = RULESET.replace(
        "  exams: {source: platform, dataset: ridehail_exams, key: applicant.id_number}",
        "  exams: {source: platform, dataset: ridehail_exams, key: applicant.id_number}\n"
        "  exams2: {source: platform, dataset: ridehail_exams, key: applicant.id_number}",
    )
    loaded = load_ruleset_text(text, "dup.yaml")
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return healthy(request)

    async def go() -> dict[str, Gathered]:
        async with sources(handler) as s:
            return await s.gather(loaded, APPLICANT, FORM, ON)

    got = asyncio.run(go())
    assert paths.count("/v1/datasets/ridehail_exams/records") == 1
    assert got["exams"] == got["exams2"]
    assert got["exams"] is not got["exams2"]


def test_licence_client_get_checks_the_id() -> None:
    licence = driving_licence()

    async def go() -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=licence.model_dump(mode="json"))

        async with LicenceStoreClient("http://l.test", transport=httpx.MockTransport(handler)) as c:
            got, fetched = await c.licence(licence.licence_id)
            assert got == licence
            assert fetched.digest.startswith("sha256:")
            with pytest.raises(SourceUnavailable, match="another party's record"):
                await c.licence("1.2.156.3005.2.X.Y.1.001.Z")

    asyncio.run(go())


@pytest.mark.parametrize(
    "body",
    [
        b'{"n": NaN}',  # orjson refuses; json parses
        b'{"n": 123456789012345678901234567890}',  # beyond 64 bits
        b'{"n": -18446744073709551616}',  # -2**64: 20 digits after the sign
        b'{"n": 18446744073709551615, "id": "440305198805129116"}',  # 2**64 - 1
        b'"\\ud800"',  # a lone surrogate
        '{"name": "张三"}'.encode("utf-16"),  # not UTF-8
        b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte order mark
        b'{"a": 1, "a": 2}',  # a repeated key: the last wins in both
        b'{"x": [1.5, -0.0, 1e400, true, null, "t"]}',
    ],
)
def test_answers_parse_as_json_parses_them(body: bytes) -> None:
    """The fast parser for source answers gives what `json.loads` gives, including for
    what orjson itself refuses; and it refuses what `json` refuses."""
    expected = json.loads(body)
    got = parse_json(body)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert type(got) is type(expected)


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe\x00garbage", b"[1,]"])
def test_answers_json_refuses_are_refused(body: bytes) -> None:
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
        parse_json(body)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_any_answer_parses_as_json_parses_it(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    assert repr(parse_json(body)) == repr(json.loads(body))
