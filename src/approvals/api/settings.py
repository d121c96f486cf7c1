"""How the service is configured: from the environment, with sandbox defaults.

- `APPROVALS_DATABASE_URL`: the store; default `sqlite:///var/approvals.db`,
  `postgresql+psycopg://user@host/db` for PostgreSQL.
- `APPROVALS_RULESETS_DIR`: ruleset files; default `./rulesets`, else the repository's.
- `APPROVALS_LICENCES_DIR`: licence types and the issuers' trust list.
- `APPROVALS_SANDBOX` (default `1`): sandbox mode: test tokens, sandbox keys, stated
  application dates, the sandbox platform and licence store mounted under `/sandbox/`.
- `APPROVALS_SANDBOX_FIXTURES`: the sandbox's people, records and licences.
- `APPROVALS_SOURCES_BASE_URL`: where `/sandbox/platform` and `/sandbox/licences` are
  served over HTTP (`approvals serve` sets it to itself); unset: in-process.
- `APPROVALS_TOKEN_SECRET`: HMAC key of bearer tokens; required outside the sandbox.
- `APPROVALS_TOKEN_TTL` (default `3600`): seconds a token lives.
- `APPROVALS_SIGNING_KEY` or `APPROVALS_SIGNING_KEY_FILE`: the Ed25519 key decision
  records are signed with; the public sandbox key is used only in sandbox mode.
- `APPROVALS_LOG_NAME`: the signing key's name, which is also the log origin
  (default `sandbox.approvals.example/log`, the sandbox log of docs/audit.md).
- `APPROVALS_PREVIOUS_KEYS`: verifier keys (`name+hexid+base64`, separated by spaces,
  commas or newlines) of retired log keys, so that records and checkpoints signed
  before a key rotation stay verifiable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from approvals.api.tokens import SANDBOX_SECRET
from approvals.errors import ApprovalsError
from approvals.store import DATABASE_URL_ENV, DEFAULT_URL

REPOSITORY = Path(__file__).resolve().parents[3]
DEFAULT_LOG_NAME = "sandbox.approvals.example/log"


class ConfigurationError(ApprovalsError):
    """The service cannot start as configured; the message says what to set."""


def default_rulesets_dir() -> Path:
    here = Path("rulesets")
    return here if here.is_dir() else REPOSITORY / "rulesets"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    rulesets_dir: Path | None = None
    licences_dir: Path | None = None
    sandbox: bool = True
    fixtures: Path | None = None
    sources_base_url: str | None = None
    token_secret: str = SANDBOX_SECRET
    token_ttl: int = 3600
    signing_key_file: Path | None = None
    log_name: str = DEFAULT_LOG_NAME
    previous_keys: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        sandbox = env.get("APPROVALS_SANDBOX", "1").lower() not in ("0", "false", "no")
        secret = env.get("APPROVALS_TOKEN_SECRET")
        if not secret and not sandbox:
            raise ConfigurationError(
                "APPROVALS_TOKEN_SECRET must be set outside the sandbox "
                "(the sandbox secret is public)"
            )

        def path(name: str) -> Path | None:
            value = env.get(name)
            return Path(value) if value else None

        return cls(
            database_url=env.get(DATABASE_URL_ENV) or DEFAULT_URL,
            rulesets_dir=path("APPROVALS_RULESETS_DIR"),
            licences_dir=path("APPROVALS_LICENCES_DIR"),
            sandbox=sandbox,
            fixtures=path("APPROVALS_SANDBOX_FIXTURES"),
            sources_base_url=env.get("APPROVALS_SOURCES_BASE_URL") or None,
            token_secret=secret or SANDBOX_SECRET,
            token_ttl=int(env.get("APPROVALS_TOKEN_TTL", "3600")),
            signing_key_file=path("APPROVALS_SIGNING_KEY_FILE"),
            log_name=env.get("APPROVALS_LOG_NAME") or DEFAULT_LOG_NAME,
            previous_keys=tuple(
                env.get("APPROVALS_PREVIOUS_KEYS", "").replace(",", " ").split()
            ),
        )

    def to_env(self) -> dict[str, str]:
        """The environment from which :meth:`from_env` rebuilds these settings: how
        `approvals serve --workers N` hands its settings to each worker process."""
        env = {
            DATABASE_URL_ENV: self.database_url,
            "APPROVALS_SANDBOX": "1" if self.sandbox else "0",
            "APPROVALS_TOKEN_TTL": str(self.token_ttl),
            "APPROVALS_LOG_NAME": self.log_name,
            "APPROVALS_PREVIOUS_KEYS": " ".join(self.previous_keys),
        }
        optional = {
            "APPROVALS_RULESETS_DIR": self.rulesets_dir,
            "APPROVALS_LICENCES_DIR": self.licences_dir,
            "APPROVALS_SANDBOX_FIXTURES": self.fixtures,
            "APPROVALS_SOURCES_BASE_URL": self.sources_base_url,
            "APPROVALS_SIGNING_KEY_FILE": self.signing_key_file,
        }
        env.update({name: str(value) for name, value in optional.items() if value is not None})
        if self.token_secret != SANDBOX_SECRET:
            env["APPROVALS_TOKEN_SECRET"] = self.token_secret
        return env

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def rulesets(self) -> Path:
        return self.rulesets_dir or default_rulesets_dir()
