"""Read YAML keeping each value's line, so errors can say `file:line: message`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from approvals.errors import SpecError, SpecErrors

M = TypeVar("M", bound=BaseModel)
Path = tuple[str | int, ...]


class Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false are booleans.

    YAML 1.1 also reads on/off/yes/no as booleans, which turns a case's `on:` date key
    (and the country code NO) into True: rule authors should never meet that.
    """


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _LineLoader(Loader):
    """Records where each mapping key and value starts."""


def _read(text: str, file: str) -> tuple[Any, dict[Path, int]]:
    lines: dict[Path, int] = {}
    try:
        root = yaml.compose(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecErrors([SpecError(file, line, f"not valid YAML: {problem}")]) from exc
    if root is None:
        raise SpecErrors([SpecError(file, 1, "the file is empty")])

    def walk(node: yaml.Node, path: Path) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                lines[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    walk(root, ())
    data = yaml.load(text, Loader=Loader)
    return data, lines


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest candidate, or nothing when none is close."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def line_of(lines: dict[Path, int], loc: Iterable[str | int]) -> int | None:
    """The line of the deepest part of `loc` that exists in the file."""
    path: Path = tuple(str(p) if not isinstance(p, int) else p for p in loc)
    while path:
        if path in lines:
            return lines[path]
        # date keys are stored by their source text; pydantic reports them as text too
        path = path[:-1]
    return lines.get((), 1)


def load_model(model: type[M], text: str, file: str) -> tuple[M, Any, dict[Path, int]]:
    """Parse `text` as YAML and validate it as `model`; errors name file, line and field."""
    data, lines = _read(text, file)
    try:
        return model.model_validate(data), data, lines
    except ValidationError as exc:
        known = _field_names(model)
        raise SpecErrors([_spec_error(err, file, lines, known) for err in exc.errors()]) from exc


def _spec_error(err: Any, file: str, lines: dict[Path, int], known: set[str]) -> SpecError:
    # pydantic puts the union tag ("platform", "licences") in the location; a reader
    # of the YAML file never wrote it, so drop it.
    loc = [p for p in err["loc"] if p not in ("platform", "licences")]
    field = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        message = f"{field}: unknown field '{loc[-1]}'{did_you_mean(str(loc[-1]), known)}"
    elif err["type"] == "missing":
        message = f"{field}: missing required field '{loc[-1]}'"
    else:
        message = f"{field}: {err['msg']}"
        if not isinstance(err.get("input"), dict | list) and "input" in err:
            message += f" (found {err['input']!r})"
    return SpecError(file, line_of(lines, loc), message)


def _field_names(model: type[BaseModel]) -> set[str]:
    """Every field name (and alias) reachable from `model`, for 'did you mean' hints."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()

    def visit(cls: type[BaseModel]) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for name, info in cls.model_fields.items():
            names.add(info.alias or name)
            for arg in _types_in(info.annotation):
                visit(arg)

    visit(model)
    return names


def _types_in(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_types_in(arg))
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        found.extend(_types_in(origin))
    return found
