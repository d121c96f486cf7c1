"""`approvals audit`: export the decision log, verify it offline, replay decisions.

    approvals audit checkpoint [--database URL]
    approvals audit export DIR [--database URL]
    approvals audit verify [--database URL | --export DIR] [--since FILE] [--key FILE]...
    approvals audit replay (ID | --all) [--database URL]

`verify` trusts only the keys given with `--key` (a `verifier.key` file); without
`--key` it uses the keys configured for this installation (and says so). Exit 0 only
when every numbered step holds (docs/audit.md, section 7).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from approvals.audit.errors import AuditError
from approvals.audit.keys import Keyring, SigningKey
from approvals.audit.replay import Replayer, ReplayResult, record_of_leaf
from approvals.audit.sqllog import DecisionLog
from approvals.audit.verify import LogEntry, verify_log
from approvals.errors import ApprovalsError
from approvals.store import RulesetText, database_url, open_database

audit_app = typer.Typer(
    help="审计 / The decision log: export, verify offline, replay decisions.",
    no_args_is_help=True,
)

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="数据库 / database URL (default: $APPROVALS_DATABASE_URL)"),
]
VERIFIER_KEY = "verifier.key"
PREVIOUS_KEYS = "previous-keys.txt"
CHECKPOINT = "checkpoint.txt"
RECORDS = "records.jsonl"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _configured() -> tuple[SigningKey | None, Keyring, str]:
    """This installation's log key (if configured), trusted keys and origin."""
    from approvals.api.settings import ConfigurationError, Settings
    from approvals.api.wiring import keyring_for, signer_for

    env = dict(os.environ)
    # Serving needs the token secret outside the sandbox; auditing does not.
    env.setdefault("APPROVALS_TOKEN_SECRET", "not-used-by-audit-commands")
    settings = Settings.from_env(env)
    try:
        signer: SigningKey | None = signer_for(settings)
    except ConfigurationError:
        signer = None
    return signer, keyring_for(settings, signer), settings.log_name


def _engine(database: str | None) -> Engine:
    return open_database(database or database_url())


def _log(engine: Engine) -> DecisionLog:
    signer, keyring, origin = _configured()
    return DecisionLog(engine, signer, keyring, origin=origin)


def _keys(files: list[Path]) -> Keyring:
    ring = Keyring()
    for file in files:
        for line in file.read_text(encoding="utf-8").split():
            ring.add(line)
    return ring


@audit_app.command("checkpoint")
def checkpoint(database: DatabaseOption = None) -> None:
    """最新检查点 / Print the log's latest signed checkpoint (save it for `verify --since`)."""
    engine = _engine(database)
    try:
        typer.echo(_log(engine).checkpoint().note, nl=False)
    except ApprovalsError as exc:
        raise _fail(f"错误 / error: {exc}") from None
    finally:
        engine.dispose()


@audit_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="导出目录 / directory to write")],
    database: DatabaseOption = None,
) -> None:
    """导出日志 / Write the records, checkpoints and verifier key(s) to DIR."""
    engine = _engine(database)
    try:
        log = _log(engine)
        cp = log.checkpoint() if log.signer is not None else log.latest()
        if cp is None:
            raise _fail("错误 / error: the log has no signed checkpoint and no key to sign one")
        directory.mkdir(parents=True, exist_ok=True)
        current = log.signer.verifier if log.signer else log.keyring.get(cp.key_id)
        (directory / VERIFIER_KEY).write_text(current.text + "\n", encoding="utf-8")
        others = [k.text for k in log.keyring if k != current]
        if others:
            (directory / PREVIOUS_KEYS).write_text("\n".join(others) + "\n", encoding="utf-8")
        (directory / CHECKPOINT).write_text(cp.note, encoding="utf-8")
        folder = directory / "checkpoints"
        folder.mkdir(exist_ok=True)
        for n, stored in enumerate(log.checkpoints()):
            (folder / f"{stored.size:012d}-{n}.txt").write_text(stored.note, encoding="utf-8")
        count = 0
        with (directory / RECORDS).open("wb") as out:
            for entry in log.entries(cp.size):
                out.write(entry.leaf + b"\n")  # RFC 8785 JSON never holds a raw newline
                count += 1
    except (ApprovalsError, OSError) as exc:
        raise _fail(f"错误 / error: {exc}") from None
    finally:
        engine.dispose()
    typer.echo(f"已导出 / exported {count} records (checkpoint size {cp.size}) to {directory}")


def _export_entries(path: Path) -> Iterator[LogEntry]:
    with path.open("rb") as lines:
        for line in lines:
            yield LogEntry(line[:-1] if line.endswith(b"\n") else line)


@audit_app.command("verify")
def verify(
    database: DatabaseOption = None,
    export_dir: Annotated[
        Path | None,
        typer.Option("--export", help="导出目录 / verify an `audit export` directory", exists=True,
                     file_okay=False),
    ] = None,
    since: Annotated[
        Path | None,
        typer.Option("--since", help="先前保存的检查点 / a checkpoint saved earlier",
                     exists=True, dir_okay=False),
    ] = None,
    key: Annotated[
        list[Path] | None,
        typer.Option("--key", help="可信验证密钥 / trusted verifier key file (repeatable)",
                     exists=True, dir_okay=False),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="校验进程数 / processes checking the record signatures (default: one per "
            "core; a log of up to 2,000 records is checked in this one)",
        ),
    ] = os.cpu_count() or 1,
) -> None:
    """校验日志 / Check every signature, leaf hash, the root and checkpoint, and --since."""
    if database is not None and export_dir is not None:
        raise _fail("use either --database or --export, not both", code=2)
    earlier = since.read_text(encoding="utf-8") if since is not None else None
    if export_dir is not None:
        files = list(key or [])
        if not files:
            files = [p for p in (export_dir / VERIFIER_KEY, export_dir / PREVIOUS_KEYS)
                     if p.exists()]
        try:
            ring = _keys(files)
            note = (export_dir / CHECKPOINT).read_text(encoding="utf-8")
        except (AuditError, OSError) as exc:
            raise _fail(f"错误 / error: {exc}") from None
        report = verify_log(
            _export_entries(export_dir / RECORDS), note, ring, since=earlier, workers=workers
        )
    else:
        engine = _engine(database)
        try:
            _, configured, origin = _configured()
            ring = _keys(list(key)) if key else configured
            if not key:
                typer.echo("(trusting this installation's configured log keys; pass --key "
                           "verifier.key to trust only the key you hold)", err=True)
            log = DecisionLog(engine, None, ring, origin=origin)
            latest = log.latest()
            if latest is None:
                raise _fail("NOT verified: the log has no signed checkpoint")
            report = verify_log(
                log.entries(latest.size), latest.note, ring, since=earlier, workers=workers
            )
        except AuditError as exc:
            raise _fail(f"错误 / error: {exc}") from None
        finally:
            engine.dispose()
    typer.echo(report.render(), nl=False)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("replay")
def replay(
    decision_id: Annotated[
        str | None, typer.Argument(help="决定编号 / decision (application) id")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="重放全部 / replay every decision")] = False,
    database: DatabaseOption = None,
) -> None:
    """重放决定 / Decide again from the recorded inputs and ruleset version; report differences."""
    if (decision_id is None) == (not all_):
        raise _fail("give a decision ID or --all (not both)", code=2)
    engine = _engine(database)

    def texts(digest: str) -> tuple[str, str] | None:
        with Session(engine) as s:
            row = s.get(RulesetText, digest)
            return None if row is None else (row.text, row.path)

    replayer = Replayer(texts)
    log = DecisionLog(engine, None, Keyring(), origin="replay")
    results: list[ReplayResult] = []
    try:
        if decision_id is not None:
            results.append(replayer.replay(record_of_leaf(log.record_of(decision_id).leaf)))
            typer.echo(results[0].render())
        else:
            size = log.size()
            with typer.progressbar(
                log.entries(size), length=size, label="重放 / replaying"
            ) as entries:
                for entry in entries:
                    results.append(replayer.replay(record_of_leaf(entry.leaf)))
            for result in results:
                if not result.same:
                    typer.echo(result.render())
    except ApprovalsError as exc:
        raise _fail(f"错误 / error: {exc}") from None
    finally:
        engine.dispose()
    differ = sum(not r.same for r in results)
    typer.echo(
        f"重放 {len(results)} 项，{len(results) - differ} 项相同，{differ} 项不同 / "
        f"{len(results)} replayed, {len(results) - differ} same, {differ} different"
    )
    if differ:
        raise typer.Exit(1)
