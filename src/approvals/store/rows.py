"""Table objects built from values the service made itself, without SQLModel's __init__.

SQLModel's constructor sets every field through SQLAlchemy's attribute events and then
pydantic's `__setattr__` (table models are not validated either way). For the three or
four objects a decision builds that was ~30 µs each, several percent of a signed
decision's CPU (docs/performance.md). `build_row` does what SQLAlchemy's own loader
does for a row it reads: a new instance with its instance state, and the values put in
its `__dict__`. It makes the instance itself, too: SQLAlchemy's `new_instance` goes
through SQLModel's `__new__` and its Python `__setattr__` to attach the state, which
was still half of a `build_row` in a signed run (py-spy). The object reads, assigns
and flushes like one made by the constructor (tests/test_store_rows.py checks all
three against it for each table the service builds).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import class_mapper
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class _Plan:
    """What building one table's objects needs, worked out once per class: looking up
    the mapper, the fields and their defaults was about half of a 12 µs `build_row`."""

    manager: Any  # SQLAlchemy's ClassManager for the class
    state: Callable[[Any, Any], Any]  # its InstanceState constructor
    names: frozenset[str]
    fields: tuple[tuple[str, bool, Callable[[], Any]], ...]  # name, required, default


@functools.cache
def _plan(cls: type[SQLModel]) -> _Plan:
    # class_mapper configures the mappers first, as a constructor call or a query
    # would: an unconfigured class's attributes cannot be read (a new process that
    # builds a row before any ORM use).
    manager = class_mapper(cls).class_manager
    fields = tuple(
        (name, field.is_required(), functools.partial(field.get_default, call_default_factory=True))
        for name, field in cls.model_fields.items()
    )
    return _Plan(manager, manager._state_constructor, frozenset(cls.model_fields), fields)


def build_row(cls: type[M], **values: Any) -> M:
    """`cls(**values)` for a table model, minus the per-field events. Unknown names
    raise TypeError, missing required ones ValueError, as a mistake must not pass."""
    plan = _plan(cls)
    if not plan.names.issuperset(values):
        unknown = sorted(values.keys() - plan.names)
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}")
    # What ClassManager.new_instance and SQLModel.__new__ do, without their Python
    # __setattr__: the object, pydantic's slots, and the ORM's instance state.
    row: M = object.__new__(cls)
    object.__setattr__(row, "__pydantic_extra__", None)
    object.__setattr__(row, "__pydantic_private__", None)
    into = row.__dict__
    into["_sa_instance_state"] = plan.state(row, plan.manager)
    for name, required, default in plan.fields:  # in field order, as the constructor sets them
        if name in values:
            into[name] = values[name]
        elif required:
            raise ValueError(f"{cls.__name__}.{name} is required")
        else:
            into[name] = default()
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row
