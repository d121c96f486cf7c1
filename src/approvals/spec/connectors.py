"""Pydantic models of `connectors/`: where the data sources are and what they serve.

`connectors/platform.yaml` and `connectors/licences.yaml` describe the two endpoints
(base URL, environment override, timeouts, connection pool, authentication);
`connectors/datasets/*.yaml` is the dataset catalogue of the shared data platform, one
file per dataset (owner, key, fields with types, how long a read may be reused).

Like rulesets, these files are data: an integrator points the service at a real
platform by editing them or setting environment variables, never by changing code.
Errors read `file:line: message`, as for rulesets (`approvals.spec.yamlfile`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from approvals.errors import SpecError, SpecErrors
from approvals.spec.catalog import LoadedRuleset
from approvals.spec.ruleset import IDENT, DatasetInput, Ruleset, Text
from approvals.spec.yamlfile import did_you_mean, line_of, load_model

CONNECTORS_ENV = "APPROVALS_CONNECTORS_DIR"
ENV_NAME = r"^[A-Z][A-Z0-9_]*$"
SourceName = Literal["platform", "licences"]
_M = TypeVar("_M", bound=BaseModel)


class Strict(BaseModel):
    """Unknown keys are errors: a mistyped `timout:` must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- endpoints ---------------------------------------------------------------------------


class Timeouts(Strict):
    """Seconds. `connect` and `read` bound each network step; `total` bounds the whole read.

    httpx's timeouts apply per operation, so a server that trickles bytes slowly never
    trips `read`; `total` is the deadline the decision actually waits for.
    """

    connect: float = Field(default=2.0, gt=0, le=60)
    read: float = Field(default=5.0, gt=0, le=120)
    total: float = Field(default=8.0, gt=0, le=300)

    @model_validator(mode="after")
    def _total_covers_steps(self) -> Timeouts:
        if self.total < max(self.connect, self.read):
            raise ValueError(
                f"total ({self.total}) must be at least connect ({self.connect}) and "
                f"read ({self.read}): it is the deadline for the whole read"
            )
        return self


class Pool(Strict):
    """Connection pool: reads for one decision run concurrently over kept-alive connections."""

    max_connections: int = Field(default=20, ge=1, le=1000)
    max_keepalive: int = Field(default=10, ge=0, le=1000)
    keepalive_expiry: float = Field(default=30.0, gt=0)


class NoAuth(Strict):
    """The sandbox, or a platform reached over a private network that authenticates by address."""

    mode: Literal["none"]


class ApiKeyAuth(Strict):
    """An API key sent in a header on every request; the key itself lives in the environment."""

    mode: Literal["api_key"]
    header: str = Field(default="X-API-Key", pattern=r"^[A-Za-z0-9-]+$")
    key_env: str = Field(pattern=ENV_NAME, description="Environment variable holding the key")


class MtlsAuth(Strict):
    """Mutual TLS: the client certificate and key are files named by environment variables."""

    mode: Literal["mtls"]
    cert_env: str = Field(
        pattern=ENV_NAME, description="Env var: path of the client certificate (PEM)"
    )
    key_env: str = Field(
        pattern=ENV_NAME, description="Env var: path of the client private key (PEM)"
    )
    ca_env: str | None = Field(
        default=None,
        pattern=ENV_NAME,
        description="Env var: path of a CA bundle for the server (system roots when unset)",
    )


Auth = Annotated[NoAuth | ApiKeyAuth | MtlsAuth, Field(discriminator="mode")]


class Retry(Strict):
    """Bounded retries of idempotent reads (GET) after a timeout, a lost connection or a
    5xx/429 answer. A 4xx, a malformed payload or another person's record is never
    retried: asking again would get the same wrong answer.

    The wait before retry n (1-based) is `min(backoff_max, backoff_base * 2**(n-1))`,
    scaled by a random factor in [0.5, 1] ("equal jitter") so that many clients that
    failed together do not retry together.
    """

    attempts: int = Field(default=3, ge=1, le=10, description="Tries in all, the first included")
    backoff_base: float = Field(default=0.2, ge=0, le=60)
    backoff_max: float = Field(default=2.0, ge=0, le=300)


class Circuit(Strict):
    """A circuit breaker per dataset or licence type: after `failure_threshold` failed
    reads in a row the source is not called for `reset_after` seconds (every read fails
    at once, naming the source); then one trial read decides whether it closes again.
    Protects a struggling department's system from our retries and keeps decisions fast.
    """

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    reset_after: float = Field(default=30.0, gt=0, le=3600)


class Concurrency(Strict):
    """At most `max_in_flight` reads to this source at once (an agreed quota with the
    owning department); a read waits at most `queue_timeout` seconds for a slot."""

    max_in_flight: int = Field(default=16, ge=1, le=1000)
    queue_timeout: float = Field(default=2.0, gt=0, le=60)


class Endpoint(Strict):
    """One HTTP data source: the shared data platform or the electronic licence store."""

    title: Text
    base_url: str = Field(
        pattern=r"^https?://\S+$", description="Default base URL (the sandbox's address)"
    )
    base_url_env: str = Field(
        pattern=ENV_NAME, description="Environment variable that overrides base_url"
    )
    timeout: Timeouts = Field(default_factory=Timeouts)
    pool: Pool = Field(default_factory=Pool)
    auth: Auth = Field(default_factory=lambda: NoAuth(mode="none"))
    retry: Retry = Field(default_factory=Retry)
    circuit: Circuit = Field(default_factory=Circuit)
    concurrency: Concurrency = Field(default_factory=Concurrency)

    def url(self, env: Mapping[str, str] | None = None) -> str:
        """The base URL in effect: the environment override when set, else the file's."""
        environ = os.environ if env is None else env
        return environ.get(self.base_url_env) or self.base_url


# -- datasets ----------------------------------------------------------------------------

FieldType = Literal["string", "date", "boolean", "integer", "number"]


class DatasetField(Strict):
    name: str = Field(pattern=IDENT)
    type: FieldType = Field(description="JSON type; `date` is a text YYYY-MM-DD")
    description: Text
    nullable: bool = Field(default=False, description="Whether null is a valid value")
    values: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Closed list of allowed values; anything else is a malformed record",
    )

    @model_validator(mode="after")
    def _values_are_strings(self) -> DatasetField:
        if self.values is not None and self.type != "string":
            raise ValueError(
                f"values: only a string field can list allowed values, not {self.type}"
            )
        return self


class Freshness(Strict):
    """How long a record read from this dataset may be reused (0: always read again)."""

    max_age_seconds: int = Field(ge=0, le=7 * 24 * 3600)


class Dataset(Strict):
    name: str = Field(pattern=IDENT)
    title: Text
    owner: Text = Field(description="The department that owns the data and answers for it")
    key: str = Field(
        pattern=IDENT,
        description=(
            "What records are looked up by. When a record carries a field of this name "
            "its value must equal the key asked for (else it is another person's record)"
        ),
    )
    fields: list[DatasetField] = Field(min_length=1)
    freshness: Freshness

    @model_validator(mode="after")
    def _unique_fields(self) -> Dataset:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"fields: names used twice: {', '.join(dupes)}")
        return self

    def field(self, name: str) -> DatasetField | None:
        return next((f for f in self.fields if f.name == name), None)


# -- the whole folder --------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectorConfig:
    """Everything under `connectors/`, validated."""

    root: Path
    platform: Endpoint
    licences: Endpoint
    datasets: dict[str, Dataset]

    def endpoint(self, source: SourceName) -> Endpoint:
        return self.platform if source == "platform" else self.licences


def connectors_dir() -> Path:
    """`$APPROVALS_CONNECTORS_DIR`, else the repository's `connectors/` folder."""
    configured = os.environ.get(CONNECTORS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "connectors"


def load_connectors(root: Path | None = None) -> ConnectorConfig:
    """Load and validate `root` (default `connectors_dir()`); every error is reported at once."""
    base = root if root is not None else connectors_dir()
    errors: list[SpecError] = []
    endpoints: dict[str, Endpoint] = {}
    for source in ("platform", "licences"):
        path = base / f"{source}.yaml"
        try:
            endpoints[source] = _load(Endpoint, path, base)
        except SpecErrors as exc:
            errors.extend(exc.errors)
    datasets: dict[str, Dataset] = {}
    files = sorted((base / "datasets").glob("*.yaml"))
    if not files:
        errors.append(SpecError(_shown(base / "datasets", base), None, "no dataset files (*.yaml)"))
    for path in files:
        try:
            dataset = _load(Dataset, path, base)
        except SpecErrors as exc:
            errors.extend(exc.errors)
            continue
        if dataset.name != path.stem:
            errors.append(
                SpecError(
                    _shown(path, base),
                    1,
                    f"name: '{dataset.name}' must match the file name ('{path.stem}')",
                )
            )
            continue
        datasets[dataset.name] = dataset
    if errors:
        raise SpecErrors(errors)
    return ConnectorConfig(base, endpoints["platform"], endpoints["licences"], datasets)


def input_errors(
    loaded: Iterable[LoadedRuleset], config: ConnectorConfig, licence_types: Iterable[str]
) -> list[SpecError]:
    """Ruleset inputs that name a dataset or licence type no connector serves.

    Lint runs this so that a ruleset reading `populaton` fails at review, not as a
    referral on the first application.
    """
    types = set(licence_types)
    errors: list[SpecError] = []
    for ruleset in loaded:
        lines = None
        for name, source in ruleset.spec.inputs.items():
            if isinstance(source, DatasetInput):
                wanted, known, what, attr = (
                    source.dataset,
                    set(config.datasets),
                    "dataset",
                    "dataset",
                )
            else:
                wanted, known, what, attr = source.type, types, "licence type", "type"
            if wanted in known:
                continue
            if lines is None:
                _, _, lines = load_model(Ruleset, ruleset.text, ruleset.path)
            hint = did_you_mean(wanted, known)
            errors.append(
                SpecError(
                    ruleset.path,
                    line_of(lines, ("inputs", name, attr)),
                    f"inputs.{name}.{attr}: unknown {what} '{wanted}'{hint}",
                )
            )
    return errors


def _load(model: type[_M], path: Path, base: Path) -> _M:
    shown = _shown(path, base)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecErrors([SpecError(shown, None, f"cannot read: {exc}")]) from exc
    try:
        parsed, _data, _lines = load_model(model, text, shown)
    except SpecError as exc:  # not YAML at all
        raise SpecErrors([exc]) from exc
    return parsed


def _shown(path: Path, base: Path) -> str:
    """Paths as a reader of the repository knows them: `connectors/datasets/x.yaml`."""
    anchor = base.parent
    return str(path.relative_to(anchor)) if path.is_relative_to(anchor) else str(path)
