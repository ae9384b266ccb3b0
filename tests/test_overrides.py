"""--set and sweep grids (issue 18, item 6): every defaulted field can be set, lists grow
with '+' (or the index one past the end), and errors name the option."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import SCENARIOS, run_cli, tiny_scenario

from scheduler.errors import InputError, Problem
from scheduler.loading import validate_data
from scheduler.overrides import apply_override, point_at_overrides, resolved_path

NEW_SITE = {"name": "New", "nodes": [{"gpu": "H100", "gpus_per_node": 8, "count": 2}]}


def without_policy() -> dict:
    data = tiny_scenario()
    del data["policy"]
    return data


def leaves(value, path=()):
    """Every (path, value) of a JSON-like tree whose value is a scalar or an empty container."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*path, str(index)))
    else:
        yield path, value


def present(data, path) -> bool:
    """Whether the file sets ``path`` (or a parent of it in a short form: ``queue: fifo``)."""
    node = data
    for part in path:
        if not isinstance(node, dict | list):
            return True
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


@pytest.mark.parametrize("name", ["mmc.yaml", "carbon-aware.yaml"])
def test_every_field_left_at_its_default_can_be_set(name):
    """For each field a scenario leaves at its default, setting it to that default value
    through --set gives the same scenario (so the path is accepted and placed right)."""
    raw = yaml.safe_load((SCENARIOS / name).read_text())
    full = validate_data(copy.deepcopy(raw), base_dir=SCENARIOS).model_dump(
        mode="json", exclude_none=True)
    tried = 0
    for path, value in leaves(full):
        if present(raw, path):
            continue
        data = apply_override(copy.deepcopy(raw), ".".join(path), copy.deepcopy(value))
        again = validate_data(data, base_dir=SCENARIOS).model_dump(mode="json",
                                                                    exclude_none=True)
        assert again == full, ".".join(path)
        tried += 1
    assert tried > 20  # policy options, placement, network... are defaults in these files


def test_policy_queue_on_a_scenario_without_policy():
    data = apply_override(without_policy(), "policy.queue", "sjf")
    assert data["policy"] == {"queue": "sjf"}
    assert validate_data(data).policy.queue_name == "sjf"


def test_default_list_items_can_be_indexed():
    data = apply_override(without_policy(), "policy.placement.scores.0.weight", 3)
    scenario = validate_data(data)
    assert scenario.policy.placement.scores[0].weight == 3


@pytest.mark.parametrize("index", ["+", "2"])
def test_append_a_site(index):
    data = tiny_scenario()
    assert len(data["sites"]) == 2
    apply_override(data, f"sites.{index}", copy.deepcopy(NEW_SITE))
    assert [s["name"] for s in data["sites"]][-1] == "New" and len(data["sites"]) == 3
    assert resolved_path(data, f"sites.{index}") == "sites.2"
    assert validate_data(data).sites[2].name == "New"


def test_append_a_node_group():
    data = tiny_scenario()
    groups = len(data["sites"][0]["nodes"])
    apply_override(data, "sites.0.nodes.+", {"gpu": "B200", "gpus_per_node": 8, "count": 4})
    assert validate_data(data).sites[0].nodes[groups].gpu == "B200"


@pytest.mark.parametrize(("path", "message"), [
    ("sites.5", "no list index '5' here (the list has 2 items: indices 0 to 1; 2 or '+' "
                "appends one)"),
    ("sites.+.pue", "'+' appends a new item and must end the path"),
    ("sites.2.pue", "'2' appends a new item and must end the path"),
    ("policy.placement.scorez.0.weight", "unknown path: 'scorez' is not a field here; did "
                                         "you mean 'scores'?"),
])
def test_bad_appends_and_paths_say_what_to_do(path, message):
    with pytest.raises(InputError) as caught:
        apply_override(without_policy(), path, 1)
    assert message in str(caught.value)


def test_point_at_overrides():
    problems = [Problem("s.yaml:3: policy.queue", "unknown"), Problem("s.yaml:4: name", "bad"),
                Problem("--set sites.9", "no index")]
    moved = point_at_overrides(problems, [("policy", "policy={queue: x}")])
    assert [str(p) for p in moved] == ["--set policy={queue: x}: policy.queue: unknown",
                                       "s.yaml:4: name: bad", "--set sites.9: no index"]


def write(tmp_path, data, name="s.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_cli_errors_name_the_option_and_suggest(tmp_path):
    path = write(tmp_path, without_policy())
    cases = {
        "policy.queue=sjff": "error: --set policy.queue=sjff: policy.queue: unknown queue "
                             "policy 'sjff'",
        "durtion=3h": "error: --set durtion=3h: durtion: unknown key (not part of the "
                      "scenario schema); did you mean 'duration'?",
        "polcy.queue=sjf": "error: --set polcy.queue=sjf: polcy: unknown key",
        "sites.0.nodes.0.gpu=h100": "error: --set sites.0.nodes.0.gpu=h100: "
                                    "sites.0.nodes.0.gpu: unknown GPU type 'h100'",
        "sites.0.pue=abc": "error: --set sites.0.pue=abc: sites.0.pue: Input should be",
    }
    for option, expected in cases.items():
        code, _, err = run_cli("validate", str(path), "--set", option)
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(expected), (option, err)
    _, _, err = run_cli("validate", str(path), "--set", "policy.queue=sjff")
    assert err.rstrip().endswith("did you mean 'sjf'?")
    _, _, err = run_cli("validate", str(path), "--set", "sites.0.nodes.0.gpu=h100")
    assert err.rstrip().endswith("did you mean 'H100'?")


def test_unknown_key_in_a_file_suggests_the_closest(tmp_path):
    data = tiny_scenario()
    data["workloads"][0]["arival"] = data["workloads"][0].pop("arrival")
    code, _, err = run_cli("validate", str(write(tmp_path, data)))
    assert code == 2 and "workloads.0.arival: unknown key" in err
    assert "did you mean 'arrival'?" in err


def test_cli_runs_with_an_appended_site_and_a_defaulted_policy(tmp_path):
    path = write(tmp_path, without_policy())
    code, out, err = run_cli("validate", str(path), "--set", "policy.queue=sjf", "--set",
                             "sites.+=" + yaml.safe_dump(NEW_SITE, default_flow_style=True))
    assert code == 0, err
    assert "New: 16 GPUs" in out and "queue sjf" in out


def test_sweep_grid_over_a_defaulted_policy_and_appended_sites(tmp_path):
    from scheduler.sweeps import plan_sweep

    write(tmp_path, without_policy(), "base.yaml")
    other = dict(NEW_SITE, name="Other")
    spec = {"scenario": "base.yaml", "seeds": [1],
            "grid": {"policy.queue": ["fifo", "sjf"], "sites.+": [NEW_SITE, other]}}
    plan = plan_sweep(write(tmp_path, spec, "sweep.yaml"))
    assert len(plan.points) == 4
    names = sorted({point.scenario["sites"][-1]["name"] for point in plan.points})
    assert names == ["New", "Other"]


def test_the_capacity_sweep_example_plans_its_runs():
    """scenarios/sweep-capacity.yaml (docs/sweeps.md): 3 node counts x 4 seeds."""
    from scheduler.sweeps import plan_sweep

    plan = plan_sweep(SCENARIOS / "sweep-capacity.yaml")
    assert plan.parameters == ["sites.0.nodes.0.count"]
    assert [p.params["sites.0.nodes.0.count"] for p in plan.points] == [115, 173, 230]
    assert len(plan.runs) == 12
    assert {p.scenario["sites"][0]["name"] for p in plan.points} == {"Cambrai-Epinoy"}
