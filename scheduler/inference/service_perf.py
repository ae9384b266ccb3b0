"""A service's replica figures from the performance model, when its workload names a ``model``.

The queueing model and the engine see a service through one :class:`ReplicaModel` (slots,
TPOT, prefill rate) at speed 1 and a relative speed per GPU type. With ``model`` set, both come
from :mod:`scheduler.inference.perf`:

- the *reference* type is the first of the workload's ``gpu_types`` (else the first GPU type
  of the scenario's sites); its replica model (largest batch within memory at the TPOT target,
  the TPOT at that batch, prefill rate of the mean prompt) is the service's model;
- every other type's speed is its replica's capacity (requests/s with every slot busy) over
  the reference's, so a replica on that type carries the right load; its slots and TPOT are
  the reference's (the queue model has one slot count per service: an approximation).

Keys the workload gives explicitly (``slots``, ``decode_s_per_token``,
``prefill_tokens_per_s``, ``speedup``) win over the model's figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.errors import Problem
from scheduler.inference.capacity import ReplicaPerformance, replica_model
from scheduler.inference.models import ReplicaModel, TokenLengths
from scheduler.inference.specs import ModelSpec, known_gpus, model_preset
from scheduler.scenario import InferenceWorkload, Scenario, ServiceModelSpec


@dataclass(frozen=True)
class ServicePerformance:
    """What a service runs with: its replica model at speed 1 and its speed per GPU type."""

    model: ReplicaModel
    speedup: dict[str, float]
    reference: str | None
    """GPU type the model's figures are for (None: no ``model``, the workload's own keys)."""
    by_type: dict[str, ReplicaPerformance]
    """The performance model's figures per GPU type (empty without ``model``)."""


def present_gpu_types(scenario: Scenario) -> list[str]:
    """GPU types of the scenario's node groups, in order of first appearance."""
    present: list[str] = []
    for site in scenario.sites:
        for group in site.nodes:
            if group.gpu not in present:
                present.append(group.gpu)
    return present


def model_spec(model: str | ServiceModelSpec) -> ModelSpec:
    """The :class:`ModelSpec` of a workload's ``model`` (preset name or architecture)."""
    if isinstance(model, str):
        return model_preset(model)
    return ModelSpec("custom", model.params, model.active_params or model.params, model.layers,
                     model.hidden, model.heads, model.kv_heads, model.head_dim, model.experts,
                     model.experts_per_token)


_CACHE: dict[tuple[str, frozenset[str], tuple[str, ...]], ServicePerformance] = {}
"""Figures already worked out (validation, the engine's job classes and the services all ask)."""


def service_performance(workload: InferenceWorkload, present: list[str]) -> ServicePerformance:
    """The service's figures; raises ValueError when ``model`` cannot serve on a GPU type.

    ``present``: the scenario's GPU types (:func:`present_gpu_types`), used when the workload
    lists no ``gpu_types``."""
    key = (workload.model_dump_json(), frozenset(workload.model_fields_set), tuple(present))
    if key not in _CACHE:
        if len(_CACHE) > 1024:  # sweeps build many scenarios: keep the memo bounded
            _CACHE.clear()
        _CACHE[key] = _compute(workload, present)
    return _CACHE[key]


def _compute(workload: InferenceWorkload, present: list[str]) -> ServicePerformance:
    tokens_in = TokenLengths(workload.input_tokens.median, workload.input_tokens.sigma)
    tokens_out = TokenLengths(workload.output_tokens.median, workload.output_tokens.sigma)
    given = workload.model_fields_set
    if workload.model is None:
        model = ReplicaModel(workload.prefill_tokens_per_s, workload.decode_s_per_token,
                             workload.slots, tokens_in, tokens_out)
        return ServicePerformance(model, dict(workload.speedup or {}), None, {})
    spec = model_spec(workload.model)
    candidates = list(workload.gpu_types or present)
    target = workload.tpot_target or workload.slo.tpot
    by_type: dict[str, ReplicaPerformance] = {}
    models: dict[str, ReplicaModel] = {}
    for gpu in candidates:
        if gpu not in known_gpus():
            raise ValueError(f"no inference figures for GPU type {gpu!r} (known: "
                             f"{', '.join(known_gpus())}); list the types replicas may use "
                             f"under gpu_types")
        models[gpu], by_type[gpu] = replica_model(spec, gpu, workload.replica_gpus,
                                                  workload.precision, tokens_in, tokens_out,
                                                  target)
    reference = candidates[0]
    base = models[reference]
    model = ReplicaModel(
        base.prefill_tokens_per_s if "prefill_tokens_per_s" not in given
        else workload.prefill_tokens_per_s,
        base.decode_s_per_token if "decode_s_per_token" not in given
        else workload.decode_s_per_token,
        base.slots if "slots" not in given else workload.slots, tokens_in, tokens_out)
    if "speedup" in given:
        speedup = dict(workload.speedup or {})
    else:
        speedup = {gpu: models[gpu].capacity_rps() / base.capacity_rps() for gpu in candidates}
    return ServicePerformance(model, speedup, reference, by_type)


def check_service_model(workload: InferenceWorkload, index: int,
                        present: list[str]) -> list[Problem]:
    """Problems with a service's ``model`` (none when it has none or it serves everywhere)."""
    if workload.model is None:
        return []
    if isinstance(workload.model, str):
        try:
            model_preset(workload.model)
        except ValueError as exc:
            return [Problem(f"workloads.{index}.model", str(exc))]
    elif (workload.model.heads % workload.model.kv_heads
          or workload.model.experts_per_token > workload.model.experts):
        return [Problem(f"workloads.{index}.model", "heads must be a multiple of kv_heads "
                        "and experts_per_token at most experts")]
    try:
        service_performance(workload, present)
    except ValueError as exc:
        return [Problem(f"workloads.{index}", str(exc))]
    return []
