"""Load every ruleset under `rulesets/`, check it as a whole, and find the one in force.

A file is accepted only when it validates as a `Ruleset`, every expression parses and
names something that exists, and every check compiles to durable_rules for every
parameter period. Errors are collected across files, each as `file:line: message`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from approvals.engine.compile import CompiledCheck, compile_check, durable_definition
from approvals.engine.expr import functions_called, names_used, parse
from approvals.engine.functions import ALL_FUNCTIONS
from approvals.errors import ApprovalsError, NotFound, SpecError, SpecErrors
from approvals.spec.ruleset import DatasetInput, Ruleset
from approvals.spec.yamlfile import Path as YamlPath
from approvals.spec.yamlfile import did_you_mean, line_of, load_model

CASES_SUFFIX = ".cases.yaml"
SCOPE_ROOTS = {"today", "applicant", "form", "params"}


@dataclass(frozen=True)
class Period:
    """The checks compiled with the parameter values in force from `start`."""

    start: dt.date
    parameters: dict[str, Any]
    checks: tuple[CompiledCheck, ...]
    durable: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class LoadedRuleset:
    spec: Ruleset
    path: str
    text: str
    hash: str
    periods: tuple[Period, ...] = field(repr=False)

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def version(self) -> str:
        return self.spec.version

    def period_on(self, day: dt.date) -> Period:
        current = self.periods[0]
        for period in self.periods:
            if period.start <= day:
                current = period
        return current


def ruleset_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_ruleset_text(text: str, file: str) -> LoadedRuleset:
    """Validate and compile one ruleset file's text. Raises `SpecErrors`."""
    spec, _data, lines = load_model(Ruleset, text, file)
    errors = list(_semantic_errors(spec, lines, file))
    periods: list[Period] = []
    if not errors:
        for start in spec.parameter_periods():
            params = spec.parameters_on(start)
            compiled: list[CompiledCheck] = []
            for i, check in enumerate(spec.checks):
                try:
                    compiled.append(compile_check(check.id, check.when, params))
                except ApprovalsError as exc:
                    errors.append(
                        SpecError(
                            file,
                            line_of(lines, ("checks", i, "when")),
                            f"checks[{i}] '{check.id}' (parameters from {start}): {exc}",
                        )
                    )
            if compiled and len(compiled) == len(spec.checks):
                after = {c.id: c.after for c in spec.checks}
                periods.append(
                    Period(start, params, tuple(compiled), durable_definition(compiled, after))
                )
    if errors:
        raise SpecErrors(errors)
    return LoadedRuleset(spec, file, text, ruleset_hash(text), tuple(periods))


def load_ruleset(path: Path, root: Path | None = None) -> LoadedRuleset:
    shown = (
        str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)
    )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecErrors([SpecError(shown, None, f"cannot read: {exc}")]) from exc
    return load_ruleset_text(text, shown)


def ruleset_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.yaml") if not p.name.endswith(CASES_SUFFIX))


class Catalog:
    """Every loaded ruleset version, by item code."""

    def __init__(self, rulesets: Iterable[LoadedRuleset]) -> None:
        self._by_code: dict[str, list[LoadedRuleset]] = {}
        self._by_hash: dict[str, LoadedRuleset] = {}
        for loaded in rulesets:
            self._by_code.setdefault(loaded.code, []).append(loaded)
            self._by_hash[loaded.hash] = loaded
        for versions in self._by_code.values():
            versions.sort(key=lambda r: r.spec.effective.start)

    @classmethod
    def load(cls, path: Path) -> Catalog:
        loaded, errors = collect(path)
        if errors:
            raise SpecErrors(errors)
        return cls(loaded)

    def codes(self) -> list[str]:
        return sorted(self._by_code)

    def versions(self, code: str) -> list[LoadedRuleset]:
        if code not in self._by_code:
            raise NotFound(f"no item '{code}' (items: {', '.join(self.codes())})")
        return list(self._by_code[code])

    def in_force(self, code: str, day: dt.date) -> LoadedRuleset:
        """The version whose effective dates cover `day`."""
        for loaded in reversed(self.versions(code)):
            if loaded.spec.effective.covers(day):
                return loaded
        raise NotFound(f"item '{code}' has no ruleset version in force on {day.isoformat()}")

    def latest(self, code: str) -> LoadedRuleset:
        return self.versions(code)[-1]

    def by_hash(self, digest: str) -> LoadedRuleset | None:
        return self._by_hash.get(digest)

    def __iter__(self) -> Any:
        return iter(self.latest(code) for code in self.codes())


def collect(path: Path) -> tuple[list[LoadedRuleset], list[SpecError]]:
    """Every ruleset under `path` that loads, and the errors of those that do not."""
    loaded: list[LoadedRuleset] = []
    errors: list[SpecError] = []
    root = path if path.is_dir() else path.parent
    for file in ruleset_files(path):
        try:
            loaded.append(load_ruleset(file, root.parent))
        except SpecErrors as exc:
            errors.extend(exc.errors)
    errors.extend(_overlaps(loaded))
    return loaded, errors


def _overlaps(loaded: list[LoadedRuleset]) -> list[SpecError]:
    errors: list[SpecError] = []
    by_code: dict[str, list[LoadedRuleset]] = {}
    for r in loaded:
        by_code.setdefault(r.code, []).append(r)
    for versions in by_code.values():
        versions.sort(key=lambda r: r.spec.effective.start)
        for earlier, later in itertools.pairwise(versions):
            if earlier.version == later.version:
                errors.append(
                    SpecError(
                        later.path, None, f"version '{later.version}' is also in {earlier.path}"
                    )
                )
            end = earlier.spec.effective.end
            if end is None or end >= later.spec.effective.start:
                errors.append(
                    SpecError(
                        later.path,
                        None,
                        f"effective dates overlap {earlier.path} (version {earlier.version}): "
                        f"give the earlier version an end date before {later.spec.effective.start}",
                    )
                )
    return errors


def _semantic_errors(spec: Ruleset, lines: dict[YamlPath, int], file: str) -> Iterable[SpecError]:
    """Expressions parse, call known functions and read names that exist."""
    form_names = {f.name for f in spec.form}
    known: set[str] = SCOPE_ROOTS | set(spec.inputs)

    def check(expr: str, loc: YamlPath, defined: set[str]) -> Iterable[SpecError]:
        where = line_of(lines, loc)
        label = ".".join(str(p) for p in loc)
        try:
            node = parse(expr)
        except ApprovalsError as exc:
            yield SpecError(file, where, f"{label}: {exc}")
            return
        for func in functions_called(node):
            if func not in ALL_FUNCTIONS:
                hint = did_you_mean(func, ALL_FUNCTIONS)
                yield SpecError(file, where, f"{label}: unknown function '{func}'{hint}")
        for path in names_used(node):
            root = path[0]
            if root not in defined:
                hint = did_you_mean(root, defined)
                yield SpecError(file, where, f"{label}: unknown fact '{root}'{hint}")
            elif root == "form" and len(path) > 1 and path[1] not in form_names:
                hint = did_you_mean(path[1], form_names)
                yield SpecError(file, where, f"{label}: unknown form field '{path[1]}'{hint}")
            elif root == "params" and len(path) > 1 and path[1] not in spec.parameters:
                hint = did_you_mean(path[1], spec.parameters)
                yield SpecError(file, where, f"{label}: unknown parameter '{path[1]}'{hint}")

    for name, source in spec.inputs.items():
        key = source.key if isinstance(source, DatasetInput) else source.holder
        field_name = "key" if isinstance(source, DatasetInput) else "holder"
        yield from check(key, ("inputs", name, field_name), {"applicant", "form", "today"})
    for i, form_field in enumerate(spec.form):
        if form_field.autofill:
            yield from check(form_field.autofill, ("form", i, "autofill"), known)
    defined = set(known)
    for name, expr in spec.derived.items():
        yield from check(expr, ("derived", name), defined)
        defined.add(name)
    for i, rule in enumerate(spec.checks):
        yield from check(rule.when, ("checks", i, "when"), defined)
    for name, expr in spec.issues.grant.items():
        yield from check(expr, ("issues", "grant", name), defined)
    if spec.issues.licence is not None:
        lic = spec.issues.licence
        for fname, expr in lic.fields.items():
            yield from check(expr, ("issues", "licence", "fields", fname), defined)
        for attr in ("valid_from", "valid_to"):
            value = getattr(lic, attr)
            if value is not None:
                yield from check(value, ("issues", "licence", attr), defined)
