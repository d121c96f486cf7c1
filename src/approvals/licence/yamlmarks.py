"""Load YAML keeping the line of every value, to report `file:line: message`.

PyYAML's composer records a start mark on every node. We build the plain Python value
and, alongside it, a map from each value's path (keys and list indexes) to its
1-based line, so a pydantic error location can be turned into a line number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from approvals.licence.errors import TrustListError

Path_ = tuple[str | int, ...]


def load_with_lines(path: Path) -> tuple[Any, dict[Path_, int]]:
    """Parse one YAML document; return (value, {path: line})."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise TrustListError(path, line, f"not valid YAML: {problem}") from exc
    if node is None:
        raise TrustListError(path, 1, "the file is empty")
    lines: dict[Path_, int] = {}
    loader = yaml.SafeLoader("")

    def walk(current: yaml.Node, where: Path_) -> Any:
        lines[where] = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in current.value:
                key = loader.construct_object(key_node, deep=True)
                if key in out:
                    raise TrustListError(
                        path, key_node.start_mark.line + 1, f"key {key!r} appears twice"
                    )
                out[key] = walk(value_node, (*where, str(key)))
                lines[(*where, str(key))] = key_node.start_mark.line + 1
            return out
        if isinstance(current, yaml.SequenceNode):
            return [walk(item, (*where, i)) for i, item in enumerate(current.value)]
        return loader.construct_object(current, deep=True)

    try:
        return walk(node, ()), lines
    finally:
        loader.dispose()


def line_of(lines: dict[Path_, int], where: tuple[Any, ...]) -> int | None:
    """The line of the deepest known ancestor of `where` (pydantic's error `loc`)."""
    loc: Path_ = tuple(x if isinstance(x, int) else str(x) for x in where)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())
