"""``clustersim inference capacity``: size one replica and a service from the command line.

Options are read as text and checked together, so every bad option is reported (one line
each, exit code 2) rather than only the first.
"""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

from scheduler.errors import InputError, Problem

_TIME_UNITS = {"ms": 1e-3, "s": 1.0, "": 1.0}
_RATE_UNITS = {"s": 1.0, "": 1.0, "min": 1 / 60, "m": 1 / 60, "h": 1 / 3600}


def add_inference_parser(sub: Any) -> None:
    """Register ``inference capacity`` on the CLI's sub-command parsers."""
    inference = sub.add_parser("inference", help="size inference services")
    inference_sub = inference.add_subparsers(dest="inference_command", required=True,
                                             parser_class=type(inference))
    cap = inference_sub.add_parser(
        "capacity", help="tokens/s, batch and TTFT of one replica, and replicas for a rate")
    cap.add_argument("--model", default="llama-3.1-70b",
                     help="llama-3.1-8b | llama-3.1-70b | llama-3.1-405b | mixtral-8x7b")
    cap.add_argument("--gpu", default="H100", help="H100 | H200 | B200 | GB200 | MI300X")
    cap.add_argument("--tp", default="8", help="GPUs per replica (tensor parallel), default 8")
    cap.add_argument("--precision", default="fp8", help="bf16 | fp8 | fp4 (default fp8)")
    cap.add_argument("--tpot", default="50ms", help="TPOT target, e.g. 50ms or 0.05s")
    cap.add_argument("--rate", help="requests per second to size for, e.g. 100/s or 6000/min")
    cap.add_argument("--ttft", default="2.5s", help="TTFT SLO at the 90th percentile")
    cap.add_argument("--max-utilization", help="also keep slot utilisation at most this "
                     "(0-1], e.g. 0.7 for headroom")
    cap.add_argument("--input-tokens", help="median prompt tokens (default: chat, 1020)")
    cap.add_argument("--output-tokens", help="median output tokens (default: chat, 129)")


def _number(text: str, units: dict[str, float], where: str, problems: list[Problem],
            pattern: str) -> float | None:
    match = re.fullmatch(pattern, text.strip())
    value = float(match.group(1)) * units[match.group(2)] if match else math.nan
    if not (math.isfinite(value) and value > 0):
        problems.append(Problem(where, f"expected a positive number like "
                                f"{'50ms' if units is _TIME_UNITS else '100/s'} (got {text!r})"))
        return None
    return value


def _parse(args: argparse.Namespace) -> tuple[dict[str, Any], list[Problem]]:
    from scheduler.inference.models import TokenLengths, workload_tokens
    from scheduler.inference.specs import MODEL_PRESETS, PRECISION_BYTES, known_gpus

    problems: list[Problem] = []
    options: dict[str, Any] = {"model": args.model.lower(), "gpu": args.gpu,
                               "precision": args.precision.lower()}
    if options["model"] not in MODEL_PRESETS:
        problems.append(Problem("--model", f"unknown model {args.model!r}; built-in: "
                                f"{', '.join(sorted(MODEL_PRESETS))}"))
    if args.gpu not in known_gpus():
        problems.append(Problem("--gpu", f"no inference figures for {args.gpu!r}; known: "
                                f"{', '.join(known_gpus())}"))
    if options["precision"] not in PRECISION_BYTES:
        problems.append(Problem("--precision", f"unknown precision {args.precision!r}; "
                                f"known: {', '.join(sorted(PRECISION_BYTES))}"))
    if not re.fullmatch(r"[1-9][0-9]{0,3}", args.tp.strip()):
        problems.append(Problem("--tp", f"expected a whole number of GPUs 1-9999 (got {args.tp!r})"))
    else:
        options["tp"] = int(args.tp)
    number = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*"
    options["tpot_target_s"] = _number(args.tpot, _TIME_UNITS, "--tpot", problems,
                                       number + r"(ms|s|)")
    options["ttft_slo_s"] = _number(args.ttft, _TIME_UNITS, "--ttft", problems, number + r"(ms|s|)")
    if args.rate is not None:
        options["rate_rps"] = _number(args.rate, _RATE_UNITS, "--rate", problems,
                                      number + r"(?:/(s|min|m|h))?")
    if args.max_utilization is not None:
        limit = _number(args.max_utilization, {"": 1.0}, "--max-utilization", problems,
                        number + r"()")
        if limit is not None and limit > 1:
            problems.append(Problem("--max-utilization", f"must be in (0, 1] (got {limit:g})"))
        options["target_utilization"] = limit
    chat_in, chat_out = workload_tokens("chat")
    for flag, given, default, key in (("--input-tokens", args.input_tokens, chat_in, "input_tokens"),
                                      ("--output-tokens", args.output_tokens, chat_out,
                                       "output_tokens")):
        median = default.median if given is None else _number(
            given, {"": 1.0}, flag, problems, number + r"()")
        if median is not None:
            options[key] = TokenLengths(median, default.sigma)
    return options, problems


def run_inference_command(args: argparse.Namespace) -> int:
    """Print one replica's figures and, with ``--rate``, the replicas needed."""
    from scheduler.inference.capacity import capacity

    options, problems = _parse(args)
    if problems:
        raise InputError(problems)
    try:
        answer = capacity(**options)
    except ValueError as exc:
        raise InputError([Problem("", str(exc))]) from None
    perf = answer.performance
    lines = [
        f"replica: {options['model']} on {options['tp']} x {options['gpu']} "
        f"({options['precision']}), prompts median {options['input_tokens'].median:g} / "
        f"outputs median {options['output_tokens'].median:g} tokens",
        f"  weights per GPU        {perf.weights_gb_per_gpu:.1f} GB",
        f"  KV cache per token     {perf.kv_mb_per_token * 1e3:.1f} kB per GPU "
        f"(memory holds {perf.max_batch_memory} sequences)",
        f"  largest batch at TPOT  {perf.batch} (TPOT {perf.tpot_s * 1e3:.1f} ms, target "
        f"{options['tpot_target_s'] * 1e3:g} ms)",
        f"  output tokens/s        {perf.output_tokens_per_s:,.0f} per replica, "
        f"{perf.output_tokens_per_s / options['tp']:,.0f} per GPU",
        f"  TTFT on an idle replica {perf.prefill_s * 1e3:.0f} ms (prefill of the mean prompt)",
        f"  requests/s per replica {answer.requests_per_s_per_replica:.2f} (all slots busy)",
    ]
    if answer.replicas is not None:
        cap = options.get("target_utilization")
        limit = f" and slots at most {cap:.0%} busy" if cap else ""
        lines += [f"for {options['rate_rps']:g} requests/s with p90 TTFT <= "
                  f"{options['ttft_slo_s']:g} s{limit}: {answer.replicas} replicas "
                  f"({answer.replicas * options['tp']} GPUs), slot utilisation "
                  f"{answer.utilization:.0%}, p90 TTFT {answer.ttft_p_s:.3f} s"]
    print("\n".join(lines))
    return 0
