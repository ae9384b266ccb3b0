"""Write docs/scenario-reference.md from the pydantic scenario schema.

Every field of every model reachable from :class:`scheduler.scenario.Scenario` gets a row:
dotted path, type, unit, default, constraints and description (the field's docstring). The
page is generated, never edited by hand; tests/test_docs.py regenerates it in memory and fails
when the committed file differs. Run: python scripts/make_scenario_reference.py [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel, BeforeValidator, Discriminator, Tag
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from scheduler.calendar_dates import moment_seconds  # noqa: E402
from scheduler.scenario import Scenario  # noqa: E402
from scheduler.units import format_time, parse_power, parse_time  # noqa: E402

TARGET = ROOT / "docs" / "scenario-reference.md"
COMMAND = "python scripts/make_scenario_reference.py"

# How each tagged union picks its branch. The branches themselves (and their fields) come from
# the schema; this says in words what the discriminator function does with the input.
UNION_NOTES: dict[str, str] = {
    "_workload_kind": (
        "The branch is chosen by shape: an entry with a `trace` key is a **trace** workload; "
        "an entry with `kind: inference` and no `trace` is an **inference** service; anything "
        "else is a **generated** training workload (`arrival`, `gpus`, `duration`). Trace formats: "
        "[traces.md](traces.md); services: [inference.md](inference.md)."),
    "_duration_kind": (
        "A plain time (`2h`, `90s`, `3600`) gives every job exactly that duration; a mapping "
        "picks its branch by its `distribution` key (`exponential`, `lognormal` or "
        "`empirical`). Durations are run times on a speed-1 GPU type (see `speedup`)."),
    "_gpu_count_kind": (
        "An integer gives every job that many GPUs; a mapping with `empirical` draws "
        "uniformly from a list of observed counts; any other mapping is a weighted "
        "`choice`."),
    "_score_kind": (
        "The branch is chosen by `type`: a built-in score name selects its typed branch "
        "(unknown keys are errors); any other name is a score plugin registered in Python "
        "with `gpu.register_score`, whose `args` are passed as keyword arguments. What each score "
        "computes: [policies-and-plugins.md](policies-and-plugins.md)."),
    "_signal_kind": (
        "A number is a constant; a bare string is a built-in profile name (`fr-2020`, "
        "`fr-2024` for carbon; `day-ahead-fr` for price; `flat` for both); a mapping with "
        "`file` reads a CSV series; a mapping with `profile` configures a built-in profile. A "
        "carbon profile given for a price (or the reverse) is an error. The profiles and how "
        "signals enter energy, carbon and cost: [energy-and-carbon.md](energy-and-carbon.md)."),
}

# Units of plain-number fields, by field name suffix (time and power fields carry their own).
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("rate_per_gpu_hour", "1/(GPU·h)"),
    ("_per_hour", "1/h"),
    ("rate_per_second", "1/s"),
    ("carbon_g_per_kwh", "gCO2/kWh"),
    ("price_eur_per_mwh", "EUR/MWh"),
    ("thresholds_gpu_hours", "GPU·h"),
    ("size_gb_per_gpu", "GB per GPU"),
    ("_gb", "GB"),
    ("_tflops", "TFLOPS"),
    ("_ms", "ms"),
    ("_gbps", "Gb/s"),
    ("_us_per_km", "µs/km"),
    ("_tokens_per_s", "tokens/s"),
    ("_s_per_token", "s/token"),
    ("lat", "degrees"),
    ("lon", "degrees"),
)


@dataclass
class TypeText:
    """What a type annotation says: its text, unit, constraints and nested models."""

    text: str
    unit: str = ""
    constraints: list[str] = field(default_factory=list)
    children: list[tuple[str, type[BaseModel], str]] = field(default_factory=list)
    """(path suffix, model, branch label) of models nested in the type."""
    unions: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    """(path suffix, discriminator name, [(branch label, branch text)])."""


def _constraint(item: Any) -> list[str]:
    if isinstance(item, at.Ge):
        return [f">= {_number(item.ge)}"]
    if isinstance(item, at.Gt):
        return [f"> {_number(item.gt)}"]
    if isinstance(item, at.Le):
        return [f"<= {_number(item.le)}"]
    if isinstance(item, at.Lt):
        return [f"< {_number(item.lt)}"]
    if isinstance(item, at.MinLen):
        return [f"min length {item.min_length}"]
    if isinstance(item, at.MaxLen):
        return [f"max length {item.max_length}"]
    if isinstance(item, FieldInfo):
        return [c for sub in item.metadata for c in _constraint(sub)]
    if getattr(item, "allow_inf_nan", None) is False:
        return ["finite"]
    return []


def _number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value == 2**63:
        return "2^63"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}".replace(",", "_")
    return str(value)


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _model_link(model: type[BaseModel]) -> str:
    return f"[{model.__name__}](#{_anchor(model)})"


def describe(tp: Any, suffix: str = "") -> TypeText:
    """The text of annotation ``tp``; nested models are reported with their path suffix."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(tp)
        unit = ""
        constraints: list[str] = []
        for item in meta:
            if isinstance(item, BeforeValidator):
                if item.func is parse_time:
                    unit = "s"
                elif item.func is moment_seconds:
                    unit = "date"
                elif item.func is parse_power:
                    unit = "W"
            constraints.extend(_constraint(item))
        if isinstance(next((m for m in meta if isinstance(m, Discriminator)), None),
                      Discriminator):
            disc = next(m for m in meta if isinstance(m, Discriminator))
            return _union(base, suffix, disc)
        inner = describe(base, suffix)
        if unit == "s":
            inner.text = "time"
        elif unit == "date":
            inner.text, unit = "time or date", "s"
        elif unit == "W":
            inner.text = "power"
        inner.unit = inner.unit or unit
        inner.constraints = [*constraints, *inner.constraints]
        return inner
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(tp))
        parts = [describe(a, suffix) for a in args]
        merged = _merge(parts, " or ")
        if nullable:
            merged.text = f"{merged.text} or null"
        return merged
    if origin is typing.Literal:
        return TypeText(" \\| ".join(f"`{v}`" for v in typing.get_args(tp)))
    if origin is list:
        (item,) = typing.get_args(tp)
        inner = describe(item, f"{suffix}[]")
        return TypeText(f"list of {inner.text}", inner.unit,
                        [f"each {c}" for c in inner.constraints], inner.children, inner.unions)
    if origin is dict:
        _key, value = typing.get_args(tp)
        inner = describe(value, f"{suffix}.<name>")
        return TypeText(f"map of name to {inner.text}", inner.unit,
                        [f"each {c}" for c in inner.constraints], inner.children, inner.unions)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return TypeText(f"object, {_model_link(tp)}", children=[(suffix, tp, "")])
    names = {int: "integer", float: "number", bool: "boolean", str: "string"}
    if tp in names:
        return TypeText(names[tp])
    return TypeText(getattr(tp, "__name__", str(tp)))


def _merge(parts: list[TypeText], joiner: str) -> TypeText:
    merged = TypeText(joiner.join(p.text for p in parts))
    for part in parts:
        merged.unit = merged.unit or part.unit
        merged.constraints += [c for c in part.constraints if c not in merged.constraints]
        merged.children += part.children
        merged.unions += part.unions
    return merged


def _union(tp: Any, suffix: str, disc: Discriminator) -> TypeText:
    """A tagged union: its branches, each labelled by its tag."""
    name = getattr(disc.discriminator, "__name__", str(disc.discriminator))
    texts: list[TypeText] = []
    branches: list[tuple[str, str]] = []
    for arg in typing.get_args(tp):
        label = ""
        if typing.get_origin(arg) is typing.Annotated:
            _base, *meta = typing.get_args(arg)
            label = next((m.tag.strip("[]") for m in meta if isinstance(m, Tag)), "")
        part = describe(arg, suffix)
        part.children = [(s, m, label) for s, m, _ in part.children]
        texts.append(part)
        branches.append((label, _branch_text(part)))
    merged = _merge(texts, " or ")
    merged.constraints = []  # per branch: listed in the unions section
    merged.unions.append((suffix, name, branches))
    return merged


def _branch_text(part: TypeText) -> str:
    text = part.text
    if part.constraints:
        text += f" ({', '.join(part.constraints)})"
    return text


def field_type(info: FieldInfo) -> TypeText:
    """:func:`describe` of a field: its annotation with the metadata pydantic moved off it."""
    if not info.metadata:
        return describe(info.annotation)
    return describe(typing.Annotated[(info.annotation, *info.metadata)])  # type: ignore[misc]


def _unit_by_name(name: str) -> str:
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix) or name == suffix:
            return unit
    return ""


def _clean(text: str | None) -> str:
    if not text:
        return ""
    text = re.sub(r":(?:func|class|mod|meth|attr):`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    text = " ".join(text.split())
    return text.replace("|", "\\|")


def _flow(value: Any) -> str:
    """Compact YAML-ish flow text of a default value."""
    if isinstance(value, BaseModel):
        return _flow({name: getattr(value, name) for name in type(value).model_fields})
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _changed_fields(model: BaseModel) -> dict[str, Any]:
    """Fields of ``model`` that are required or differ from their own default."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if info.default is PydanticUndefined and info.default_factory is None:
            out[name] = value
            continue
        default = (info.default_factory() if info.default_factory is not None  # type: ignore[call-arg]
                   else info.default)
        if value != default:
            out[name] = value
    return out


def _default(info: FieldInfo, unit: str) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel) and not _changed_fields(value):
            return "`{}` (every field at its default)"
        if value in ({}, []):
            return f"`{_flow(value)}`"
        return f"`{_flow(value)}`"
    if info.default is PydanticUndefined:
        return "**required**"
    value = info.default
    text = f"`{_flow(value)}`"
    if unit == "s" and isinstance(value, int | float) and value >= 60:
        text += f" ({format_time(float(value))})"
    return text


@dataclass
class Section:
    model: type[BaseModel]
    path: str
    branch: str
    union_note: str = ""
    also: list[str] = field(default_factory=list)


def _join(path: str, suffix: str) -> str:
    if not path:
        return suffix.lstrip(".")
    return f"{path}{suffix}" if suffix.startswith("[") else f"{path}.{suffix.lstrip('.')}"


def _field_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Reference:
    """Walk the models depth first, in field order; each model is documented once."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.by_model: dict[type[BaseModel], Section] = {}
        self.unions: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.missing: list[str] = []

    def walk(self, model: type[BaseModel], path: str, branch: str = "") -> None:
        seen = self.by_model.get(model)
        if seen is not None:
            if path != seen.path and path not in seen.also:
                seen.also.append(path)
            return
        section = Section(model, path, branch)
        self.sections.append(section)
        self.by_model[model] = section
        for name, info in model.model_fields.items():
            here = _field_path(path, info.alias or name)
            described = field_type(info)
            if not _clean(info.description):
                self.missing.append(f"{model.__name__}.{name} ({here})")
            for suffix, disc, branches in described.unions:
                where = _join(here, suffix) if suffix else here
                if all(where != u[0] for u in self.unions):
                    self.unions.append((where, disc, branches))
            for suffix, child, label in described.children:
                self.walk(child, _join(here, suffix) if suffix else here, label)

    # ------------------------------------------------------------------ rendering

    def rows(self, section: Section) -> list[str]:
        lines = ["| field | type | unit | default | constraints | description |",
                 "|---|---|---|---|---|---|"]
        for name, info in section.model.model_fields.items():
            described = field_type(info)
            constraints = described.constraints
            unit = described.unit or _unit_by_name(name)
            shown_unit = {"s": "seconds", "W": "watts"}.get(unit, unit)
            description = _clean(info.description) or "*(no description)*"
            lines.append(
                f"| `{_field_path(section.path, info.alias or name)}` | {described.text} | "
                f"{shown_unit or '—'} | {_default(info, unit)} | "
                f"{', '.join(dict.fromkeys(constraints)) or '—'} | {description} |")
        return lines

    def render(self) -> str:
        out = [
            "# Scenario reference",
            "",
            f"<!-- Generated by `{COMMAND}` from the pydantic schema"
            " (scheduler/scenario.py and the models it uses). Do not edit by hand:"
            " change the field docstrings and regenerate. -->",
            "",
            "Every field a scenario file may contain, generated from the schema that validates "
            "it. Unknown keys are errors; every problem is reported at once with its field "
            "path. For a tour, read [getting-started.md](getting-started.md); "
            "`clustersim schema` prints the same schema as JSON Schema for editors.",
            "",
            "How to read the tables:",
            "",
            "- **field** is the dotted path. `[]` stands for any list index (`sites[].pue`); on "
            "the command line and in sweeps use the index itself: `--set sites.0.pue=1.3`; "
            "`+` (or the index one past the end) as the last part appends an item: "
            "`--set 'sites.+={name: X, nodes: [...]}'`, `sites.0.nodes.+=...`. Every field "
            "with a default can be set, also where the file leaves its parent out "
            "(`--set policy.queue=sjf` without a `policy` section). "
            "`<name>` stands for a key you choose (`gpu_types.<name>.busy_w`).",
            "- **type** `time` accepts seconds or a string with a unit: `ms`, `s`, `m`/`min`, `h`, "
            "`d`, `w` (`\"90s\"`, `\"2h\"`, `\"14d\"`); it is stored in **seconds**. `power` "
            "accepts watts or a string with `W`, `kW`, `MW`, `GW` (`\"700W\"`, `\"500MW\"`); "
            "it is stored in **watts**. `time or date` also accepts a calendar date "
            "(`2027-12-31`, `2027-12-31T06:00`, Europe/Paris time) resolved against the "
            "scenario's `start` ([timeline.md](timeline.md)). Both reject negative, infinite and NaN values, times "
            "above 1e12 s and powers above 1e12 W. "
            "Numbers and strings are not coerced into each other (`\"8\"` is not an integer).",
            "- **numbers** are read as in YAML 1.2, not PyYAML's YAML 1.1: `010` is 10 (a "
            "leading zero is decimal; `0o10`, `0x10`, `0b10` keep their base) and `1:30` is "
            "the string `\"1:30\"` (not 90), refused where a number or a time is expected.",
            "- **physical bounds**: values far beyond any real device are refused with the "
            "bound in the message rather than overflowing later: a GPU's `busy_w`/`idle_w` "
            "<= 10 kW, host overhead <= 100 kW per 8 GPUs and <= 1 MW per node, `speedup` "
            "from 0.001 to 1000, bandwidths from 1 Mb/s to 1 Pb/s (reasons: "
            "`scheduler/scenario.py`).",
            "- **default** `**required**` means the field must be given; `null` means absent "
            "(the description says what absent means).",
            "- **constraints** are checked on load (`>= 1`, `min length 1`...); cross-field "
            "checks (GPU types and site names that must exist, a workload that some node "
            "group can hold, caps above idle power) run after them and report the same way.",
            "",
            "## Contents",
            "",
        ]
        for section in self.sections:
            label = f"`{section.path}`" if section.path else "top level"
            branch = f" ({section.branch})" if section.branch else ""
            out.append(f"- [{label}{branch}: {section.model.__name__}](#{_anchor(section.model)})")
        out.append("- [Unions: how a branch is chosen](#unions)")
        out.append("")
        for section in self.sections:
            label = f"`{section.path}`" if section.path else "Top level"
            branch = f" ({section.branch})" if section.branch else ""
            out += [f'<a id="{_anchor(section.model)}"></a>', "",
                    f"## {label}{branch}: {section.model.__name__}", ""]
            doc = _clean(section.model.__doc__)
            if doc:
                out += [doc, ""]
            if section.also:
                where = ", ".join(f"`{p}`" for p in section.also)
                out += [f"The same fields are used at {where} (replace the path prefix).", ""]
            out += [*self.rows(section), ""]
        out += ['<a id="unions"></a>', "", "## Unions: how a branch is chosen", "",
                "Fields that accept several shapes. Each branch's fields are in its own "
                "section above.", ""]
        for where, disc, branches in self.unions:
            out += [f"### `{where}`", ""]
            note = UNION_NOTES.get(disc)
            if note:
                out += [note, ""]
            out += ["| branch | accepts |", "|---|---|"]
            for label, text in branches:
                out.append(f"| {label or '—'} | {text} |")
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def build() -> Reference:
    reference = Reference()
    reference.walk(Scenario, "")
    return reference


def render() -> str:
    """The page's text (what the test compares with the committed file)."""
    return build().render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed page is stale (write nothing)")
    parser.add_argument("--out", type=Path, default=TARGET, help="where to write")
    args = parser.parse_args(argv)
    reference = build()
    text = reference.render()
    for item in reference.missing:
        print(f"warning: no description: {item}", file=sys.stderr)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(reference.sections)} models, "
          f"{sum(len(s.model.model_fields) for s in reference.sections)} fields)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

