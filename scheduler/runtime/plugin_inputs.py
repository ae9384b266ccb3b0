"""Inputs that placement plugins read, each computed only when a configured plugin needs it.

A plugin declares the names it reads (``needs`` at registration, :class:`gpu.plugins.Plugin`);
each name is provided by one function registered here: a *site* input is an array over sites
(``ctx.site_arrays``), a *class* input an array over the job classes being scored
(``ctx.jobs.extra``). A new score that needs a new input is one registration of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from scheduler.jobs import KIND_NAMES
from scheduler.power import KIND_POWER_FACTOR, PowerModel
from scheduler.runtime.job_classes import JobClass
from scheduler.signals import Signal


class InputSource(Protocol):
    """What input functions read: the run's models and the state they depend on."""

    power: PowerModel
    carbon: list[Signal | None]
    price: list[Signal | None]
    sizes_seen: np.ndarray | None

    @property
    def now(self) -> float: ...

    def site_rtt(self, workload: int) -> np.ndarray | None: ...

    def site_replicas(self, workload: int) -> np.ndarray | None: ...


SiteInput = Callable[[InputSource], np.ndarray | None]
ClassInput = Callable[[InputSource, list[JobClass]], np.ndarray | None]


@dataclass(frozen=True)
class InputSpec:
    name: str
    scope: str
    """``site`` (array over sites) or ``class`` (rows: job classes)."""
    fn: Any
    standard: bool
    """Provided to plugins that do not declare their needs (``needs=None``)."""


_INPUTS: dict[str, InputSpec] = {}


def register_input(name: str, scope: str, standard: bool = True,
                   replace: bool = False) -> Callable[[Any], Any]:
    """Decorator: ``fn(source)`` (site scope) or ``fn(source, classes)`` (class scope) gives
    input ``name``, or None when it does not exist in this run (plugins then see no key)."""
    if scope not in {"site", "class"}:
        raise ValueError(f"scope must be 'site' or 'class' (got {scope!r})")

    def decorate(fn: Any) -> Any:
        if name in _INPUTS and not replace:
            raise ValueError(f"placement input {name!r} is already registered")
        _INPUTS[name] = InputSpec(name, scope, fn, standard)
        return fn
    return decorate


def inputs_needed(needs: list[tuple[str, ...] | None]) -> list[InputSpec]:
    """The inputs a set of plugins reads (undeclared needs: every standard input)."""
    names: set[str] = set()
    for declared in needs:
        if declared is None:
            names.update(n for n, spec in _INPUTS.items() if spec.standard)
        else:
            names.update(declared)
    unknown = names - set(_INPUTS)
    if unknown:
        raise ValueError(f"unknown placement inputs {sorted(unknown)}; registered: "
                         f"{sorted(_INPUTS)}")
    return [_INPUTS[n] for n in sorted(names)]


# --------------------------------------------------------------------------- site inputs


@register_input("pue", "site")
def _pue(source: InputSource) -> np.ndarray:
    return source.power.pue


def _signal_now(signals: list[Signal | None], now: float) -> np.ndarray | None:
    if not any(s is not None for s in signals):
        return None
    return np.array([s.value_at(now) if s is not None else 0.0 for s in signals])


@register_input("carbon_g_per_kwh", "site")
def _carbon(source: InputSource) -> np.ndarray | None:
    return _signal_now(source.carbon, source.now)


@register_input("price_eur_per_mwh", "site")
def _price(source: InputSource) -> np.ndarray | None:
    return _signal_now(source.price, source.now)


@register_input("size_share", "site", standard=False)
def _size_share(source: InputSource) -> np.ndarray | None:
    """P(size = k) over the jobs seen so far (last bucket: larger than any node)."""
    seen = source.sizes_seen
    if seen is None or not seen.any():
        return None
    share: np.ndarray = seen / seen.sum()
    return share


# --------------------------------------------------------------------------- class inputs


@register_input("power_w_per_gpu_by_type", "class")
def _power_per_gpu(source: InputSource, classes: list[JobClass]) -> np.ndarray:
    """[classes, types]: extra watts per GPU over idle, times the kind's factor."""
    extra = source.power.extra_w_per_gpu
    return np.stack([extra * KIND_POWER_FACTOR[KIND_NAMES[c.kind]] for c in classes])


@register_input("speed_by_type", "class")
def _speed(source: InputSource, classes: list[JobClass]) -> np.ndarray:
    return np.stack([c.speed_by_type for c in classes])


@register_input("site_rtt_s", "class")
def _site_rtt(source: InputSource, classes: list[JobClass]) -> np.ndarray | None:
    """[classes, sites]: user round trip of a service's replicas (zeros for other jobs)."""
    rows = [source.site_rtt(c.workload) for c in classes]
    if any(r is None for r in rows):
        return None
    return np.stack(rows)  # type: ignore[arg-type]


@register_input("site_replicas", "class", standard=False)
def _site_replicas(source: InputSource, classes: list[JobClass]) -> np.ndarray | None:
    """[classes, sites]: a service's replicas running per site now (per pick)."""
    rows = [source.site_replicas(c.workload) for c in classes]
    if any(r is None for r in rows):
        return None
    return np.stack(rows)  # type: ignore[arg-type]
