"""Bad scenarios: exit code 2, one line per problem with file:line and field path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli, tiny_scenario


def write(tmp_path: Path, data, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def errors_for(tmp_path: Path, data, *extra: str) -> list[str]:
    code, out, err = run_cli("validate", str(write(tmp_path, data)), *extra)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines)
    return lines


def with_workload(**changes):
    data = tiny_scenario()
    data["workloads"][0].update(changes)
    return data


CASES = [
    ("unknown top key", tiny_scenario(colour="blue"), "colour: unknown key"),
    ("unknown nested key", with_workload(speed=3), "workloads.0.speed: unknown key"),
    ("zero count", None, "sites.0.nodes.0.count: Input should be greater than or equal to 1"),
    ("negative rate", with_workload(arrival={"process": "poisson", "rate_per_hour": -2}),
     "workloads.0.arrival.rate_per_hour"),
    ("bad unit", tiny_scenario(duration="3 fortnights"), "duration: unknown time unit"),
    ("bad duration unit", with_workload(duration="2x"), "workloads.0.duration: unknown time unit"),
    ("unknown distribution", with_workload(duration={"distribution": "weibull", "mean": "1h"}),
     "workloads.0.duration: expected a time"),
    ("unknown GPU type", None, "sites.1.nodes.0.gpu: unknown GPU type 'Z100'"),
    ("empty sites", tiny_scenario(sites=[]), "sites: List should have at least 1 item"),
    ("GPU type nobody has", with_workload(gpu_types=["MI300X"]),
     "workloads.0.gpu_types.0: no site has MI300X nodes"),
    ("count as float", None, "sites.0.nodes.0.count: Input should be a valid integer"),
    ("string for int", with_workload(gpus="eight"), "workloads.0.gpus: Input should be a valid integer"),
    ("weights mismatch", with_workload(gpus={"choice": [1, 2], "weights": [1]}),
     "weights has 1 entries but choice has 2"),
    ("duplicate sites", None, "site name 'A' is used 2 times"),
    ("duplicate workloads", None, "workload name 'small' is used 2 times"),
    ("missing workloads", {k: v for k, v in tiny_scenario().items() if k != "workloads"},
     "workloads: required field is missing"),
    ("huge count", None, "sites.0.nodes.0.count"),
    ("pue below 1", None, "sites.0.pue: Input should be greater than or equal to 1"),
    ("too many jobs", with_workload(arrival={"process": "poisson", "rate_per_hour": 1e9}),
     "the limit is"),
]


def _prepare(name: str, data):
    if data is not None:
        return data
    data = tiny_scenario()
    if name == "zero count":
        data["sites"][0]["nodes"][0]["count"] = 0
    elif name == "unknown GPU type":
        data["sites"][1]["nodes"][0]["gpu"] = "Z100"
    elif name == "count as float":
        data["sites"][0]["nodes"][0]["count"] = 2.5
    elif name == "duplicate sites":
        data["sites"][1]["name"] = "A"
    elif name == "duplicate workloads":
        data["workloads"][1]["name"] = "small"
    elif name == "huge count":
        data["sites"][0]["nodes"][0]["count"] = 10**12
    elif name == "pue below 1":
        data["sites"][0]["pue"] = 0.9
    return data


@pytest.mark.parametrize(("name", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_scenario(tmp_path, name, data, expected):
    lines = errors_for(tmp_path, _prepare(name, data))
    assert any(expected in line for line in lines), lines


def test_every_problem_reported_at_once_with_lines(tmp_path):
    data = tiny_scenario(duration="2q")
    data["sites"][0]["nodes"][0]["count"] = 0
    data["workloads"][1]["gpus"] = "x"
    lines = errors_for(tmp_path, data)
    assert len(lines) == 3, lines
    path = str(tmp_path / "s.yaml")
    assert all(line.startswith(f"error: {path}:") for line in lines), lines
    # The duration key is on a known line of the dumped YAML.
    text = (tmp_path / "s.yaml").read_text().splitlines()
    duration_line = next(i for i, t in enumerate(text, 1) if t.startswith("duration:"))
    assert any(f"s.yaml:{duration_line}: duration:" in line for line in lines), lines


def test_yaml_syntax_error_has_line(tmp_path):
    lines = errors_for(tmp_path, "name: x\nsites: [\n  {name: A\nworkloads: 3\n")
    assert len(lines) == 1 and "YAML syntax error" in lines[0] and "s.yaml:" in lines[0]


@pytest.mark.parametrize("content", ["", "# only a comment\n", "[1, 2]\n", "just text\n"])
def test_empty_or_not_a_mapping(tmp_path, content):
    lines = errors_for(tmp_path, content)
    assert len(lines) == 1


def test_binary_garbage(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\x00\x01\xff" * 50)
    code, _, err = run_cli("validate", str(path))
    assert code == 2 and "binary" in err


def test_missing_file(tmp_path):
    code, _, err = run_cli("run", str(tmp_path / "nope.yaml"))
    assert code == 2 and "file not found" in err


def test_alias_bomb_is_refused(tmp_path):
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        bomb.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, "
                    f"*{prev}, *{prev}, *{prev}, *{prev}]")
    lines = errors_for(tmp_path, "\n".join(bomb) + "\n")
    assert "refusing to load" in lines[0]


def test_deep_nesting_is_refused(tmp_path):
    lines = errors_for(tmp_path, "a: " + "[" * 200 + "]" * 200 + "\n")
    assert "nested deeper" in lines[0]


def test_nan_and_infinity(tmp_path):
    data = tiny_scenario()
    text = yaml.safe_dump(data, sort_keys=False).replace("rate_per_hour: 20", "rate_per_hour: .nan")
    lines = errors_for(tmp_path, text)
    assert any("workloads.0.arrival.rate_per_hour: must be a finite number" in x for x in lines)


def test_unknown_set_path(tmp_path):
    path = write(tmp_path, tiny_scenario())
    code, _, err = run_cli("run", str(path), "--set", "sites.7.pue=1.3")
    assert code == 2 and "--set sites.7" in err
    code, _, err = run_cli("run", str(path), "--set", "policy.colour=red")
    assert code == 2 and "policy.colour: unknown key" in err
    code, _, err = run_cli("run", str(path), "--set", "nothing")
    assert code == 2 and "PATH=VALUE" in err


def test_bad_cli_option_is_one_line():
    code, _, err = run_cli("run")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_cupy_backend_unavailable_is_input_error(tmp_path):
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    code, _, err = run_cli("run", str(write(tmp_path, tiny_scenario())), "--backend", "cupy")
    assert code == 2 and "CuPy cannot be imported" in err and len(err.strip().splitlines()) == 1


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    path = write(tmp_path, tiny_scenario(duration="-5h"))
    proc = subprocess.run([sys.executable, "-m", "scheduler", "run", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "duration" in proc.stderr
