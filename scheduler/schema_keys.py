"""The keys the scenario schema accepts at a field path (for did-you-mean hints).

Walks the pydantic model classes from :class:`~scheduler.scenario.Scenario` along a
validation error's location: field names and aliases lead into their annotation; list
indices and mapping keys into the item type; union tags (``[choice]``, a workload kind)
keep the candidates. Unions are followed into every member, so the answer is the union of
the keys of every model that could be at that place.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

__all__ = ["known_keys"]


def _members(annotation: Any) -> list[Any]:
    """``annotation`` without Annotated / Optional / Union wrappers: its alternatives."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """Accepted key -> annotation of one model (names and aliases)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        out[name] = field.annotation
        if field.alias:
            out[field.alias] = field.annotation
    return out


def _step(candidates: list[Any], part: Any) -> list[Any]:
    """The types found one location part further in."""
    found: list[Any] = []
    for annotation in candidates:
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = _fields(annotation).get(str(part))
            if field is not None:
                found.extend(_members(field))
            else:  # a union tag in the location: the same candidates stay
                found.append(annotation)
        elif origin in (list, tuple, set, frozenset) and args:
            found.extend(_members(args[0]))
        elif origin is dict and len(args) == 2:
            found.extend(_members(args[1]))
    return found


def known_keys(location: Iterable[Any]) -> set[str]:
    """Keys accepted in the mapping at ``location`` (a pydantic error's ``loc`` without its
    last part); empty when the walk finds no model there."""
    from scheduler.scenario import Scenario

    candidates: list[Any] = [Scenario]
    for part in location:
        candidates = _step(candidates, part)
    return {key for annotation in candidates
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            for key in _fields(annotation)}
