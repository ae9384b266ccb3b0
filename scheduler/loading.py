"""Reading scenario files: safe YAML/JSON, ``--set`` overrides, and errors with locations.

Contract: :func:`load_scenario` returns a valid :class:`Scenario` or raises :class:`InputError`
listing every problem, each as ``file:line: field.path: message`` where the line is known.
YAML is always loaded with the safe loader; documents that expand to too many nodes (alias
bombs) or nest too deeply are refused before anything is built from them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scheduler.bounded_io import ReadLimits
from scheduler.bounded_io import read_text as read_bounded_text
from scheduler.errors import InputError, Problem
from scheduler.overrides import apply_override, point_at_overrides, resolved_path
from scheduler.references import check_references
from scheduler.scenario import Scenario

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Scenario and sweep files are hand-sized (the examples are < 10 kB): the pure-Python YAML
parser reads ~1 MB/s and builds ~500 bytes per node, so bigger files would take minutes and
gigabytes before any limit below could refuse them (long series belong in CSV files)."""
MAX_FILE_LINES = 1_000_000
"""Lines of a scenario or sweep file (a real one has a few hundred)."""
SCENARIO_FILE_LIMITS = ReadLimits(MAX_FILE_BYTES, MAX_FILE_LINES, "scenario and sweep files")
MAX_EXPANDED_NODES = 200_000
"""Nodes a document may hold, once every alias is expanded (~300 in a real scenario)."""
MAX_DEPTH = 64

LineMap = dict[tuple[str, ...], int]


# --------------------------------------------------------------------------- YAML with lines


class _GuardedLoader(yaml.SafeLoader):
    """The safe loader, refusing too many nodes or too deep nesting *while composing*, before
    Python's recursion limit (the composer recurses) or the memory is reached."""

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self.source = source
        self.composed = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        self.composed += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                line = self.peek_event().start_mark.line + 1
                raise InputError(f"nested deeper than {MAX_DEPTH} levels", f"{self.source}:{line}")
            if self.composed > MAX_EXPANDED_NODES:
                raise InputError(f"document has more than {MAX_EXPANDED_NODES:,} nodes; "
                                 "refusing to load it", self.source)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# YAML 1.2 numbers (issue 20.7): PyYAML follows YAML 1.1, where ``count: 010`` is 8 (octal)
# and ``duration: 1:30`` is 90 (base 60): silent surprises in a scenario. Here a leading zero
# is decimal (``0o``, ``0x``, ``0b`` prefixes stay), and ``a:b`` is a string, which the
# schema then refuses where a number or a time is expected. Underscores still group digits.
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*)$")
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)  # PyYAML's float, without the base-60 form


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if not digits:
        raise ValueError("an empty !!int or !!float value")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)  # "010" is 10; "1:30" (an explicit !!int) is a ValueError


_GuardedLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_GuardedLoader.add_implicit_resolver(_INT_TAG, _INT, list("-+0123456789"))
_GuardedLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+0123456789."))
_GuardedLoader.add_constructor(_INT_TAG, _construct_int)


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A date or datetime; an impossible one (``2026-02-30``) stays text, so the schema
    reports it with its field path instead of the whole file failing to load."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return str(loader.construct_scalar(node))


_GuardedLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse alias bombs and self-referencing aliases from the composed graph, counting each
    distinct node once (the walk below would expand every alias)."""
    size: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            in_progress.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            if size[key] > MAX_EXPANDED_NODES:
                raise InputError(
                    f"document expands to more than {MAX_EXPANDED_NODES:,} nodes "
                    "(YAML aliases repeated?); refusing to load it", source)
            continue
        if key in size:
            continue
        if key in in_progress:
            raise InputError("a YAML alias refers to a node that contains it (an endless "
                             "structure)", f"{source}:{node.start_mark.line + 1}")
        in_progress.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def _walk_nodes(root: yaml.Node, source: str) -> LineMap:
    """Map field paths to 1-based lines, refusing alias bombs, deep nesting and duplicate keys."""
    _check_expansion(root, source)
    lines: LineMap = {}
    duplicates: list[tuple[int, Problem]] = []
    expanded = 0
    stack: list[tuple[yaml.Node, tuple[str, ...], int]] = [(root, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        expanded += 1
        if expanded > MAX_EXPANDED_NODES:
            raise InputError(
                f"document expands to more than {MAX_EXPANDED_NODES:,} nodes "
                "(YAML aliases repeated?); refusing to load it",
                source,
            )
        if depth > MAX_DEPTH:
            line = node.start_mark.line + 1
            raise InputError(f"nested deeper than {MAX_DEPTH} levels", f"{source}:{line}")
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, name) in seen:
                        duplicates.append((line, Problem(
                            f"{source}:{line}: {'.'.join((*path, name))}",
                            f"duplicate key (first at line {seen[key.tag, name]}); "
                            "a key may appear only once")))
                    else:
                        seen[key.tag, name] = line
                lines.setdefault((*path, name), line)
                stack.append((value, (*path, name), depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, (*path, str(index)), depth + 1))
    if duplicates:
        raise InputError([problem for _, problem in sorted(set(duplicates), key=lambda d: d[0])])
    return lines


def _compose(text: str, source: str) -> tuple[Any, LineMap]:
    """Data and line map of one YAML document; raises :class:`yaml.YAMLError` for syntax and
    constructor errors and :class:`InputError` for documents over the limits."""
    loader = _GuardedLoader(text, source)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        lines = _walk_nodes(root, source)
        try:
            data = loader.construct_document(root)
        except (ValueError, OverflowError, IndexError, TypeError) as exc:
            # an int over Python's digit limit, "!!float" with no digits (IndexError)...
            problem = ("an empty !!int or !!float value" if isinstance(exc, IndexError)
                       else str(exc) or type(exc).__name__)
            raise InputError(f"cannot read value: {problem}", source) from None
        return data, lines
    finally:
        loader.dispose()


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def parse_document(text: str, source: str) -> tuple[Any, LineMap]:
    """Parse YAML (a superset of JSON) safely; return the data and a path -> line map."""
    if not text.strip():  # before YAML complains about a tab in an otherwise empty file
        raise InputError("the file is empty", source)
    try:
        try:
            data, lines = _compose(text, source)
        except yaml.YAMLError:
            # JSON indented with tabs is valid JSON but not YAML: tabs are only whitespace
            # there (JSON strings cannot hold a raw tab), so read it with spaces instead.
            if "\t" not in text or not _is_json(text):
                raise
            data, lines = _compose(text.replace("\t", " "), source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        if isinstance(exc, yaml.constructor.ConstructorError):
            raise InputError(f"cannot read value: {exc.problem or exc.context}", where) from None
        raise InputError(f"YAML syntax error: {exc.problem or exc.context}", where) from None
    except yaml.reader.ReaderError as exc:  # a control character: one line, with its line
        line = text.count("\n", 0, exc.position) + 1
        raise InputError(f"YAML error: {exc.reason} (character {exc.character!r})",
                         f"{source}:{line}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {' '.join(str(exc).split())}", source) from None
    if data is None and not lines:
        raise InputError("the file is empty", source)
    return data, lines


def read_text(path: Path) -> str:
    """A scenario or sweep file as text, read within :data:`SCENARIO_FILE_LIMITS` (4 MiB,
    1 M lines) through :mod:`scheduler.bounded_io`: input errors for missing, huge, binary or
    non-UTF-8 files, and for anything that is not a regular file (a directory, a pipe, a
    device, ``/proc/...``). Never decompressed: the loader does not trust extensions."""
    return read_bounded_text(path, SCENARIO_FILE_LIMITS, expected="YAML or JSON text",
                             decompress=False)


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[str, Any]:
    """``"a.b.0.c=VALUE"`` -> (path, value); VALUE is read as a YAML scalar or flow value."""
    if "=" not in text:
        raise InputError(f"--set expects PATH=VALUE (got {text!r})", "--set")
    path, _, raw = text.partition("=")
    path = path.strip()
    if not path:
        raise InputError(f"--set has an empty path in {text!r}", "--set")
    try:  # the file's limits apply (an alias to itself, deep nesting...)
        value = _compose(raw, f"--set {path}")[0] if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


# --------------------------------------------------------------------------- errors


def _location(loc: Iterable[Any], lines: LineMap, source: str) -> str:
    """Field path without pydantic's union-member tags, prefixed with file:line when known."""
    parts: list[str] = []
    for item in loc:
        text = str(item)
        if text.startswith("[") or "function-" in text:
            continue  # our union tags ('[choice]') and pydantic validator wrappers
        parts.append(text)
    path = ".".join(parts)
    line = None
    for cut in range(len(parts), -1, -1):
        line = lines.get(tuple(parts[:cut]))
        if line is not None:
            break
    prefix = f"{source}:{line}: " if (source and line is not None) else (f"{source}: " if source else "")
    return f"{prefix}{path}" if path else prefix.rstrip(": ")


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        from scheduler.schema_keys import known_keys
        from scheduler.suggest import did_you_mean

        loc = tuple(error.get("loc", ()))
        hint = did_you_mean(str(loc[-1]), known_keys(loc[:-1])) if loc else ""
        return f"unknown key (not part of the scenario schema){hint}"
    if kind == "missing":
        return "required field is missing"
    value = error.get("input")
    if kind not in {"missing"} and not isinstance(value, dict | list) and value is not None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        if "got" not in msg and shown not in msg:
            msg = f"{msg} (got {shown})"
    return msg.replace("\\", "")


def problems_from_validation(exc: ValidationError, lines: LineMap, source: str) -> list[Problem]:
    """One :class:`Problem` per pydantic error, de-duplicated across union branches."""
    grouped: dict[str, list[str]] = {}
    for error in exc.errors():
        where = _location(error["loc"], lines, source)
        message = _message(error)
        bucket = grouped.setdefault(where, [])
        if message not in bucket:
            bucket.append(message)
    problems = []
    for where, messages in grouped.items():
        if len(messages) > 3:  # an undiscriminated union: every branch failed
            messages = [*messages[:3], f"... ({len(messages) - 3} more alternatives)"]
        problems.append(Problem(where, "; or ".join(messages)))
    return problems


def _reject_non_finite(data: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], str]]) -> None:
    if isinstance(data, float) and not math.isfinite(data):
        out.append((path, f"must be a finite number (got {data})"))
    elif isinstance(data, dict):
        for key, value in data.items():
            _reject_non_finite(value, (*path, str(key)), out)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _reject_non_finite(value, (*path, str(index)), out)


# --------------------------------------------------------------------------- entry points


def validate_data(data: Any, lines: LineMap | None = None, source: str = "",
                  base_dir: Path | None = None) -> Scenario:
    """Validate already-parsed data (a dict) into a :class:`Scenario`."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of scenario fields at the top level "
                         f"(got {type(data).__name__})", source)
    non_finite: list[tuple[tuple[str, ...], str]] = []
    _reject_non_finite(data, (), non_finite)
    if non_finite:
        raise InputError([Problem(_location(p, lines, source), m) for p, m in non_finite])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, lines, source)) from None
    scenario.attach_source_dir(base_dir)
    problems = [Problem(_location(tuple(p.where.split(".")), lines, source), p.message)
                for p in check_references(scenario)]
    if problems:
        raise InputError(problems)
    return scenario


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate a scenario file (YAML or JSON)."""
    file = Path(path)
    text = read_text(file)
    data, lines = parse_document(text, str(file))
    placed: list[tuple[str, str]] = []
    for item in overrides:
        dotted, value = parse_override(item)
        data = apply_override(data, dotted, value)
        parts = resolved_path(data, dotted).split(".")
        # The path and each parent the option created (absent from the file) are its own.
        placed += [(".".join(parts[:cut]), item) for cut in range(1, len(parts) + 1)
                   if cut == len(parts) or tuple(parts[:cut]) not in lines]
    try:
        return validate_data(data, lines, str(file), base_dir=file.resolve().parent)
    except InputError as exc:  # a problem in an overridden field names the --set option
        raise InputError(point_at_overrides(exc.problems, placed)) from None
