"""`approvals sources check`: each configured source, reachable, authenticated, serving
what the rulesets read. Exit 0 only when every check holds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from approvals.errors import ApprovalsError, SpecErrors

sources_app = typer.Typer(
    help="数据源 / Data sources: check the configured platform and licence store.",
    no_args_is_help=True,
)


@sources_app.command("check")
def sources_check(
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="检查进程内沙箱 / check the in-process sandbox instead"),
    ] = False,
    rulesets: Annotated[
        Path | None, typer.Option("--rulesets", help="规则目录 / rulesets directory")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON 输出 / print JSON")] = False,
) -> None:
    """检查数据源 / Is each source reachable, authenticated and serving the fields needed?

    Without --sandbox the sources are the ones connectors/ and the environment
    configure (APPROVALS_PLATFORM_URL, APPROVALS_LICENCES_URL, credentials), and the
    consent key is $APPROVALS_CONSENT_KEY_FILE (the sandbox key when APPROVALS_SANDBOX=1).
    """
    from approvals.api.settings import Settings, default_rulesets_dir
    from approvals.sources.check import check_sources
    from approvals.sources.factory import sources_for_sandbox, sources_from_config
    from approvals.sources.governed import consent_key_for
    from approvals.spec.catalog import Catalog

    try:
        settings = Settings.from_env()
        catalog = Catalog.load(rulesets or default_rulesets_dir())
        key = consent_key_for(settings.sandbox or sandbox)
        sources = sources_for_sandbox(consent=True) if sandbox else sources_from_config()
    except (ApprovalsError, SpecErrors) as exc:
        typer.echo(f"错误 / error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def run() -> list[dict[str, object]]:
        async with sources:
            return [c.as_json() for c in await check_sources(sources, list(catalog), key)]

    results = asyncio.run(run())
    failed = [r for r in results if not r["ok"]]
    if as_json:
        typer.echo(json.dumps({"ok": not failed, "checks": results}, ensure_ascii=False, indent=2))
    else:
        where = {"platform": sources.platform.base_url, "licences": sources.licences.base_url}
        for r in results:
            mark = "ok  " if r["ok"] else "FAIL"
            flags = " ".join(
                f"{name}={'yes' if r[name] else 'no'}"
                for name in ("reachable", "authenticated", "serving")
            )
            url = where[str(r["source"])]
            typer.echo(f"{mark} {r['source']:<8} {r['target']:<24} {flags}  {url}")
            for problem in r["problems"]:  # type: ignore[attr-defined]
                typer.echo(f"       - {problem}")
        typer.echo(
            f"{len(results) - len(failed)}/{len(results)} 项通过 / checks passed"
        )
    if failed:
        raise typer.Exit(1)
