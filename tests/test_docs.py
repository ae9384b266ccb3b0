"""The documentation stays true: its code runs, its generated pages are current, its links hold.

* Every fenced ``bash`` and ``python`` block of README.md and docs/*.md runs, in document
  order. Python blocks of one page share a fresh namespace (a page is a tutorial: later blocks
  use what earlier ones defined); bash blocks run line by line through a shell (``\\``
  continues a line), and may only run ``clustersim`` and ``python -m`` commands. Lines with
  ``pip install`` are skipped (the README's set-up lines). A ``yaml`` block whose first line
  is a comment naming a file (``# two-sites.yaml: ...``) is written to that file first, so
  the page's later commands can use it. Blocks that must not run use a ``console`` or
  ``text`` fence.
* The working folder is a scratch copy of the repository root: a temporary folder with a
  symbolic link to every top-level entry, so relative paths (``scenarios/mmc.yaml``) resolve
  as from the root while outputs (``out/``, ``sweep-out/``) land in the scratch folder.
* docs/scenario-reference.md equals what scripts/make_scenario_reference.py generates.
* ``python -m benchmarks.validate --quick`` passes every check.
* The getting-started worked example is a complete two-site scenario with an inference
  service and a carbon-aware policy, and it validates and runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
RUNNABLE = {"bash", "python"}
KNOWN_FENCES = {"", "bash", "python", "yaml", "console", "text", "csv", "json"}
ALLOWED_COMMANDS = ("clustersim", "python -m")
OUTPUT_NAMES = {".git", "out", "sweep-out", "runs"}
"""Top-level names not linked into the scratch copy: the docs write there."""
COMMAND_TIMEOUT_S = 300

FENCE = re.compile(r"^```([^\s`]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FILE_COMMENT = re.compile(r"^#\s*([\w.-]+\.ya?ml)\b")


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, text and the 1-based line of its first code line."""

    lang: str
    code: str
    line: int


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [Block(m.group(1).lower(), m.group(2), text.count("\n", 0, m.start(2)) + 1)
            for m in FENCE.finditer(text)]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _pages_with_code() -> list[Path]:
    return [p for p in PAGES if any(b.lang in RUNNABLE for b in blocks(p))]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the repository root made of symbolic links."""
    folder = tmp_path_factory.mktemp("docs-root")
    for entry in ROOT.iterdir():
        if entry.name not in OUTPUT_NAMES:
            (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return folder


def _commands(block: Block) -> list[tuple[int, str]]:
    """(line, command) for each logical line of a bash block, continuations joined."""
    out: list[tuple[int, str]] = []
    pending = ""
    start = block.line
    for offset, raw in enumerate(block.code.splitlines()):
        if not pending:
            start = block.line + offset
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command and not command.startswith("#"):
            out.append((start, command))
    return out


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MPLBACKEND"] = "Agg"
    return env


def _run_bash(block: Block, where: str, cwd: Path) -> None:
    for line, command in _commands(block):
        if "pip install" in command:
            continue
        program = command.split("#", 1)[0].strip()
        assert program.startswith(ALLOWED_COMMANDS), (
            f"{where}:{line}: docs bash blocks run only {' / '.join(ALLOWED_COMMANDS)} "
            f"commands (use a console fence for others): {command}")
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd,
                              env=_environment(), capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)
        assert done.returncode == 0, (
            f"{where}:{line}: `{command}` exited {done.returncode}\n"
            f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")


@contextlib.contextmanager
def _isolated_registries() -> Any:
    """Plugins and queue policies registered by a page are removed after it."""
    from gpu import plugins
    from scheduler import policies

    saved_plugins = dict(plugins._REGISTRY)
    saved_policies = dict(policies._POLICIES)
    try:
        yield
    finally:
        plugins._REGISTRY.clear()
        plugins._REGISTRY.update(saved_plugins)
        policies._POLICIES.clear()
        policies._POLICIES.update(saved_policies)


def _run_python(block: Block, where: str, namespace: dict[str, Any]) -> None:
    code = compile(block.code, f"{where}:{block.line}", "exec")
    # Line numbers in tracebacks: offset by the block's position in the page.
    code = code.replace(co_firstlineno=block.line)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, namespace)


@pytest.mark.parametrize("page", _pages_with_code(), ids=_rel)
def test_code_blocks_run(page: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    where = _rel(page)
    namespace: dict[str, Any] = {"__name__": f"docs:{page.stem}"}
    with _isolated_registries():
        for block in blocks(page):
            if block.lang == "yaml":
                first = block.code.lstrip().splitlines()[0] if block.code.strip() else ""
                match = FILE_COMMENT.match(first)
                if match:
                    (workspace / match.group(1)).write_text(block.code, encoding="utf-8")
            elif block.lang == "bash":
                _run_bash(block, where, workspace)
            elif block.lang == "python":
                _run_python(block, where, namespace)


def test_fences_are_known() -> None:
    """A misspelt language would silently skip a block: only known fences are allowed."""
    unknown = [f"{_rel(p)}:{b.line - 1}: ```{b.lang}" for p in PAGES for b in blocks(p)
               if b.lang not in KNOWN_FENCES]
    assert not unknown, "unknown code fences:\n" + "\n".join(unknown)


def test_readme_first_commands_are_kept() -> None:
    """The README's set-up lines are the project's contract with a new user."""
    setup = blocks(ROOT / "README.md")[0]
    assert setup.lang == "bash"
    assert setup.code.splitlines()[:2] == [
        "pip install -e . && clustersim run scenarios/hdf-2030-small.yaml",
        "pip install -e '.[dev]' && pytest",
    ]


LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_relative_links_resolve() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{_rel(page)}: {target}")
            elif anchor and file.suffix == ".md":
                text = file.read_text(encoding="utf-8")
                headings = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", text, re.MULTILINE)}
                if f'id="{anchor}"' not in text and anchor not in headings:
                    broken.append(f"{_rel(page)}: {target} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def _slug(heading: str) -> str:
    """GitHub-style heading anchor."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


# --------------------------------------------------------------------------- generated pages


def _reference_module() -> Any:
    name = "make_scenario_reference"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "scripts" / "make_scenario_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_scenario_reference_is_current() -> None:
    generated = _reference_module().render()
    committed = (DOCS / "scenario-reference.md").read_text(encoding="utf-8")
    assert committed == generated, (
        "docs/scenario-reference.md is stale: run python scripts/make_scenario_reference.py")


def test_every_scenario_field_is_described() -> None:
    missing = _reference_module().build().missing
    assert not missing, ("scenario fields without a description (add a docstring under the "
                         "field, then run python scripts/make_scenario_reference.py):\n"
                         + "\n".join(missing))


def test_validation_quick_subset_passes() -> None:
    from benchmarks import validate

    results = validate.run_all(quick=True)
    checks = [c for _, group_checks, _ in results for c in group_checks]
    assert len(checks) >= 30
    failed = [c for c in checks if not c.passed]
    assert not failed, "theory checks failed:\n" + validate.text_table(results)
    page = validate.markdown(results, quick=True, wall_s=0.0)
    assert page.count("| yes |") == len(checks)


def test_committed_validation_report_is_a_passing_full_run() -> None:
    text = (DOCS / "validation.md").read_text(encoding="utf-8")
    assert "**This page:** full run" in text and "every check passed" in text
    assert "| **NO** |" not in text


# --------------------------------------------------------------------------- worked example


def _worked_example() -> dict[str, Any]:
    for block in blocks(DOCS / "getting-started.md"):
        if block.lang == "yaml":
            data = yaml.safe_load(block.code)
            if isinstance(data, dict) and "sites" in data and "workloads" in data:
                return data
    raise AssertionError("docs/getting-started.md has no complete scenario in a yaml block")


def test_worked_example_is_two_sites_with_a_service_and_carbon_policy() -> None:
    from scheduler import simulate
    from scheduler.loading import validate_data

    data = _worked_example()
    scenario = validate_data(data)
    assert len(scenario.sites) == 2
    assert any(w.kind == "inference" and hasattr(w, "requests") for w in scenario.workloads)
    assert "carbon" in {s.type for s in scenario.policy.placement.scores}
    result = simulate(dict(data, duration="6h"))
    s = result.summary
    assert s["jobs_submitted"] == (s["jobs_completed"] + s["jobs_rejected"]
                                   + s["jobs_unfinished"] + s["jobs_failed"])
    assert s["inference_requests"] > 0 and s["carbon_t"] > 0
    assert set(result.jobs["site"]) - {""} <= {site.name for site in scenario.sites}


def test_every_complete_scenario_in_the_docs_validates() -> None:
    """yaml blocks that are whole scenarios (with sites and workloads) must load."""
    from scheduler.loading import validate_data

    found = 0
    for page in PAGES:
        for block in blocks(page):
            if block.lang != "yaml":
                continue
            data = yaml.safe_load(block.code)
            if isinstance(data, dict) and "sites" in data and "workloads" in data:
                validate_data(data)
                found += 1
    assert found >= 1


def test_commands_parse() -> None:
    """Sanity check of the bash-block reader on a continuation line."""
    block = Block("bash", "clustersim run a.yaml \\\n    --set x=1  # note\n\n# skip\n", 1)
    assert [shlex.split(c.split("#")[0]) for _, c in _commands(block)] == [
        ["clustersim", "run", "a.yaml", "--set", "x=1"]]
