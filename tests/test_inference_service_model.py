"""Services that name a ``model``: replica figures from the performance model, end to end."""

from __future__ import annotations

import pytest
from conftest import SCENARIOS, run_cli

from scheduler import load_scenario, simulate
from scheduler.inference.capacity import replica_model
from scheduler.inference.models import TokenLengths, workload_tokens
from scheduler.inference.service_perf import service_performance
from scheduler.scenario import InferenceWorkload, Scenario

CHAT_IN, CHAT_OUT = workload_tokens("chat")


def fleet(**service: object) -> dict[str, object]:
    chat = {"name": "chat", "kind": "inference", "requests": {"rate_per_second": 40},
            "model": "llama-3.1-70b", "replica_gpus": 2, "gpu_types": ["H100", "B200"],
            "tpot_target": 0.05, **service}
    return {"name": "svc", "seed": 3, "duration": "1h",
            "sites": [{"name": "A", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 8},
                                              {"gpu": "B200", "gpus_per_node": 8, "count": 8}]}],
            "workloads": [chat]}


def service(data: dict[str, object]) -> InferenceWorkload:
    workload = Scenario.model_validate(data).workloads[0]
    assert isinstance(workload, InferenceWorkload)
    return workload


def test_model_sets_slots_tpot_prefill_and_speedup() -> None:
    found = service_performance(service(fleet()), ["H100", "B200"])
    h100, _ = replica_model("llama-3.1-70b", "H100", 2, "fp8", CHAT_IN, CHAT_OUT, 0.05)
    b200, _ = replica_model("llama-3.1-70b", "B200", 2, "fp8", CHAT_IN, CHAT_OUT, 0.05)
    assert found.reference == "H100"  # the first of gpu_types
    assert (found.model.slots, found.model.decode_s_per_token) == (h100.slots,
                                                                  h100.decode_s_per_token)
    assert found.model.prefill_tokens_per_s == pytest.approx(h100.prefill_tokens_per_s)
    # A B200 replica counts as this many H100 replicas: the ratio of their capacities.
    assert found.speedup["H100"] == 1.0
    assert found.speedup["B200"] == pytest.approx(b200.capacity_rps() / h100.capacity_rps())
    assert found.speedup["B200"] > 1.5


def test_explicit_keys_still_win() -> None:
    found = service_performance(service(fleet(slots=16, speedup={"H100": 1.0, "B200": 2.0})),
                                ["H100", "B200"])
    assert found.model.slots == 16
    assert found.speedup == {"H100": 1.0, "B200": 2.0}
    plain = service_performance(service(fleet(model=None)), ["H100", "B200"])
    assert (plain.model.slots, plain.model.decode_s_per_token) == (32, 0.03)  # old defaults


def test_default_token_lengths_agree_with_the_calibrated_chat_mix() -> None:
    workload = service(fleet())
    assert TokenLengths(workload.input_tokens.median, workload.input_tokens.sigma) == CHAT_IN
    assert TokenLengths(workload.output_tokens.median, workload.output_tokens.sigma) == CHAT_OUT


def test_engine_uses_the_model_figures() -> None:
    data = fleet(gpu_types=["B200"])  # one type: speed 1, so the TPOT is the model's
    details = simulate(data).details["services"]["chat"]
    found = service_performance(service(data), ["H100", "B200"])
    assert found.reference == "B200"
    assert details["tpot_s"] == pytest.approx(found.model.decode_s_per_token, rel=1e-12)
    assert details["tpot_s"] <= 0.05


@pytest.mark.parametrize(("change", "where", "says"), [
    ({"model": "gpt-9"}, "workloads.0.model", "unknown model 'gpt-9'"),
    ({"model": "llama-3.1-405b", "replica_gpus": 1}, "workloads.0", "does not fit"),
    ({"gpu_types": None}, "workloads.0", None),  # H100 and B200 both have figures: fine
    ({"tpot_target": 0.001}, "workloads.0", "cannot meet a TPOT"),
])
def test_bad_models_are_input_errors(tmp_path, change, where, says) -> None:
    import json

    path = tmp_path / "s.json"
    path.write_text(json.dumps(fleet(**change)))
    code, _, err = run_cli("validate", str(path))
    if says is None:
        assert code == 0, err
        return
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and says in lines[0] and "Traceback" not in err


def test_inference_gpus_scenario_orders_replicas_and_energy() -> None:
    services = simulate(load_scenario(SCENARIOS / "inference-gpus.yaml")).details["services"]
    replicas = [services[f"chat-{g}"]["mean_ready_replicas"] for g in ("h100", "h200", "b200")]
    energy = [services[f"chat-{g}"]["energy_kwh_per_1k_requests"] for g in ("h100", "h200", "b200")]
    assert replicas[0] > replicas[1] > replicas[2]
    assert energy[0] > energy[1] > energy[2]
