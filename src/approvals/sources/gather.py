"""Gather an item's inputs from the data sources, concurrently, with provenance.

`Sources.gather` is what submission calls (the service re-reads the authoritative
data itself, never trusting the client's copy); `Sources.prefill` is what the form
calls. Both return one `Gathered` per input. A source that fails, answers nonsense or
answers about someone else yields `Gathered(error=...)` naming the source: the engine
turns that into `refer`. Nothing here raises for a source failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Collection, Coroutine, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from approvals.engine.evaluate import Compiled, compile_expression
from approvals.engine.expr import names_used, parse
from approvals.engine.model import Gathered, Provenance
from approvals.errors import EvaluationError, ExpressionError, SourceUnavailable
from approvals.licence import TrustList
from approvals.sources.access import ReadContext, ReadEvent
from approvals.sources.cache import CacheKey, ReadCache
from approvals.sources.errors import SourceRefused
from approvals.sources.http import utc_now
from approvals.sources.licences import LicenceStoreClient
from approvals.sources.platform import PlatformClient
from approvals.sources.prefill import Prefill, autofill_inputs, build_prefill
from approvals.sources.verify import licence_view
from approvals.spec.catalog import LoadedRuleset
from approvals.spec.connectors import Dataset
from approvals.spec.ruleset import DatasetInput, LicenceInput, Ruleset


@dataclass(frozen=True)
class _Read:
    """One HTTP read an input needs. Two inputs needing the same read share it."""

    source: str  # "platform" | "licences"
    name: str  # dataset name or licence type
    key: str


class NeedsForm(Exception):
    """The input's key reads form fields the applicant has not filled in yet."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        super().__init__(", ".join(fields))


class Sources:
    """The data platform and licence store as the engine needs them.

    Build one per process (per event loop) with `sources_for_sandbox` or
    `sources_from_config` and share it: its clients pool connections. Close it with
    `await sources.aclose()` or `async with`.
    """

    def __init__(
        self,
        platform: PlatformClient,
        licences: LicenceStoreClient,
        datasets: Mapping[str, Dataset],
        trust: TrustList,
        cache: ReadCache | None = None,
    ) -> None:
        self.platform = platform
        self.licences = licences
        self.datasets = dict(datasets)
        self.trust = trust
        self.cache = cache or ReadCache()
        # The in-process sandbox apps, when `sources_for_sandbox` built these sources.
        self.platform_app: Any = None
        self.licences_app: Any = None

    async def gather(
        self,
        loaded: LoadedRuleset,
        applicant_id: str,
        form: Mapping[str, Any],
        on: dt.date,
        context: ReadContext | None = None,
    ) -> dict[str, Gathered]:
        """Every input of the ruleset, read concurrently. Never raises for a source failure.

        `context` carries the consent grant tokens sent with each read and collects one
        `ReadEvent` per read (the usage record); without it reads go out bare (a
        provider that enforces consent refuses them) and nothing is cached.

        An input whose key needs a form field that is absent or empty gets
        `Gathered(error=...)`: without a key there is nothing to look up, and "no record"
        would be a fact the rules could wrongly act on (e.g. "name not yet registered").
        """
        plans = _plan(loaded.spec, _key_scope(applicant_id, form, on), loaded.spec.inputs)
        return await self._run(
            {
                name: _unreadable(
                    loaded.spec.inputs[name],
                    f"its key needs form field(s) {', '.join(plan.fields)}, not given",
                )
                if isinstance(plan, NeedsForm)
                else plan
                for name, plan in plans.items()
            },
            on,
            context,
        )

    async def prefill(
        self,
        loaded: LoadedRuleset,
        applicant_id: str,
        on: dt.date,
        context: ReadContext | None = None,
    ) -> Prefill:
        """The item's form with every autofillable value and where it came from (秒报).

        Reads only the inputs the autofill expressions use (data minimisation: the form
        shows nothing else). An input keyed by a form field cannot be read before the
        applicant types it; it is skipped and the fields it would fill say so.
        """
        spec = loaded.spec
        wanted = autofill_inputs(spec)
        plans = _plan(spec, _key_scope(applicant_id, {}, on), wanted)
        skipped = {name: plan.fields for name, plan in plans.items() if isinstance(plan, NeedsForm)}
        gathered = await self._run(
            {k: v for k, v in plans.items() if not isinstance(v, NeedsForm)}, on, context
        )
        return build_prefill(loaded, applicant_id, on, gathered, skipped)

    async def _run(
        self,
        plans: Mapping[str, _Read | Gathered],
        on: dt.date,
        context: ReadContext | None,
    ) -> dict[str, Gathered]:
        results: dict[_Read, Gathered] = {}
        reads: dict[_Read, Coroutine[Any, Any, Gathered]] = {}
        uses: dict[_Read, int] = {}
        for plan in plans.values():
            if isinstance(plan, _Read):
                if plan not in reads and plan not in results:
                    slot = self._cache_slot(plan, context)
                    hit = self._cached(plan, context, slot)
                    if hit is not None:  # answered here: no task, no round trip
                        results[plan] = hit
                    else:
                        reads[plan] = self._read(plan, on, context, slot)
                uses[plan] = uses.get(plan, 0) + 1
        if reads:
            # One round trip's latency for the item, not the sum of them (issue 4, "Speed").
            results.update(zip(reads, await _all(list(reads.values())), strict=True))
        out: dict[str, Gathered] = {}
        for name, plan in plans.items():
            if not isinstance(plan, _Read):
                out[name] = plan
            elif uses[plan] > 1:  # two inputs share one read: each gets its own copy
                out[name] = results[plan].model_copy(deep=True)
            else:  # read for this input alone (and already a copy if it came from the cache)
                out[name] = results[plan]
        return out

    def _cache_slot(
        self, read: _Read, context: ReadContext | None
    ) -> tuple[CacheKey, float] | None:
        """Where a read's answer may be reused from, and for how long: platform reads
        made under a grant (licences are never reused: revocation must be seen)."""
        if context is None or not context.grant_id or read.source != "platform":
            return None
        dataset = self.datasets.get(read.name)
        max_age = dataset.freshness.max_age_seconds if dataset else 0
        return (context.grant_id, read.source, read.name, read.key), max_age

    def _cached(
        self, read: _Read, context: ReadContext | None, slot: tuple[CacheKey, float] | None
    ) -> Gathered | None:
        if slot is None:
            return None
        hit = self.cache.get(*slot)
        if hit is not None:
            _note(context, read, "cached", hit)
        return hit

    async def _read(
        self,
        read: _Read,
        on: dt.date,
        context: ReadContext | None,
        slot: tuple[CacheKey, float] | None,
    ) -> Gathered:
        """Read from the source (`_run` asked the cache first, at `slot`), and keep the
        answer there for reuse."""
        headers = context.headers(read.source) if context is not None else None
        try:
            if read.source == "platform":
                got = await self._dataset(read.name, read.key, headers)
            else:
                got = await self._licences(read.name, read.key, on, headers)
        except SourceUnavailable as exc:
            failed = Gathered(provenance=_provenance(read), error=str(exc))
            outcome = "refused" if isinstance(exc, SourceRefused) else "failed"
            _note(context, read, outcome, failed)
            return failed
        if slot is not None:
            key, max_age = slot
            self.cache.put(key, got, max_age)
        _note(context, read, "ok", got)
        return got

    async def _dataset(
        self, name: str, key: str, headers: Mapping[str, str] | None = None
    ) -> Gathered:
        dataset = self.datasets.get(name)
        if dataset is None:
            raise SourceUnavailable(
                f"platform dataset {name}",
                "not in the dataset catalogue (connectors/datasets/): cannot check its answer",
            )
        got = await self.platform.records(dataset, key, headers)
        return Gathered(
            value=got.records,
            provenance=Provenance(
                source="platform",
                dataset=name,
                key=key,
                fetched_at=got.fetched.fetched_at,
                digest=got.fetched.digest,
            ),
        )

    async def _licences(
        self,
        licence_type: str,
        holder: str,
        on: dt.date | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Gathered:
        got = await self.licences.licences(holder, licence_type, headers)
        return Gathered(
            value=[licence_view(lic, self.trust, on) for lic in got.licences],
            provenance=Provenance(
                source="licences",
                licence_type=licence_type,
                key=holder,
                fetched_at=got.fetched.fetched_at,
                digest=got.fetched.digest,
            ),
        )

    async def aclose(self) -> None:
        await asyncio.gather(self.platform.aclose(), self.licences.aclose())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _all(reads: list[Coroutine[Any, Any, Gathered]]) -> list[Gathered]:
    """The reads run concurrently, their answers in order: `asyncio.gather` without its
    gathering future and a callback per read (1.3% of a signed decision's instructions).
    A read never raises for a source failure (`_read` answers `Gathered(error=...)`);
    if one raises anyway, or the caller is cancelled, the error reaches the caller once
    that read is awaited, and the reads not yet done are cancelled (gather would leave
    them running). A lone read is awaited here: there is nothing to overlap it with."""
    if len(reads) == 1:
        return [await reads[0]]
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(read) for read in reads]
    try:
        return [await task for task in tasks]
    except BaseException:
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: asyncio would log it as never retrieved
        raise


def _key_scope(applicant_id: str, form: Mapping[str, Any], on: dt.date) -> dict[str, Any]:
    # The names a key expression may read (checked at load by approvals.spec.catalog).
    return {"applicant": {"id_number": applicant_id}, "form": dict(form), "today": on.isoformat()}


def _plan(
    spec: Ruleset, scope: Mapping[str, Any], names: Collection[str]
) -> dict[str, _Read | Gathered | NeedsForm]:
    """For each input: the read it needs, or why it cannot be read."""
    plans: dict[str, _Read | Gathered | NeedsForm] = {}
    for name in names:
        source = spec.inputs[name]
        if isinstance(source, DatasetInput):
            expr, read_source = source.key, "platform"
        else:
            expr, read_source = source.holder, "licences"
        try:
            key = _resolve_key(expr, scope)
        except NeedsForm as needs:
            plans[name] = needs
            continue
        except (EvaluationError, ExpressionError) as exc:
            plans[name] = _unreadable(source, f"cannot compute the key `{expr}`: {exc}")
            continue
        if key is None:
            plans[name] = _unreadable(source, f"the key `{expr}` is empty: nothing to look up")
            continue
        plans[name] = _Read(read_source, _name_of(source), key)
    return plans


@functools.lru_cache(maxsize=4096)
def _key_expression(expr: str) -> tuple[Compiled, tuple[str, ...]]:
    """A key expression compiled once, with the form fields it reads: every decision
    plans its reads with the same few expressions of its ruleset."""
    fields = {path[1] for path in names_used(parse(expr)) if path[0] == "form" and len(path) > 1}
    return compile_expression(expr), tuple(sorted(fields))


def _resolve_key(expr: str, scope: Mapping[str, Any]) -> str | None:
    compiled, fields = _key_expression(expr)
    form = scope["form"]
    unfilled = [name for name in fields if form.get(name) in (None, "", [])]
    if unfilled:
        raise NeedsForm(unfilled)
    value = compiled(scope)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EvaluationError(f"a key must be text, found {type(value).__name__}")
    # The engine strips form text before checking it (approvals.engine.form); look up
    # the same text the rules will see.
    text = str(value).strip()
    return text or None


def _name_of(source: DatasetInput | LicenceInput) -> str:
    return source.dataset if isinstance(source, DatasetInput) else source.type


def _unreadable(source: DatasetInput | LicenceInput, why: str) -> Gathered:
    if isinstance(source, DatasetInput):
        what = f"platform dataset {source.dataset}"
        provenance = Provenance(source="platform", dataset=source.dataset)
    else:
        what = f"licences type {source.type}"
        provenance = Provenance(source="licences", licence_type=source.type)
    return Gathered(provenance=provenance, error=f"{what}: {why}")


def _note(context: ReadContext | None, read: _Read, outcome: str, got: Gathered) -> None:
    """One usage event per read (用证留痕): what, whose key, how it went, the digest."""
    if context is None:
        return
    licence_ids: tuple[str, ...] = ()
    if read.source == "licences" and isinstance(got.value, list):
        licence_ids = tuple(str(v.get("licence_id")) for v in got.value if isinstance(v, dict))
    context.events.append(
        ReadEvent(
            source="platform" if read.source == "platform" else "licences",
            name=read.name,
            key=read.key,
            outcome=outcome,  # type: ignore[arg-type]
            at=utc_now(),
            digest=got.provenance.digest,
            licence_ids=licence_ids,
            detail=got.error,
        )
    )


def _provenance(read: _Read) -> Provenance:
    if read.source == "platform":
        return Provenance(source="platform", dataset=read.name, key=read.key)
    return Provenance(source="licences", licence_type=read.name, key=read.key)
