"""``--set PATH=VALUE`` (and sweep grids): setting one field of a scenario by its dotted path.

* Any field the schema knows can be set, also when the scenario leaves it, or a parent of
  it, at its default: ``--set policy.queue=sjf`` on a scenario without ``policy`` creates
  ``policy: {queue: sjf}`` (the other policy fields keep their defaults). A missing parent
  mapping starts empty; a missing list (``policy.placement.scores.0.weight``) starts as its
  default value, so its items can be indexed.
* A list grows by one item with ``+`` as the last part, or with the index one past its end
  (``sites.+={name: X, nodes: [...]}``, ``sites.16={...}`` on a 16-site scenario,
  ``sites.0.nodes.+={gpu: B300, gpus_per_node: 8, count: 10}``); any other index out of
  range is an error that says which indices exist.
* A typo in a key is not caught here but by the schema, which then names the key (and the
  closest known one): the override only places the value.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from scheduler.errors import InputError, Problem

__all__ = ["APPEND", "apply_override", "point_at_overrides", "resolved_path"]

APPEND = "+"
"""Last part of a path that appends its value to the list there."""


def _is_index(part: str) -> bool:
    return part == APPEND or part.lstrip("-").isdigit()


def _list_index(node: list[Any], part: str, here: str, last: bool) -> int:
    """The index ``part`` names in ``node``: ``len(node)`` means append (last part only)."""
    size = len(node)
    if part == APPEND or (part.isdigit() and int(part) == size):
        if not last:
            raise InputError(f"{part!r} appends a new item and must end the path; append the "
                             "whole item, then set its fields with a second --set",
                             f"--set {here}")
        return size
    if not part.lstrip("-").isdigit() or not -size <= int(part) < size:
        items = f"{size} item{'s' if size != 1 else ''}"
        indices = f"indices 0 to {size - 1}; " if size else ""
        raise InputError(f"no list index {part!r} here (the list has {items}: {indices}"
                         f"{size} or '+' appends one)", f"--set {here}")
    return int(part) % size


def _default_list(data: dict[str, Any], parts: list[str], here: str) -> list[Any]:
    """The default value of the list at ``parts`` (absent from ``data``), from the schema."""
    from pydantic import ValidationError

    from scheduler.scenario import Scenario

    try:
        full: Any = Scenario.model_validate(data).model_dump(mode="json", exclude_none=True)
        for part in parts:
            full = full[int(part)] if isinstance(full, list) else full[part]
    except (ValidationError, KeyError, IndexError, ValueError, TypeError):
        full = None
    if not isinstance(full, list):
        from scheduler.schema_keys import known_keys
        from scheduler.suggest import did_you_mean

        known = known_keys(parts[:-1])
        if known and parts[-1] not in known:
            raise InputError(f"unknown path: {parts[-1]!r} is not a field here"
                             f"{did_you_mean(parts[-1], known)}", f"--set {here}")
        raise InputError("not set in the scenario and without a default list: set the whole "
                         f"list ({here}=[...])", f"--set {here}")
    return copy.deepcopy(full)


def apply_override(data: Any, dotted: str, value: Any) -> Any:
    """Set ``dotted`` (``sites.0.pue``) in the nested dicts and lists of ``data`` (changed in
    place and returned); see the module docstring for defaults and appends. Raises
    :class:`InputError` naming ``--set PATH`` for a path that cannot be placed."""
    parts = dotted.split(".")
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[: depth + 1])
        if not part:
            raise InputError("unknown path: an empty key (two dots in a row, or a dot at an "
                             "end)", f"--set {here}")
        if isinstance(node, list):
            index = _list_index(node, part, here, last)
            if index == len(node):
                node.append(value)
            elif last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                continue
            if node.get(part) is None:  # left at its default: start from that default
                node[part] = (_default_list(data, parts[: depth + 1], here)
                              if _is_index(parts[depth + 1]) else {})
            node = node[part]
        else:
            raise InputError(f"cannot descend into a {type(node).__name__}", f"--set {here}")
    return data


def resolved_path(data: Any, dotted: str) -> str:
    """``dotted`` with an append (``+`` or one past the end) replaced by the index the item
    got, once :func:`apply_override` has placed it (``sites.+`` -> ``sites.16``)."""
    parts = dotted.split(".")
    node = data
    out = []
    for part in parts:
        if isinstance(node, list) and _is_index(part):
            index = len(node) - 1 if part == APPEND or int(part) >= len(node) else int(part)
            out.append(str(index % max(len(node), 1)))
            node = node[index] if node else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out)


def point_at_overrides(problems: Iterable[Problem],
                       overrides: Sequence[tuple[str, str]]) -> list[Problem]:
    """``problems`` with each one about an overridden field (or one under it) located at the
    option that set it: ``--set policy.queue=sjff: policy.queue: unknown ...`` instead of a
    file line the user did not write. ``overrides``: (dotted path, the option's text); the
    last option setting a path wins, as it does when the options are applied."""
    out = []
    for problem in problems:
        where = problem.where or ""
        field = where.rsplit(": ", 1)[-1]
        owner = None
        if not where.startswith("--set "):
            for path, text in overrides:
                if field == path or field.startswith(path + "."):
                    owner = text
        out.append(problem if owner is None else Problem(f"--set {owner}: {field}",
                                                          problem.message))
    return out
