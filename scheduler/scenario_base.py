"""Base pieces of the scenario schema: the strict model base and unit-carrying types."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from scheduler.units import parse_power, parse_time

_TIME_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(s|sec|m|min|h|d|w)?\s*$"},
    ],
    "description": 'seconds, or a string with a unit: "90s", "2h", "14d"',
}
_POWER_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(W|kW|MW|GW)?\s*$"},
    ],
    "description": 'watts, or a string with a unit: "700W", "2.5kW", "500MW"',
}

Seconds = Annotated[float, BeforeValidator(parse_time), WithJsonSchema(_TIME_SCHEMA)]
"""A time in seconds; accepts human units in the file."""
Watts = Annotated[float, BeforeValidator(parse_power), WithJsonSchema(_POWER_SCHEMA)]
"""A power in watts; accepts human units in the file."""


class StrictModel(BaseModel):
    """Base: unknown keys are errors, no silent type coercion, docstrings feed the schema."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True
    )


def plugin_tag(value: Any, builtins: Collection[str]) -> str:
    """Tag of a ``{type: ...}`` block in a tagged union of built-ins and a user fallback:
    ``[name]`` for a built-in, ``[user]`` otherwise (dicts before validation, models after)."""
    name = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"[{name}]" if isinstance(name, str) and name in builtins else "[user]"
