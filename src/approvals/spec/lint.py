"""Check the three data folders together: rulesets, connectors and licences.

Each folder validates on its own when loaded; this module checks what they say about
each other, so a ruleset that reads `person.brith_date`, a dataset no connector
serves, or a licence type no issuer may issue fails at review, not on the first
citizen's application.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from approvals.engine.expr import Attr, Call, Name, Node, children, parse
from approvals.engine.functions import ITEMWISE
from approvals.errors import ApprovalsError, SpecError, SpecErrors
from approvals.licence import TrustList
from approvals.licence.errors import TrustListError
from approvals.sources.verify import METADATA
from approvals.spec.catalog import Catalog, LoadedRuleset, collect
from approvals.spec.connectors import ConnectorConfig, input_errors, load_connectors
from approvals.spec.ruleset import DatasetInput, LicenceInput
from approvals.spec.yamlfile import did_you_mean, line_of, load_model

Fields = dict[str, set[str]]


@dataclass(frozen=True)
class Project:
    catalog: Catalog
    connectors: ConnectorConfig
    trust: TrustList


def lint(root: Path) -> Project:
    """Load `rulesets/`, `connectors/` and `licences/` under `root`; raise every error at once."""
    return lint_paths(root / "rulesets", root / "connectors", root / "licences")


def lint_paths(rulesets_path: Path, connectors_path: Path, licences_path: Path) -> Project:
    """Lint rulesets (a folder or one file) against the given connector and licence folders."""
    connectors: ConnectorConfig | None = None
    trust: TrustList | None = None
    rulesets, errors = collect(rulesets_path)
    try:
        connectors = load_connectors(connectors_path)
    except SpecErrors as exc:
        errors.extend(exc.errors)
    try:
        trust = TrustList.load(licences_path)
    except TrustListError as exc:
        errors.append(SpecError(exc.path, exc.line, exc.detail))
    if connectors is not None and trust is not None:
        errors.extend(input_errors(rulesets, connectors, list(trust.types)))
        for ruleset in rulesets:
            errors.extend(field_errors(ruleset, connectors, trust))
            errors.extend(issue_errors(ruleset, trust))
    if errors:
        raise SpecErrors(errors)
    assert connectors is not None and trust is not None
    return Project(Catalog(rulesets), connectors, trust)


def input_fields(ruleset: LoadedRuleset, connectors: ConnectorConfig, trust: TrustList) -> Fields:
    """The record fields each input (and each derived list filtered from it) carries."""
    fields: Fields = {}
    for name, source in ruleset.spec.inputs.items():
        if isinstance(source, DatasetInput) and source.dataset in connectors.datasets:
            fields[name] = {f.name for f in connectors.datasets[source.dataset].fields}
        elif isinstance(source, LicenceInput) and source.type in trust.types:
            fields[name] = {f.name for f in trust.licence_type(source.type).fields} | set(METADATA)
    for name, expr in ruleset.spec.derived.items():
        node = _safe_parse(expr)
        # filter(xs, ...) keeps the records of xs, so their fields carry over.
        if isinstance(node, Call) and node.func == "filter" and node.args:
            first = node.args[0]
            if isinstance(first, Name) and first.name in fields:
                fields[name] = fields[first.name]
    return fields


def field_errors(
    ruleset: LoadedRuleset, connectors: ConnectorConfig, trust: TrustList
) -> Iterator[SpecError]:
    """`person.brith_date` or `any(records, it.categroy ...)`: a field the record lacks."""
    fields = input_fields(ruleset, connectors, trust)
    _, _, lines = load_model(type(ruleset.spec), ruleset.text, ruleset.path)
    spec = ruleset.spec
    places: list[tuple[tuple[str | int, ...], str]] = []
    places += [(("form", i, "autofill"), f.autofill) for i, f in enumerate(spec.form) if f.autofill]
    places += [(("derived", name), expr) for name, expr in spec.derived.items()]
    places += [(("checks", i, "when"), c.when) for i, c in enumerate(spec.checks)]
    places += [(("issues", "grant", k), v) for k, v in spec.issues.grant.items()]
    if spec.issues.licence is not None:
        places += [
            (("issues", "licence", "fields", k), v) for k, v in spec.issues.licence.fields.items()
        ]
    for loc, expr in places:
        node = _safe_parse(expr)
        if node is None:
            continue
        for record, field in _field_reads(node, fields):
            known = fields[record]
            if field in known:
                continue
            hint = did_you_mean(field, known)
            label = ".".join(str(p) for p in loc)
            yield SpecError(
                ruleset.path,
                line_of(lines, loc),
                f"{label}: '{record}' records have no field '{field}'{hint}",
            )


def issue_errors(ruleset: LoadedRuleset, trust: TrustList) -> Iterator[SpecError]:
    """What an approval issues must be a licence type the named issuer may issue."""
    licence = ruleset.spec.issues.licence
    if licence is None:
        return
    _, _, lines = load_model(type(ruleset.spec), ruleset.text, ruleset.path)
    if licence.type not in trust.types:
        yield SpecError(
            ruleset.path,
            line_of(lines, ("issues", "licence", "type")),
            f"issues.licence.type: unknown licence type '{licence.type}' "
            f"(known: {', '.join(sorted(trust.types))})",
        )
        return
    spec = trust.licence_type(licence.type)
    if licence.issuer not in spec.issuers:
        yield SpecError(
            ruleset.path,
            line_of(lines, ("issues", "licence", "issuer")),
            f"issues.licence.issuer: '{licence.issuer}' may not issue {licence.type} "
            f"(allowed: {', '.join(spec.issuers)})",
        )
    declared = {f.name for f in spec.fields}
    given = set(licence.fields)
    for name in sorted(given - declared):
        yield SpecError(
            ruleset.path,
            line_of(lines, ("issues", "licence", "fields", name)),
            f"issues.licence.fields.{name}: {licence.type} has no field '{name}' "
            f"(fields: {', '.join(sorted(declared))})",
        )
    for name in sorted(f.name for f in spec.fields if f.required and f.name not in given):
        yield SpecError(
            ruleset.path,
            line_of(lines, ("issues", "licence", "fields")),
            f"issues.licence.fields: missing required field '{name}' of {licence.type}",
        )


def _field_reads(node: Node, fields: Fields) -> Iterable[tuple[str, str]]:
    """(record name, field) for `record.field` and for `it.field` over a known record list."""

    def walk(n: Node, it_record: str | None) -> Iterator[tuple[str, str]]:
        if isinstance(n, Attr) and isinstance(n.target, Name):
            base = n.target.name
            if base == "it" and it_record is not None:
                yield it_record, n.name
            elif base in fields:
                yield base, n.name
            return
        if isinstance(n, Call):
            inner = it_record
            if n.func in ITEMWISE and n.args and isinstance(n.args[0], Name):
                inner = n.args[0].name if n.args[0].name in fields else None
            for i, arg in enumerate(n.args):
                yield from walk(arg, inner if i > 0 else it_record)
            return
        for child in children(n):
            yield from walk(child, it_record)

    return walk(node, None)


def _safe_parse(expr: str) -> Node | None:
    try:
        return parse(expr)
    except ApprovalsError:
        return None  # reported by the ruleset's own validation
