"""Command-line polish (issue 18, item 9): --version, a quick --help (no heavy imports),
did-you-mean hints, human units in the summary table, --set errors naming the option."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, SCENARIOS, run_cli

import scheduler
from scheduler.cli import _build_parser, summary_table
from scheduler.cli_lazy import NAMED_ONLY_HELP, command_of
from scheduler.suggest import closest, did_you_mean, suggest_choice

HEAVY = ("numpy", "pandas", "simpy", "matplotlib", "pydantic", "yaml", "pyarrow", "scipy")


def imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_nothing_heavy():
    assert imported_after("import scheduler.cli") == []


def test_help_and_version_import_nothing_heavy():
    for argv in (["--help"], ["--version"], ["run", "--help"]):
        code = ("from scheduler.cli import main\ntry:\n    main(" + repr(argv) + ")\n"
                "except SystemExit:\n    pass")
        assert imported_after(code) == [], argv


def test_version():
    proc = subprocess.run([sys.executable, "-m", "scheduler", "--version"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"clustersim {scheduler.__version__}"
    import tomllib

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] \
        == scheduler.__version__


def _commands(parser) -> dict[str, str]:
    action = next(a for a in parser._actions if a.dest == "command")
    return {choice.dest: choice.help for choice in action._choices_actions}


def test_lazy_parser_lists_the_same_commands_as_the_full_one():
    light, full = _commands(_build_parser("")), _commands(_build_parser())
    assert light == full
    assert {name: full[name] for name in NAMED_ONLY_HELP} == NAMED_ONLY_HELP


def test_command_of():
    assert command_of(["--help"]) == ""
    assert command_of(["sweep", "x.yaml", "--out", "d"]) == "sweep"


def test_closest_names():
    assert closest("rnu", ["run", "validate", "report"]) == "run"
    assert closest("h100", ["H100", "H200"]) == "H100"  # case only
    assert closest("sjff", ["fifo", "sjf", "las"]) == "sjf"
    assert closest("banana", ["fifo", "sjf", "las"]) is None
    assert did_you_mean("durtion", ["duration", "drain"]) == "; did you mean 'duration'?"
    assert did_you_mean("xyz", ["duration"]) == ""


def test_suggest_choice_understands_both_argparse_spellings():
    old = "argument command: invalid choice: 'rnu' (choose from 'run', 'validate')"
    new = "argument command: invalid choice: 'rnu' (choose from run, validate)"
    for message in (old, new):
        assert suggest_choice(message).endswith("; did you mean 'run'?")
    assert suggest_choice("the following arguments are required: scenario") == \
        "the following arguments are required: scenario"


def test_unknown_subcommand_and_choice_suggest_the_name():
    code, _, err = run_cli("rnu", "x.yaml")
    assert code == 2 and "did you mean 'run'?" in err and err.count("\n") == 1
    code, _, err = run_cli("run", str(SCENARIOS / "mmc.yaml"), "--format", "cvs")
    assert code == 2 and "did you mean 'csv'?" in err


def test_human_units():
    from scheduler import human_units as hu

    assert hu.number(117300.0) == "117,300" and hu.number(12.34) == "12.3"
    assert hu.number(0.01234) == "0.0123" and hu.number(0.0) == "0"
    assert [hu.duration(s) for s in (3.014, 2226, 16884, 172800 * 1.75)] == \
        ["3.01 s", "37.1 min", "4.69 h", "3.50 d"]
    assert hu.energy_mwh(2009.4) == "2,009 MWh" and hu.energy_mwh(0.85) == "850 kWh"
    assert hu.tonnes(44.13) == "44.1 t" and hu.tonnes(0.5) == "500 kg"
    assert hu.money_eur(117300.0) == "117 k EUR" and hu.money_eur(1.48e6) == "1.48 M EUR"
    assert hu.money_eur(523.0) == "523 EUR"


def test_summary_table_has_no_exponent():
    summary = {"scenario": "s", "seed": 1, "backend": "numpy", "jobs_submitted": 17844,
               "jobs_completed": 17525, "jobs_rejected": 0, "jobs_unfinished": 319,
               "gpu_utilization": 0.416, "mean_wait_s": 2226.0, "p95_wait_s": 16884.0,
               "mean_jct_s": 9324.0, "p95_jct_s": 37080.0, "simulated_time_s": 604800.0,
               "wall_time_s": 5.92, "events": 38853, "energy_facility_mwh": 2009.4,
               "carbon_t": 44.13, "energy_cost_eur": 117300.0}
    text = summary_table(summary)
    assert "e+" not in text
    for shown in ("17,844", "37.1 min / 4.69 h", "7.00 d", "2,009 MWh", "44.1 t", "117 k EUR"):
        assert shown in text, shown
