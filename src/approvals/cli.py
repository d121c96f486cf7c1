"""The `approvals` command. Human output is Chinese with English alongside; `--json` is for tools.

approvals items list [--json]
approvals items lint [PATH]
approvals items schema [--output FILE]
approvals items test [PATH]
approvals prefill ITEM --applicant ID [--on DATE] [--fixtures FILE] [--json]
approvals decide ITEM --applicant ID [--form FILE] [--on DATE] [--fixtures FILE] [--json]
approvals serve [--host 127.0.0.1] [--port 8000]
approvals audit checkpoint | export DIR | verify [...] | replay (ID | --all)
approvals sources check [--sandbox] [--json]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from approvals.cli_audit import audit_app
from approvals.cli_sources import sources_app
from approvals.errors import ApprovalsError, SpecError, SpecErrors
from approvals.licence import id_number as id_numbers
from approvals.licence.errors import LicenceError
from approvals.spec.catalog import Catalog
from approvals.spec.ruleset import Ruleset

app = typer.Typer(
    help="深圳政务服务秒批秒报 / Instant decisions on Shenzhen government service items.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
items_app = typer.Typer(
    help="事项 / Service items: list, lint, test, schema.", no_args_is_help=True
)
app.add_typer(items_app, name="items")
app.add_typer(audit_app, name="audit")
app.add_typer(sources_app, name="sources")

T = TypeVar("T")

RulesetsOption = Annotated[
    Path | None, typer.Option("--rulesets", help="规则目录 / rulesets directory")
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON 输出 / print JSON")]
FixturesOption = Annotated[
    Path | None,
    typer.Option("--fixtures", help="沙箱数据文件 / sandbox fixture file (JSON)", exists=True),
]
OnOption = Annotated[
    str | None,
    typer.Option("--on", help="申请日期 / application date YYYY-MM-DD (default: today, CST)"),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _catalog(path: Path | None) -> Catalog:
    from approvals.api.settings import default_rulesets_dir

    try:
        return Catalog.load(path or default_rulesets_dir())
    except SpecErrors as exc:
        raise _fail(str(exc)) from None


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False))


def _applicant(number: str) -> str:
    if not id_numbers.is_valid(number):
        raise _fail(
            f"公民身份号码无效 / invalid citizen ID number {number!r}: expected 17 digits, "
            "a real birth date and the GB 11643 check character (ISO 7064 MOD 11-2)",
            code=2,
        )
    return number


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _fail(f"日期格式错误 / --on expects YYYY-MM-DD, found {text!r}", code=2) from None


# -- items ------------------------------------------------------------------------------


@items_app.command("list")
def items_list(rulesets: RulesetsOption = None, as_json: JsonOption = False) -> None:
    """列出事项 / List every item (the latest version of each)."""
    from approvals.api.items import item_summary

    catalog = _catalog(rulesets)
    rows = [item_summary(loaded) for loaded in catalog]
    if as_json:
        _print_json({"items": rows})
        return
    for row in rows:
        typer.echo(
            f"{row['code']}  {row['name']['zh']} / {row['name']['en']}  "
            f"[{row['kind']}] {row['department']['zh']}  v{row['version']}"
        )
    typer.echo(f"共 {len(rows)} 项 / {len(rows)} item(s)")


@items_app.command("lint")
def items_lint(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="项目目录或规则文件 / project dir (rulesets/, connectors/, licences/) "
            "or a ruleset file or folder"
        ),
    ] = None,
) -> None:
    """检查规则、连接器与证照文件 / Check ruleset, connector and licence files."""
    errors, counts = lint(path)
    if errors:
        for error in errors:
            typer.echo(str(error))
        raise _fail(f"发现 {len(errors)} 个错误 / {len(errors)} error(s)")
    typer.echo(
        f"全部有效 / all valid: {counts['rulesets']} ruleset file(s), "
        f"{counts['datasets']} dataset connector(s), {counts['licence_types']} licence type(s), "
        f"{counts['issuers']} issuer(s)"
    )


def lint(path: Path | None) -> tuple[list[SpecError], dict[str, int]]:
    """Every problem in the data folders, as `file:line: message` errors.

    A project directory (with `rulesets/`) is checked whole; a ruleset file or folder is
    checked against the default `connectors/` and `licences/`.
    """
    from approvals.api.settings import REPOSITORY
    from approvals.licence import licences_dir
    from approvals.spec import lint as spec_lint
    from approvals.spec.connectors import connectors_dir

    root = path if path is not None else (Path.cwd() if Path("rulesets").is_dir() else REPOSITORY)
    try:
        if root.is_dir() and (root / "rulesets").is_dir():
            project = spec_lint.lint(root)
        else:
            project = spec_lint.lint_paths(root, connectors_dir(), licences_dir())
    except SpecErrors as exc:
        return exc.errors, {}
    catalog = project.catalog
    return [], {
        "rulesets": sum(len(catalog.versions(c)) for c in catalog.codes()),
        "datasets": len(project.connectors.datasets),
        "licence_types": len(project.trust.types),
        "issuers": len(project.trust.issuers),
    }


@items_app.command("test")
def items_test(
    path: Annotated[
        Path | None,
        typer.Argument(help="规则文件或目录 / a ruleset file or folder (default: rulesets/)"),
    ] = None,
) -> None:
    """运行事项测试用例 / Run each ruleset's cases (<item>.cases.yaml) through the engine."""
    from approvals.api.settings import REPOSITORY
    from approvals.engine.cases import cases_path, run_file
    from approvals.engine.runtime import Engine
    from approvals.spec.catalog import ruleset_files

    root = path if path is not None else REPOSITORY / "rulesets"
    engine = Engine()
    passed = failed = 0
    try:
        for ruleset in ruleset_files(root):
            if not cases_path(ruleset).exists():
                typer.echo(f"{ruleset}: 没有测试用例 / no cases file beside it")
                failed += 1
                continue
            for result in run_file(engine, ruleset):
                if result.passed:
                    passed += 1
                    continue
                failed += 1
                typer.echo(f"FAIL {ruleset}: {result.case.name}")
                for problem in result.problems:
                    typer.echo(f"     {problem}")
    except SpecErrors as exc:
        for error in exc.errors:
            typer.echo(str(error))
        raise _fail(f"发现 {len(exc.errors)} 个错误 / {len(exc.errors)} error(s)") from exc
    typer.echo(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@items_app.command("schema")
def items_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="写入文件 / write to FILE")
    ] = None,
) -> None:
    """规则文件的 JSON Schema / JSON Schema of the ruleset format (for editors)."""
    schema = Ruleset.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    text = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"已写入 / written: {output}")


# -- prefill and decide -----------------------------------------------------------------


def _run(fixtures: Path | None, database: str, job: Callable[[Any], Awaitable[T]]) -> T:
    """Run `job(service)` against the sandbox in-process, closing everything afterwards."""
    from approvals.api.settings import Settings
    from approvals.api.wiring import wire

    settings = Settings.from_env().with_(
        fixtures=fixtures, database_url=database, sources_base_url=None
    )

    async def main() -> T:
        wired = wire(settings)
        try:
            return await job(wired.service)
        finally:
            await wired.aclose()

    try:
        return asyncio.run(main())
    except (ApprovalsError, LicenceError) as exc:
        raise _fail(f"错误 / error: {exc}") from None


@app.command("prefill")
def prefill(
    item: Annotated[str, typer.Argument(help="事项代码 / item code")],
    applicant: Annotated[str, typer.Option("--applicant", help="公民身份号码 / citizen ID")],
    on: OnOption = None,
    fixtures: FixturesOption = None,
    as_json: JsonOption = False,
) -> None:
    """预填表单（秒报）/ The form filled from government data, with provenance."""
    number, day = _applicant(applicant), _date(on)

    async def job(service: Any) -> Any:
        return await service.prefill(item, number, day)

    result = _run(fixtures, "sqlite://", job)
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
    if as_json:
        _print_json(data)
        return
    fields = data.get("fields", data) if isinstance(data, dict) else data
    _print_json(fields)


@app.command("decide")
def decide(
    item: Annotated[str, typer.Argument(help="事项代码 / item code")],
    applicant: Annotated[str, typer.Option("--applicant", help="公民身份号码 / citizen ID")],
    form: Annotated[
        Path | None,
        typer.Option("--form", help="申请人填写的表单 / form JSON file", exists=True),
    ] = None,
    on: OnOption = None,
    fixtures: FixturesOption = None,
    database: Annotated[
        str,
        typer.Option("--database", help="保存决定的数据库 / store the decision (default: memory)"),
    ] = "sqlite://",
    as_json: JsonOption = False,
) -> None:
    """即时决定（秒批）/ Decide one application against the sandbox data sources."""
    from approvals.service import Submission, answer

    number, day = _applicant(applicant), _date(on)
    submitted: dict[str, Any] = {}
    if form is not None:
        try:
            submitted = json.loads(form.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _fail(f"表单文件无法读取 / cannot read --form {form}: {exc}", code=2) from None
        if not isinstance(submitted, dict):
            raise _fail(f"表单须为 JSON 对象 / --form {form} must hold a JSON object", code=2)

    async def job(service: Any) -> dict[str, Any]:
        outcome = await service.submit(Submission(number, item, submitted, on=day))
        return answer(outcome.stored)

    result = _run(fixtures, database, job)
    if as_json:
        _print_json(result)
        return
    _print_decision(result)


OUTCOME_ZH = {"approve": "准予（通过）", "reject": "不予（驳回）", "refer": "转人工审核"}


def _print_decision(result: dict[str, Any]) -> None:
    rs = result["ruleset"]
    typer.echo(f"事项 / item: {result['item']['name']['zh']} / {result['item']['name']['en']}")
    typer.echo(f"决定 / outcome: {OUTCOME_ZH[result['outcome']]} / {result['outcome']}")
    typer.echo(f"申请日期 / application date: {result['application_date']}")
    typer.echo(f"规则 / ruleset: {rs['code']} v{rs['version']} {rs['hash']}")
    for reason in result["reasons"]:
        typer.echo(f"  - [{reason['code']}] {reason['zh']} / {reason['en']}")
    if result.get("issues"):
        typer.echo(f"给予 / grants: {json.dumps(result['issues'], ensure_ascii=False)}")
    for lic in result["licences"]:
        typer.echo(f"证照 / licence: {lic['licence_id']} ({lic['status']})")
    typer.echo(f"决定编号 / decision id: {result['id']}")


# -- serve ------------------------------------------------------------------------------


@app.command("bench")
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="短时冒烟 / a short smoke run")] = False,
    out: Annotated[Path, typer.Option("--out", help="报告目录 / where performance.md goes")] = Path(
        "docs"
    ),
) -> None:
    """性能基准 / Benchmarks against the peers and the limits; writes OUT/performance.md."""
    from approvals.bench.__main__ import main as bench_main

    argv = ["--out", str(out)] + (["--quick"] if quick else [])
    code = bench_main(argv)
    if code:
        raise typer.Exit(code)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="监听地址 / listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口 / port")] = 8000,
    fixtures: FixturesOption = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="工作进程数 / worker processes sharing the port and the database "
            "(one per core: durable_rules holds the GIL, so one process uses one core)",
        ),
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="每个请求记一行访问日志 / log one line per request (uvicorn's access "
            "log; off where a proxy in front logs requests already)",
        ),
    ] = True,
    providers_only: Annotated[
        bool,
        typer.Option(
            "--providers-only",
            help="只运行沙箱数据提供方 / serve only the sandbox data platform and licence "
            "store (at /sandbox/platform and /sandbox/licences), on a lean host: for a "
            "connector's integration tests, or as stand-ins on another port "
            "($APPROVALS_SOURCES_BASE_URL)",
        ),
    ] = False,
) -> None:
    """启动服务（含沙箱）/ Run the API with the sandbox mounted; SQLite under ./var/."""
    import uvicorn

    from approvals.api import Settings, create_app

    settings = Settings.from_env()
    if fixtures is not None:
        settings = settings.with_(fixtures=fixtures)
    loopback = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if providers_only:
        from approvals.sandbox.host import create_providers_app

        build: Callable[[Settings], Any] = create_providers_app
        factory = "approvals.sandbox.host:create_providers_app"
        banner = f"Approvals sandbox providers on http://{loopback}:{port}/sandbox/"
    else:
        if settings.sandbox and settings.sources_base_url is None:
            # The connectors call the mounted sandbox over real loopback HTTP, as they
            # would call the real platform.
            settings = settings.with_(sources_base_url=f"http://{loopback}:{port}")
        build, factory = create_app, "approvals.api.app:create_app"
        banner = f"Approvals 秒批 on http://{loopback}:{port}  (OpenAPI: /docs, /openapi.json)"
    try:
        application = build(settings)  # also checks the configuration before forking
    except (ApprovalsError, LicenceError) as exc:
        raise _fail(f"无法启动 / cannot start: {exc}") from None
    typer.echo(banner)
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level="info", access_log=access_log)
        return
    # Each worker builds its own app from the environment: hand it what was decided here.
    os.environ.update(settings.to_env())
    if not providers_only:
        typer.echo(f"{workers} worker processes; one of them signs the log's checkpoints")
    uvicorn.run(
        factory, factory=True, workers=workers,
        host=host, port=port, log_level="info", access_log=access_log,
    )


def main() -> None:
    app(prog_name="approvals")


if __name__ == "__main__":
    main()
