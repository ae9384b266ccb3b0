"""The bad-input corpus (tests/bad_inputs/, see its README): every malformed scenario, trace,
signal file and command line gives exit code 2 and one ``error:`` line per problem naming its
file:line or field path, never a traceback, quickly and in bounded memory.

Each table maps a corpus file (or a command line) to a fragment of the expected message.
The in-process cases run the CLI through ``run_cli``; a handful run ``python -m scheduler``
in a subprocess (exit code, no traceback, a timeout); the huge-value cases also run in a
subprocess that measures the peak RSS they add. Regression tests for the bugs the corpus and
the fuzzers found are at the end (``test_regression_*``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli, tiny_scenario

BAD = ROOT / "tests" / "bad_inputs"
SCENARIO_DIR = BAD / "scenarios"
TRACE_DIR = BAD / "traces"
SIGNAL_DIR = BAD / "signals"
DURATION_DIR = BAD / "durations"
TIRESIAS_OK = ROOT / "tests" / "data" / "traces" / "tiresias" / "60_job.csv"
FORMAT_OF_FOLDER = {"tiresias": "tiresias", "swf": "swf", "openb": "alibaba-openb",
                    "azure-llm": "azure-llm", "mooncake": "mooncake", "dlrm": "alibaba-dlrm",
                    "csv": "csv"}


def assert_input_error(code: int, err: str, fragment: str) -> list[str]:
    """Exit 2, one ``error:`` line per problem, the fragment somewhere, no traceback."""
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines, "no message"
    assert all(line.startswith("error: ") for line in lines), lines
    assert fragment in err, (fragment, err)
    return lines


def write_scenario(folder: Path, data: dict, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# =========================================================================== scenarios

# file -> fragment of the message (with the line when the problem has one).
SCENARIOS: dict[str, str] = {
    # wrong types
    "type_count_string.yaml": ":11: sites.0.nodes.0.count: Input should be a valid integer",
    "type_sites_mapping.yaml": ":5: sites: Input should be a valid list",
    "type_duration_list.yaml": ":4: duration: expected a time",
    "type_policy_string.yaml": ":58: policy: Input should be a valid dictionary",
    "type_drain_string.yaml": ":60: drain: Input should be a valid boolean",
    "type_gpus_fraction.yaml": ":27: workloads.0.gpus: Input should be a valid integer",
    "type_name_date.yaml": ":2: name: Input should be a valid string",
    "type_seed_bool.yaml": ":3: seed: Input should be a valid integer (got True)",
    "type_score_weight_string.yaml": ":63: policy.placement.scores.0.weight: Input should be a "
                                     "valid number",
    # missing sections
    "missing_sites.yaml": "sites: required field is missing",
    "missing_duration.yaml": "duration: required field is missing",
    "missing_arrival.yaml": ":22: workloads.0.arrival: required field is missing",
    "missing_requests.yaml": ":22: workloads.0.requests: required field is missing",
    "missing_trace_format.yaml": ":24: workloads.0.trace.format: required field is missing",
    # out of range
    "range_gpus_zero.yaml": ":27: workloads.0.gpus: Input should be greater than or equal to 1",
    "range_pue_high.yaml": ":7: sites.0.pue: Input should be less than or equal to 5",
    "range_latitude.yaml": ":13: sites.0.location.lat: Input should be less than or equal to 90",
    "range_failure_rate.yaml": ":61: failures.rate_per_gpu_hour: Input should be less than",
    "range_slo_percentile.yaml": ":30: workloads.0.slo.percentile: Input should be less than 1",
    "range_window_reversed.yaml": ":13: sites.0.demand_response.0: end (7200 s) must be after",
    "range_power_cap_below_idle.yaml": "sites.0.power_cap: 0.001 MW is below the site's idle",
    "range_negative_priority.yaml": ":43: workloads.0.priority: Input should be greater than",
    "range_min_above_max_replicas.yaml": ":28: workloads.0.autoscale.min_replicas: 9 is above",
    # huge values: refused before anything big is built
    "huge_count_float.yaml": ":11: sites.0.nodes.0.count: Input should be a valid integer",
    "huge_count_int.yaml": ":11: sites.0.nodes.0.count: Input should be less than or equal to",
    "huge_rate.yaml": ":26: workloads.0.arrival.rate_per_hour: Input should be less than",
    "huge_expected_jobs.yaml": ":26: workloads.0.arrival.rate_per_hour: about 336,000,000,000",
    "huge_gpus_per_node.yaml": ":10: sites.0.nodes.0.gpus_per_node: Input should be less than",
    "huge_total_nodes.yaml": ":5: sites: 27,000,000 nodes in all; the limit is 20,000,000",
    "huge_job_gpus.yaml": ":27: workloads.0.gpus: Input should be less than or equal to 1000000",
    "huge_trace_limit.yaml": ":26: workloads.0.trace.limit: Input should be less than or equal",
    "huge_token_median.yaml": ":28: workloads.0.input_tokens.median: Input should be less than",
    "huge_max_replicas.yaml": ":28: workloads.0.autoscale.max_replicas: Input should be less",
    "huge_duration.yaml": ":4: duration: time must be at most 1e+12 s",
    "huge_deferral.yaml": ":44: workloads.0.deferrable.max_delay: time must be at most",
    "huge_decode_time.yaml": ":27: workloads.0.decode_s_per_token: Input should be less than",
    "huge_weights_sum.yaml": ":27: workloads.0.gpus: weights must be finite, >= 0, not all 0, "
                             "with a finite sum",
    "huge_profile_sum.yaml": ":28: workloads.0.arrival.profile.daily: at least one multiplier",
    "huge_carbon_constant.yaml": ":61: grid.carbon_g_per_kwh: Input should be less than or "
                                 "equal to 1000000",
    "huge_price_constant.yaml": ":61: grid.price_eur_per_mwh: Input should be greater than",
    "huge_int_digits.yaml": "huge_int_digits.yaml: cannot read value: Exceeds the limit",
    # physically absurd values: valid numbers that broke the run or its results (issue 20.7)
    "absurd_busy_w.yaml": ":62: gpu_types.H100.busy_w: Input should be less than or equal "
                          "to 10000",
    "absurd_busy_w_max_float.yaml": ":62: gpu_types.H100.busy_w: power must be at most 1e+12 W",
    "absurd_idle_w.yaml": ":63: gpu_types.X1.idle_w: Input should be less than or equal to "
                          "10000",
    "absurd_host_overhead.yaml": ":62: gpu_types.H100.host_overhead_w_per_8_gpus: Input should "
                                 "be less than or equal to 100000",
    "absurd_tflops.yaml": ":62: gpu_types.H100.bf16_tflops: Input should be greater than or "
                          "equal to 0.001",
    "absurd_memory_gb.yaml": ":62: gpu_types.H100.memory_gb: Input should be less than or "
                             "equal to 100000",
    "absurd_node_overhead.yaml": ":12: sites.0.nodes.0.overhead_w: power must be at most 1e+12",
    "absurd_power_cap_string.yaml": ":8: sites.0.power_cap: power must be at most 1e+12 W",
    "absurd_speedup_tiny.yaml": ":25: workloads.0.speedup.H100: Input should be greater than "
                                "or equal to 0.001",
    "absurd_checkpoint_size.yaml": ":25: workloads.0.checkpoint.size_gb_per_gpu: Input should "
                                   "be less than or equal to 10000",
    "absurd_duration_scale.yaml": ":56: workloads.1.duration.scale: Input should be less than "
                                  "or equal to 1000000",
    "absurd_bandwidth_tiny.yaml": ":61: network.bandwidth_gbps: Input should be greater than "
                                  "or equal to 0.001",
    "absurd_link_latency.yaml": ":64: network.links.0.latency_ms: Input should be less than or "
                                "equal to 1000000",
    # more memory than available (the test sets CLUSTERSIM_MEMORY_LIMIT=16GB)
    "memory_45m_jobs.yaml": "workloads: about 45,000,144 jobs need an estimated 54.0 GB of "
                            "memory (1,200 bytes per job), more than the 16.0 GB of "
                            "CLUSTERSIM_MEMORY_LIMIT",
    # YAML 1.1 surprises: base-60 numbers are text now, so they fail as a time or a count
    "yaml11_sexagesimal_duration.yaml": ":4: duration: cannot read '1:30' as a time",
    "yaml11_sexagesimal_count.yaml": ":11: sites.0.nodes.0.count: Input should be a valid "
                                     "integer (got '1:30')",
    # NaN and infinity
    "nan_pue.yaml": ":7: sites.0.pue: must be a finite number (got nan)",
    "inf_duration.yaml": ":4: duration: must be a finite number (got inf)",
    "inf_rate.yaml": ":26: workloads.0.arrival.rate_per_hour: must be a finite number (got inf)",
    "neginf_sigma.yaml": ":41: workloads.0.duration.sigma: must be a finite number (got -inf)",
    "nan_weight.yaml": ":34: workloads.0.gpus.weights.0: must be a finite number (got nan)",
    "inf_string_time.yaml": ":4: duration: cannot read 'inf h' as a time",
    "neginf_price.yaml": ":61: grid.price_eur_per_mwh: must be a finite number (got -inf)",
    # duplicates
    "dup_site_three_times.yaml": ":5: sites: site name 'Lille' is used 3 times",
    "dup_workload.json": ":34: workloads: workload name 'small' is used 2 times",
    "dup_key_top.yaml": ":60: duration: duplicate key (first at line 4)",
    "dup_key_flow.yaml": ":9: sites.0.nodes.0.count: duplicate key (first at line 9)",
    "dup_key.json": ":89: seed: duplicate key (first at line 3)",
    # unknown names in references
    "unknown_gpu_in_gpu_types.yaml": ":45: workloads.0.gpu_types.1: unknown GPU type 'Z100'",
    "unknown_gpu_in_speedup.yaml": ":45: workloads.0.speedup.Z100: unknown GPU type 'Z100'",
    "unknown_gpu_in_service_speedup.yaml": ":28: workloads.0.speedup.Z100: unknown GPU type",
    "unknown_site_in_ranking.yaml": "policy.placement.scores.0.ranking.1: unknown site 'Z'",
    "unknown_site_in_weights.yaml": "policy.placement.scores.0.weights.Q: unknown site 'Q'",
    "unknown_site_in_links.yaml": ":63: network.links.0.b: unknown site 'Z'; sites: A, B",
    "unknown_city.yaml": ":29: workloads.0.users.Atlantis: unknown city 'Atlantis'",
    "unknown_queue.yaml": "policy.queue: unknown queue policy 'lifo'; known: easy-backfill",
    "unknown_score_plugin.yaml": "policy.placement.scores.0.type: unknown score plugin 'magic'",
    "unknown_filter_plugin.yaml": "policy.placement.filters.1: unknown filter plugin 'nope'",
    "unknown_carbon_profile.yaml": ":61: grid.carbon_g_per_kwh: Input should be 'fr-2020'",
    "unknown_trace_format.yaml": ":24: workloads.0.trace.format: Input should be 'tiresias'",
    # empty, whitespace, binary, encodings
    "whitespace_only.yaml": "whitespace_only.yaml: the file is empty",
    "bom_only.yaml": "bom_only.yaml: the file is empty",
    "random_bytes.yaml": "random_bytes.yaml: binary file",
    "png_header.yaml": "png_header.yaml: binary file",
    "utf16_bom.yaml": "utf16_bom.yaml: binary file",
    "latin1.yaml": "latin1.yaml: not UTF-8 text (byte 9)",
    "control_char.yaml": "control_char.yaml:1: YAML error: special characters are not allowed",
    # alias bombs and endless structures
    "bomb_mappings.yaml": "bomb_mappings.yaml: document expands to more than",
    "bomb_merge_keys.yaml": "bomb_merge_keys.yaml: document expands to more than",
    "bomb_self_reference.yaml": "bomb_self_reference.yaml:3: a YAML alias refers to a node "
                                "that contains it",
    "bomb_wide.yaml": "bomb_wide.yaml: document expands to more than",
    "bomb_in_sites.yaml": "bomb_in_sites.yaml: document expands to more than",
    # deep nesting
    "deep_flow_lists.yaml": "deep_flow_lists.yaml:2: nested deeper than 64 levels",
    "deep_flow_mappings.yaml": "deep_flow_mappings.yaml:2: nested deeper than 64 levels",
    "deep_block_mappings.yaml": "deep_block_mappings.yaml:66: nested deeper than 64 levels",
    "deep_block_lists.yaml": "deep_block_lists.yaml:67: nested deeper than 64 levels",
    # JSON and YAML syntax
    "json_missing_comma.json": "json_missing_comma.json:4: YAML syntax error",
    "json_missing_brace.json": "json_missing_brace.json:88: YAML syntax error",
    "json_tabs_bad_field.json": "json_tabs_bad_field.json:4: duration: unknown time unit",
    "yaml_tab_indent.yaml": "yaml_tab_indent.yaml:5: YAML syntax error: found character '\\t'",
    "yaml_unclosed_quote.yaml": "yaml_unclosed_quote.yaml:3: YAML syntax error",
    "yaml_two_documents.yaml": "yaml_two_documents.yaml:3: YAML syntax error: but found another",
    "yaml_python_tag.yaml": "yaml_python_tag.yaml:1: cannot read value: could not determine a "
                            "constructor",
    "yaml_unhashable_key.yaml": "yaml_unhashable_key.yaml:1: cannot read value: found unhashable",
    "yaml_undefined_alias.yaml": "yaml_undefined_alias.yaml:1: YAML syntax error: found undefined",
    # found by tests/test_fuzz.py
    "empty_float_tag.yaml": "empty_float_tag.yaml: cannot read value: an empty !!int or !!float",
    "empty_int_tag.yaml": "empty_int_tag.yaml: cannot read value: an empty !!int or !!float",
    "newline_in_key.yaml": ":60: col\\nour: unknown key",
    "unhashable_distribution.yaml": ":53: workloads.1.duration: expected a time",
    "unhashable_score_type.yaml": ":62: policy.placement.scores.0.type: Input should be a valid "
                                  "string",
}


def test_corpus_and_table_agree():
    on_disk = {p.name for p in SCENARIO_DIR.iterdir() if p.is_file()}
    assert on_disk == set(SCENARIOS), (on_disk ^ set(SCENARIOS))
    traces = {p.relative_to(TRACE_DIR).as_posix() for p in TRACE_DIR.rglob("*") if p.is_file()}
    assert traces == set(TRACES), traces ^ set(TRACES)
    signals = {p.name for p in SIGNAL_DIR.iterdir() if p.is_file()}
    assert signals == set(SIGNALS), signals ^ set(SIGNALS)
    durations = {p.name for p in DURATION_DIR.iterdir() if p.is_file()}
    assert durations == set(DURATIONS), durations ^ set(DURATIONS)


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bad_scenario_file(name, command, monkeypatch):
    monkeypatch.setenv("CLUSTERSIM_MEMORY_LIMIT", "16GB")  # the same verdict on any machine
    path = SCENARIO_DIR / name
    argv = [command, str(path)] + (["--quiet"] if command == "run" else [])
    started = time.perf_counter()
    code, _, err = run_cli(*argv)
    assert_input_error(code, err, SCENARIOS[name])
    assert time.perf_counter() - started < 20, "a bad scenario must be refused quickly"


# =========================================================================== traces

# folder/file -> fragment (every one names the file and, for a bad row, its line).
TRACES: dict[str, str] = {
    "tiresias/wrong_columns.csv": "wrong_columns.csv:3: row: expected 7 comma-separated "
                                  "fields, found 6",
    "tiresias/non_numeric.csv": "non_numeric.csv:3: num_gpu: is not a number (got 'eight')",
    "tiresias/negative_gpus.csv": "negative_gpus.csv:3: num_gpu: must be >= 1 (got '-8')",
    "tiresias/nan_submit.csv": "nan_submit.csv:3: submit_time: must be a finite number",
    "tiresias/inf_duration.csv": "inf_duration.csv:3: duration: must be a finite number",
    "tiresias/blank_lines_then_short_row.csv": "blank_lines_then_short_row.csv:7: row: expected",
    "tiresias/empty.csv": "empty.csv:1: the file is empty",
    "tiresias/whitespace_only.csv": "whitespace_only.csv:1: the file is empty",
    "tiresias/truncated.csv.gz": "truncated.csv.gz: cannot read the trace: Compressed file ended",
    "tiresias/not_gzip.csv.gz": "not_gzip.csv.gz: cannot read the trace: Not a gzipped file",
    "tiresias/unsorted.csv": "unsorted.csv:3: submit_time: is earlier than the previous row's",
    "tiresias/huge_iterations.csv": "huge_iterations.csv:3: iterations: must be <= "
                                    "9,223,372,036,854,775,807",
    "tiresias/huge_duration.csv": "huge_duration.csv:3: duration: is beyond 1e+12 s",
    "tiresias/huge_gpus.csv": "huge_gpus.csv:3: num_gpu: must be <=",
    "tiresias/binary.csv": "binary.csv: cannot read the trace: 'utf-8' codec can't decode",
    "swf/wrong_field_count.swf": "wrong_field_count.swf:3: row: expected 18 SWF fields, found 5",
    "swf/non_numeric.swf": "non_numeric.swf:2: submit time (field 2): is not a number",
    "swf/negative_processors.swf": "negative_processors.swf:2: allocated processors (field 5)",
    "swf/nan_submit.swf": "nan_submit.swf:2: submit time (field 2): must be a finite number",
    "swf/huge_job_number.swf": "huge_job_number.swf:2: job number (field 1): must be <=",
    "swf/huge_queue.swf": "huge_queue.swf:2: queue (field 15): must be <= 2,147,483,647",
    "swf/huge_status.swf": "huge_status.swf:2: status (field 11): must be <= 32,767",
    "swf/truncated.swf.gz": "truncated.swf.gz:360: cannot read the trace: Compressed file ended",
    "openb/wrong_columns.csv": "wrong_columns.csv:3: row: expected 11 comma-separated fields",
    "openb/negative_num_gpu.csv": "negative_num_gpu.csv:3: num_gpu: must be >= 0",
    "openb/inf_deletion.csv": "inf_deletion.csv:3: deletion_time: must be a finite number",
    "openb/huge_cpu_milli.csv": "huge_cpu_milli.csv:3: cpu_milli: must be <=",
    "openb/missing_columns.csv": "missing_columns.csv:1: missing column(s) num_gpu, gpu_milli",
    "openb/milli_over_1000.csv": "milli_over_1000.csv:3: gpu_milli: must be <= 1000",
    "azure-llm/wrong_columns.csv": "wrong_columns.csv:3: row: expected 3 comma-separated",
    "azure-llm/bad_timestamp.csv": "bad_timestamp.csv:3: TIMESTAMP: is not a date-time",
    "azure-llm/negative_tokens.csv": "negative_tokens.csv:3: ContextTokens: must be >= 0",
    "azure-llm/huge_tokens.csv": "huge_tokens.csv:3: ContextTokens: must be <=",
    "azure-llm/mixed_time_zones.csv": "mixed_time_zones.csv:3: TIMESTAMP: mixes time zones",
    "mooncake/bad_json.jsonl": "bad_json.jsonl:2: json: is not valid JSON",
    "mooncake/not_an_object.jsonl": "not_an_object.jsonl:2: json: must be a JSON object",
    "mooncake/nan_timestamp.jsonl": "nan_timestamp.jsonl:2: timestamp: must be a number of "
                                    "milliseconds >= 0",
    "mooncake/inf_length.jsonl": "inf_length.jsonl:2: input_length: must be a whole number",
    "mooncake/huge_length.jsonl": "huge_length.jsonl:2: input_length: must be a whole number",
    "mooncake/huge_int_digits.jsonl": "huge_int_digits.jsonl:2: json: is not valid JSON",
    "mooncake/huge_timestamp.jsonl": "huge_timestamp.jsonl:2: timestamp: must be a number",
    "mooncake/deep_json.jsonl": "deep_json.jsonl:2: json: is not valid JSON",
    "mooncake/hash_ids_not_list.jsonl": "hash_ids_not_list.jsonl:2: hash_ids: must be a list",
    "dlrm/wrong_columns.csv": "wrong_columns.csv:3: row: expected 17 comma-separated fields",
    "dlrm/negative_gpu.csv": "negative_gpu.csv:3: gpu_request: must be > 0",
    "dlrm/inf_deletion.csv": "inf_deletion.csv:3: deletion_time: must be a finite number",
    "dlrm/deleted_before_scheduled.csv": "deleted_before_scheduled.csv:3: deletion_time - start:"
                                         " must be >= 0",
    "dlrm/huge_max_instance.csv": "huge_max_instance.csv:3: max_instance_per_node: must be <=",
    "csv/wrong_columns.csv": "wrong_columns.csv:3: row: expected 7 comma-separated fields",
    "csv/bad_kind.csv": "bad_kind.csv:3: kind: must be one of training, inference",
    "csv/bad_fraction.csv": "bad_fraction.csv:3: gpu_fraction: must be in (0, 1]",
    "csv/bad_unit.csv": "bad_unit.csv:3: duration: unknown time unit 'fortnights'",
    "csv/negative_arrival.csv": "negative_arrival.csv:2: arrival: time must be >= 0 (got '-5')",
    "csv/duplicate_column.csv": "duplicate_column.csv:1: column 'gpus' appears twice",
    "csv/no_header.csv": "no_header.csv:1: missing column(s) arrival, gpus, duration",
    "csv/huge_arrival.csv": "huge_arrival.csv:3: arrival: time must be at most 1e+12 s",
    "csv/nul_byte.csv": "nul_byte.csv:3: duration: cannot read",
    # found by tests/test_fuzz.py
    "tiresias/corrupt_deflate.csv.gz": "corrupt_deflate.csv.gz: cannot read the trace: Error -3",
    "csv/newline_in_header.csv": "newline_in_header.csv:2: missing column(s) arrival in the "
                                 "header (found: arr\\nival, gpus, duration)",
    # issue 20, class 3 (unbounded reads): 6 kB of gzip holding 6 MB of newlines
    "csv/newline_bomb.csv.gz": "newline_bomb.csv.gz: decompresses to more than 4,194,304 bytes",
    "swf/newline_bomb.swf.gz": "newline_bomb.swf.gz: decompresses to more than 4,194,304 bytes",
}


def trace_scenario(folder: Path, trace: Path, fmt: str) -> Path:
    data = tiny_scenario(duration="2h")
    data["workloads"] = [{"name": "t", "trace": {"format": fmt, "path": str(trace)}}]
    return write_scenario(folder, data)


@pytest.mark.parametrize("name", sorted(TRACES))
def test_bad_trace_file(tmp_path, name):
    path = TRACE_DIR / name
    fmt = FORMAT_OF_FOLDER[path.parent.name]
    code, _, err = run_cli("trace", "stats", str(path), "--format", fmt)
    lines = assert_input_error(code, err, TRACES[name])
    assert len(lines) == 1 and str(path) in lines[0]
    code, _, err = run_cli("run", str(trace_scenario(tmp_path, path, fmt)), "--quiet")
    assert_input_error(code, err, TRACES[name])


def test_bad_trace_row_skipped_with_on_error_skip(tmp_path):
    """``on_error: skip`` turns the same bad rows into counted skips (no error)."""
    for name in ("tiresias/non_numeric.csv", "swf/huge_queue.swf", "mooncake/deep_json.jsonl",
                 "azure-llm/huge_tokens.csv", "dlrm/huge_max_instance.csv"):
        path = TRACE_DIR / name
        fmt = FORMAT_OF_FOLDER[path.parent.name]
        code, out, err = run_cli("trace", "stats", str(path), "--format", fmt,
                                 "--on-error", "skip", "--json")
        assert code == 0, (name, err)
        stats = json.loads(out)
        assert stats["rows_used"] >= 1, (name, stats)


# =========================================================================== signals

SIGNALS: dict[str, str] = {
    "gap.csv": "gap.csv:8: gap of 22.8 h after 18000 (line 7)",
    "unsorted.csv": "unsorted.csv:4: time 3600 is earlier than 7200 on line 3",
    "duplicate_time.csv": "duplicate_time.csv:4: duplicate time 3600 (also at line 3)",
    "non_numeric_value.csv": "non_numeric_value.csv:3: column 'carbon': cannot read 'thirty'",
    "non_numeric_time.csv": "non_numeric_time.csv:3: column 'time_s': cannot read 'noon'",
    "nan_value.csv": "nan_value.csv:3: column 'carbon': value 'nan' is not finite",
    "inf_time.csv": "inf_time.csv:3: column 'time_s': time 'inf' is not finite",
    "neg_inf_value.csv": "neg_inf_value.csv:3: column 'carbon': value '-inf' is not finite",
    "negative_carbon.csv": "negative_carbon.csv:3: column 'carbon': carbon intensity must be",
    "empty.csv": "empty.csv: the file is empty",
    "header_only.csv": "header_only.csv:1: no data rows after the header",
    "one_column.csv": "one_column.csv:1: needs a value column",
    "binary.csv": "binary.csv: binary file",
    "not_gzip.csv.gz": "grid.carbon_g_per_kwh: cannot read",
    "truncated.csv.gz": "grid.carbon_g_per_kwh: cannot read",
    "huge_value.csv": "huge_value.csv:2: column 'carbon': value '1e300' is beyond",
    "huge_time.csv": "huge_time.csv:3: column 'time_s': time '1e308' is beyond 1e+12 s",
    "iso_then_number.csv": "iso_then_number.csv:3: column 'time': cannot read '3600' as an ISO",
    "mixed_time_zones.csv": "mixed_time_zones.csv:3: column 'time': timestamp",
    # found by tests/test_fuzz.py
    "corrupt_deflate.csv.gz": "grid.carbon_g_per_kwh: cannot read",
    "lone_carriage_return.csv": "lone_carriage_return.csv:2: column 'carbon': cannot read ''",
    "huge_field.csv": "huge_field.csv:3: cannot read the CSV: field larger than field limit",
    # issue 20, class 3 (unbounded reads)
    "newline_bomb.csv.gz": "newline_bomb.csv.gz: decompresses to more than 4,194,304 bytes",
}


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_bad_signal_file(tmp_path, name):
    data = tiny_scenario(duration="6h")
    data["grid"] = {"carbon_g_per_kwh": {"file": str(SIGNAL_DIR / name)}}
    code, _, err = run_cli("run", str(write_scenario(tmp_path, data)), "--quiet")
    assert_input_error(code, err, SIGNALS[name])


def test_bad_signal_file_as_price_of_a_site(tmp_path):
    """The same checks for a site's own price series, located at the site's field path."""
    data = tiny_scenario(duration="6h")
    data["sites"][1]["grid"] = {"price_eur_per_mwh": {"file": str(SIGNAL_DIR / "not_gzip.csv.gz")}}
    code, _, err = run_cli("run", str(write_scenario(tmp_path, data)), "--quiet")
    assert_input_error(code, err, "sites.1.grid.price_eur_per_mwh: cannot read")


# =========================================================================== empirical durations

# Files of ``duration: {distribution: empirical, file: FILE}``. The gzip ones were tracebacks
# (BadGzipFile, EOFError) and the bomb was read whole before issue 20.
DURATIONS: dict[str, str] = {
    "empty.csv": "empty.csv: empty file",
    "latin1.csv": "latin1.csv: not a UTF-8 text file",
    "negative.csv": "negative.csv:3: duration must be finite and >= 0 (got -5)",
    "not_a_number.csv": "not_a_number.csv:3: not a number: 'soon'",
    "not_gzip.csv.gz": "not_gzip.csv.gz: cannot read: Not a gzipped file",
    "truncated.csv.gz": "truncated.csv.gz: cannot read: Compressed file ended",
    "newline_bomb.csv.gz": "newline_bomb.csv.gz: decompresses to more than 4,194,304 bytes",
}


def empirical_scenario(folder: Path, file: Path | str) -> Path:
    data = tiny_scenario(duration="2h")
    data["workloads"][0]["duration"] = {"distribution": "empirical", "file": str(file)}
    return write_scenario(folder, data)


@pytest.mark.parametrize("name", sorted(DURATIONS))
def test_bad_duration_file(tmp_path, name):
    started = time.perf_counter()
    code, _, err = run_cli("run", str(empirical_scenario(tmp_path, DURATION_DIR / name)),
                           "--quiet")
    assert_input_error(code, err, DURATIONS[name])
    assert time.perf_counter() - started < 10


# =========================================================================== command lines

HUGE_SEED = str(2**64)
DEEP = "[" * 5000 + "]" * 5000
CLI_CASES: list[tuple[str, list[str], str]] = [
    ("no-command", [], "the following arguments are required: command"),
    ("unknown-subcommand", ["frobnicate"], "invalid choice: 'frobnicate'"),
    ("unknown-option", ["run", "{ok}", "--frob"], "unrecognized arguments: --frob"),
    ("schema-extra-argument", ["schema", "x"], "unrecognized arguments: x"),
    ("bad-backend", ["run", "{ok}", "--backend", "tpu"], "argument --backend: invalid choice"),
    ("bad-format", ["run", "{ok}", "--format", "xlsx"], "argument --format: invalid choice"),
    ("seed-negative", ["run", "{ok}", "--seed", "-1"], "argument --seed: must be from 0"),
    ("seed-word", ["run", "{ok}", "--seed", "abc"], "argument --seed: expected a whole number"),
    ("seed-float", ["run", "{ok}", "--seed", "1.5"], "argument --seed: expected a whole number"),
    ("seed-too-big", ["run", "{ok}", "--seed", HUGE_SEED], "argument --seed: must be from 0"),
    ("set-without-value", ["run", "{ok}", "--set"], "argument --set: expected one argument"),
    ("set-empty-path", ["run", "{ok}", "--set", "=3"], "--set has an empty path"),
    ("set-negative-index", ["run", "{ok}", "--set", "sites.-9.pue=1"],
     "--set sites.-9: no list index '-9' here (the list has 2 items: indices 0 to 1; 2 or '+' appends one)"),
    ("set-index-word", ["run", "{ok}", "--set", "sites.x.pue=1"],
     "--set sites.x: no list index 'x'"),
    ("set-into-scalar", ["run", "{ok}", "--set", "name.x=1"],
     "--set name.x: cannot descend into a str"),
    ("set-empty-segment", ["run", "{ok}", "--set", "sites.0..pue=1"], "--set sites.0.: unknown"),
    ("set-wrong-type", ["validate", "{ok}", "--set", "sites.0.pue=abc"],
     "sites.0.pue: Input should be a valid number (got 'abc')"),
    ("set-nan", ["validate", "{ok}", "--set", "duration=.nan"],
     "duration: must be a finite number (got nan)"),
    ("set-huge", ["validate", "{ok}", "--set", "sites.0.nodes.0.count=10000000000"],
     "sites.0.nodes.0.count: Input should be less than or equal to 10000000"),
    ("set-self-alias", ["run", "{ok}", "--set", "name=&a [*a]"],
     "--set name:1: a YAML alias refers to a node that contains it"),
    ("set-deep", ["run", "{ok}", "--set", "name=" + DEEP], "--set name:1: nested deeper than"),
    ("set-duplicate-key", ["run", "{ok}", "--set",
                           "sites.0.nodes.0={gpu: H100, gpus_per_node: 8, count: 1, count: 2}"],
     "--set sites.0.nodes.0:1: count: duplicate key"),
    ("out-is-a-file", ["run", "{ok}", "--out", "{file}", "--quiet"], "--out: "),
    ("out-under-a-file", ["run", "{ok}", "--out", "{file}/sub", "--quiet"], "--out: "),
    ("scenario-is-a-directory", ["validate", str(BAD)], "is a directory, expected a file"),
    ("scenario-empty-path", ["run", ""], "is a directory, expected a file"),
    ("scenario-in-missing-folder", ["validate", "{tmp}/no/such/folder/s.yaml"], "file not found"),
    ("trace-format-missing", ["trace", "stats", str(TIRESIAS_OK)], "required: --format"),
    ("trace-format-unknown", ["trace", "stats", str(TIRESIAS_OK), "--format", "xyz"],
     "argument --format: invalid choice: 'xyz'"),
    ("trace-limit-zero", ["trace", "stats", str(TIRESIAS_OK), "--format", "tiresias",
                          "--limit", "0"], "limit: Input should be greater than or equal to 1"),
    ("trace-limit-huge", ["trace", "stats", str(TIRESIAS_OK), "--format", "tiresias",
                          "--limit", str(10**12)], "limit: Input should be less than or equal"),
    ("trace-start-word", ["trace", "stats", str(TIRESIAS_OK), "--format", "tiresias",
                          "--start", "abc"], "start: cannot read 'abc' as a time"),
    ("trace-window-reversed", ["trace", "stats", str(TIRESIAS_OK), "--format", "tiresias",
                               "--start", "5h", "--end", "1h"], "end (3600 s) must be after"),
    ("trace-directory", ["trace", "stats", str(TRACE_DIR), "--format", "tiresias"],
     "is a directory, expected a file"),
    ("trace-missing", ["trace", "stats", "{tmp}/nope.csv", "--format", "swf"],
     "trace file not found (swf trace)"),
    ("report-missing-folder", ["report", "{tmp}/nope"], "no such directory"),
    ("report-not-a-run", ["report", "{tmp}"], "no summary.json here"),
    # output paths (issue 20, class 4)
    ("out-empty", ["run", "{ok}", "--out", "", "--quiet"], "--out: empty path"),
    ("out-under-proc", ["run", "{ok}", "--out", "/proc/clustersim-out", "--quiet"],
     "/proc/clustersim-out: cannot write here"),
    ("out-too-long", ["run", "{ok}", "--out", "{tmp}/" + "x" * 5000, "--quiet"],
     "cannot write here: File name too long"),
    ("out-onto-the-scenario", ["run", "{tmp}/scenario.json", "--out", "{tmp}", "--quiet"],
     "would overwrite the input"),
    ("report-out-empty", ["report", str(BAD / "results" / "jobs_header_only"), "--out", ""],
     "--out: empty path"),
    ("plot-out-empty", ["plot", str(BAD / "results" / "jobs_header_only"), "--out", ""],
     "--out: empty path"),
    ("compare-missing-folder", ["compare", "{tmp}/nope"], "no such directory"),
]


@pytest.mark.parametrize(("case", "argv", "fragment"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_command_line(tmp_path, case, argv, fragment):
    ok = write_scenario(tmp_path, tiny_scenario(duration="2h"), "ok.yaml")
    regular = tmp_path / "file"
    regular.write_text("not a folder")
    (tmp_path / "scenario.json").write_text(json.dumps(tiny_scenario(duration="2h")))
    fill = {"{ok}": str(ok), "{file}": str(regular), "{tmp}": str(tmp_path)}
    args = []
    for arg in argv:
        for key, value in fill.items():
            arg = arg.replace(key, value)
        args.append(arg)
    code, _, err = run_cli(*args)
    assert_input_error(code, err, fragment)
    if case.startswith("out-"):
        assert regular.read_text() == "not a folder"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads a chmod-000 file anyway")
def test_unreadable_scenario(tmp_path):
    path = write_scenario(tmp_path, tiny_scenario())
    path.chmod(0)
    try:
        code, _, err = run_cli("validate", str(path))
    finally:
        path.chmod(0o644)
    assert_input_error(code, err, "Permission denied")


# =========================================================================== result folders

RESULT_DIR = BAD / "results"
# folder -> fragment; each is one saved run damaged in one way (make_results.py). report,
# plot and compare all read through Result.load and must refuse them with exit code 2.
RESULT_SETS: dict[str, str] = {
    "summary_is_a_list": "summary.json holds a JSON list, not an object",
    "summary_not_json": "cannot read the run's files: Expecting property name",
    "summary_string_counts": "jobs_completed must be a whole number >= 0 (got '24')",
    "summary_bool_count": "jobs_failed must be a whole number >= 0 (got True)",
    "summary_counts_disagree": "the job table has 41 rows but summary.json says 46 jobs",
    "summary_not_conserved": "jobs_submitted (41) is not the sum of completed, rejected",
    "summary_status_disagrees": "the job table has 24 completed jobs but summary.json says 23",
    "jobs_header_only": "the job table has 0 rows but summary.json says 41 jobs",
    "timeseries_truncated_at_a_row": "the time series stops at 2400 s, before the end",
    "timeseries_cut_mid_row": "timeseries.csv: ends in the middle of a row",
    "timeseries_missing": "no timeseries.csv or timeseries.parquet: the set is incomplete",
    "manifest_incomplete": "incomplete result set: a save into this folder was interrupted",
    "manifest_file_changed": "jobs.csv: differs from what the run wrote",
    "manifest_file_missing": "timeseries.csv: missing from the result set",
    "manifest_not_json": "manifest.json: cannot read the manifest",
}


def test_result_corpus_and_table_agree():
    folders = {p.name for p in RESULT_DIR.iterdir() if p.is_dir()}
    assert folders == set(RESULT_SETS), folders ^ set(RESULT_SETS)


@pytest.mark.parametrize("command", ["report", "plot", "compare"])
@pytest.mark.parametrize("name", sorted(RESULT_SETS))
def test_bad_result_folder(tmp_path, name, command):
    folder = RESULT_DIR / name
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    argv = {"report": ["report", str(folder), "--out", str(tmp_path / "r.html")],
            "plot": ["plot", str(folder), "--out", str(tmp_path / "f.png")],
            "compare": ["compare", str(folder)]}[command]
    code, out, err = run_cli(*argv)
    assert_input_error(code, err, RESULT_SETS[name])
    assert out == "" and not list(tmp_path.iterdir())
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


# =========================================================================== subprocesses

SUBPROCESS_CASES = [
    (["validate", str(SCENARIO_DIR / "bomb_merge_keys.yaml")], "document expands to more than"),
    (["validate", str(SCENARIO_DIR / "deep_flow_lists.yaml")], "nested deeper than 64 levels"),
    (["run", str(SCENARIO_DIR / "huge_total_nodes.yaml")], "27,000,000 nodes in all"),
    (["run", str(SCENARIO_DIR / "unknown_site_in_links.yaml")], "network.links.0.b"),
    (["trace", "stats", str(TRACE_DIR / "mooncake" / "deep_json.jsonl"), "--format", "mooncake"],
     "deep_json.jsonl:2: json: is not valid JSON"),
    (["run", str(SCENARIO_DIR / "dup_key_top.yaml"), "--seed", "-1"], "argument --seed"),
]


@pytest.mark.parametrize(("argv", "fragment"), SUBPROCESS_CASES,
                         ids=[Path(a[1] if len(a) > 1 else a[0]).name + "-" + a[0]
                              for a, _ in SUBPROCESS_CASES])
def test_subprocess_exit_code_two_and_no_traceback(argv, fragment):
    proc = subprocess.run([sys.executable, "-m", "scheduler", *argv], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert_input_error(proc.returncode, proc.stderr, fragment)
    assert proc.stdout == ""


# Run inside one subprocess: peak RSS after warming up (imports, one valid scenario), then
# every huge-value case; the peak may only grow, so the last reading bounds them all.
MEMORY_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time, io
    from contextlib import redirect_stderr, redirect_stdout
    from scheduler.cli import main

    def call(argv):
        err = io.StringIO()
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            return main(argv), err.getvalue()

    cases = json.loads(sys.argv[1])
    call(["validate", cases["warmup"]])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = []
    for argv in cases["argv"]:
        began = time.perf_counter()
        code, err = call(argv)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out.append({"argv": argv, "code": code, "err": err[-300:],
                    "seconds": time.perf_counter() - began, "grown_kb": peak - base})
    print(json.dumps(out))
""")


def test_huge_values_fail_fast_in_bounded_memory(tmp_path):
    service = {"name": "chat", "kind": "inference", "replica_gpus": 8,
               "requests": {"rate_per_second": 1e8},
               "autoscale": {"min_replicas": 1_000_000, "max_replicas": 1_000_000}}
    replicas = write_scenario(tmp_path, tiny_scenario(duration="2h", workloads=[service]))
    argv = [["validate", str(SCENARIO_DIR / name)] for name in sorted(SCENARIOS)
            if name.startswith(("huge_", "bomb_", "deep_"))]
    argv += [["trace", "stats", str(TRACE_DIR / name), "--format",
              FORMAT_OF_FOLDER[name.split("/")[0]]] for name in sorted(TRACES) if "huge" in name]
    argv.append(["run", str(replicas), "--quiet"])  # valid: a million replicas, 56 GPUs
    cases = {"warmup": str(write_scenario(tmp_path, tiny_scenario(), "warm.yaml")), "argv": argv}
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, json.dumps(cases)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert len(results) == len(argv) > 30
    for result in results:
        expected = 0 if result["argv"][0] == "run" else 2
        assert result["code"] == expected, result
        assert "Traceback" not in result["err"], result
        assert result["seconds"] < 30, result
        if sys.platform.startswith("linux"):  # ru_maxrss is in kB on Linux
            assert result["grown_kb"] < 200 * 1024, result


# =========================================================================== regressions


def test_regression_deep_nesting_is_an_input_error_not_a_recursion_error():
    """Found by the corpus: 1,000+ nested ``[`` made PyYAML's recursive composer raise
    RecursionError (a traceback, exit 1) before the depth limit could apply."""
    from scheduler.errors import InputError
    from scheduler.loading import parse_document

    for text in ("a: " + "[" * 100_000, "a: " + "{a: " * 3000, "- " * 3000 + "x"):
        with pytest.raises(InputError, match="nested deeper than 64 levels"):
            parse_document(text, "deep.yaml")


def test_regression_alias_bombs_are_refused_in_milliseconds():
    """Found by the corpus: the path walk expanded every alias before refusing, so a 2 kB
    mapping bomb took seconds and hundreds of MB; the distinct-node count refuses at once."""
    for name in ("bomb_mappings.yaml", "bomb_merge_keys.yaml", "bomb_wide.yaml"):
        started = time.perf_counter()
        code, _, err = run_cli("validate", str(SCENARIO_DIR / name))
        assert_input_error(code, err, "document expands to more than")
        assert time.perf_counter() - started < 2, name


def test_regression_duplicate_keys_are_errors_with_both_lines(tmp_path):
    """PyYAML silently keeps the last of two equal keys: now an error naming both lines."""
    path = tmp_path / "s.yaml"
    text = yaml.safe_dump(tiny_scenario(), sort_keys=False)
    first = text.splitlines().index("policy:") + 1
    path.write_text(text + "policy: {queue: sjf, queue: fifo}\n")
    last = len(text.splitlines()) + 1
    code, _, err = run_cli("validate", str(path))
    lines = assert_input_error(code, err, "duplicate key")
    assert len(lines) == 2, lines
    assert f":{last}: policy: duplicate key (first at line {first})" in err
    assert f":{last}: policy.queue: duplicate key (first at line {last})" in err


def test_regression_merge_keys_are_not_duplicates(tmp_path):
    """``<<`` merge keys (even two of them) are YAML's override mechanism, not duplicates."""
    path = tmp_path / "s.yaml"
    text = "x-a: &a {gpu: H100}\nx-b: &b {gpus_per_node: 8}\n"
    text += yaml.safe_dump(tiny_scenario(), sort_keys=False)
    text = text.replace("  nodes:\n  - gpu: H100\n    gpus_per_node: 8\n    count: 4\n",
                        "  nodes:\n  - <<: *a\n    <<: *b\n    count: 4\n", 1)
    path.write_text(text)
    code, _, err = run_cli("validate", str(path))
    assert code == 2 and "x-a: unknown key" in err and "duplicate" not in err, err


def test_regression_json_indented_with_tabs_is_accepted(tmp_path):
    """Found by the corpus: valid JSON indented with tabs (``json.dump(indent="\\t")``) was
    refused as a YAML syntax error although the contract accepts JSON."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps(tiny_scenario(), indent="\t"))
    code, out, err = run_cli("validate", str(path))
    assert code == 0 and out.endswith("valid\n"), err


def test_regression_whitespace_only_file_is_empty_not_a_tab_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(" \t \n\t\n")
    code, _, err = run_cli("validate", str(path))
    assert_input_error(code, err, "the file is empty")


def test_regression_validate_refuses_what_run_refuses():
    """Found by the corpus: ``validate`` printed "valid" for unknown queue/score/filter names,
    unknown sites in a site score and power caps below idle power, which ``run`` refuses."""
    for name in ("unknown_queue.yaml", "unknown_score_plugin.yaml", "unknown_filter_plugin.yaml",
                 "unknown_site_in_ranking.yaml", "range_power_cap_below_idle.yaml"):
        code, out, err = run_cli("validate", str(SCENARIO_DIR / name))
        assert code == 2 and "valid" not in out, (name, out, err)


def test_regression_huge_max_replicas_on_a_tiny_cluster_runs_fast():
    """Found by the corpus: an autoscaler allowed a million replicas requested all of them on a
    56-GPU cluster, one job each (290 s of bookkeeping); it now stops at what could fit."""
    from scheduler import simulate

    service = {"name": "chat", "kind": "inference", "replica_gpus": 8,
               "requests": {"rate_per_second": 1e8}, "autoscale": {"max_replicas": 1_000_000}}
    started = time.perf_counter()
    result = simulate(tiny_scenario(duration="2h", workloads=[service]))
    assert time.perf_counter() - started < 20
    assert result.summary["jobs_submitted"] <= 56 // 8


def test_regression_huge_finite_values_do_not_overflow_the_summary(tmp_path):
    """Found by the corpus: finite but absurd values (carbon 1e300 g/kWh, a 1e308 s trace job
    with drain) overflowed to inf/NaN and crashed writing summary.json (exit 1)."""
    data = tiny_scenario(duration="6h", drain=True)
    data["grid"] = {"carbon_g_per_kwh": 1e300}
    code, _, err = run_cli("run", str(write_scenario(tmp_path, data)), "--quiet")
    assert_input_error(code, err, "grid.carbon_g_per_kwh")
    data = tiny_scenario(duration="6h", drain=True)
    data["workloads"][0]["duration"] = {"distribution": "lognormal", "median": "1e12",
                                        "sigma": 10}
    data["workloads"][0]["max_jobs"] = 20
    code, out, err = run_cli("run", str(write_scenario(tmp_path, data)), "--json")
    assert code == 0, err
    json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the summary"))


def test_regression_fuzz_crashes_are_input_errors(tmp_path):
    """Found by tests/test_fuzz.py (each was a traceback, exit 1), minimal examples:

    * ``duration: !!float`` -> IndexError inside PyYAML's constructor;
    * ``distribution: []`` / a score ``type: []`` -> TypeError (unhashable) in the union
      discriminators;
    * a damaged deflate stream -> zlib.error (not an OSError) from gzip, in traces and signals;
    * a lone ``\\r`` or a 200 kB field in a signal CSV -> csv.Error.
    """
    from scheduler.errors import InputError
    from scheduler.loading import parse_document, validate_data
    from scheduler.signals import FileSignal, build_signal
    from scheduler.traces import TraceSpec, read_trace

    for text in ("duration: !!float\n", "seed: !!int ''\n", "a: !!float ''\n"):
        with pytest.raises(InputError, match="an empty !!int or !!float value"):
            parse_document(text, "f.yaml")
    data = tiny_scenario()
    data["workloads"][0]["duration"] = {"distribution": [], "mean": "1h"}
    data["policy"] = {"placement": {"scores": [{"type": []}]}}
    with pytest.raises(InputError) as caught:
        validate_data(data)
    assert {p.where for p in caught.value.problems} == {
        "workloads.0.duration", "policy.placement.scores.0.type"}
    with pytest.raises(InputError, match="Error -3 while decompressing"):
        list(read_trace(TraceSpec(format="tiresias",
                                  path=str(TRACE_DIR / "tiresias" / "corrupt_deflate.csv.gz"))))
    for name in ("corrupt_deflate.csv.gz", "lone_carriage_return.csv", "huge_field.csv"):
        with pytest.raises(InputError):
            build_signal(FileSignal(file=str(SIGNAL_DIR / name)), None, "grid.carbon_g_per_kwh")


def test_regression_every_problem_is_one_line(tmp_path):
    """Found by tests/test_fuzz.py: a key or a CSV header holding a newline split its problem
    over two lines, the second without ``error:``; newlines are now escaped."""
    from scheduler.errors import Problem

    assert str(Problem("a\nb", "c\r\nd")) == "a\\nb: c\\r\\nd"
    code, _, err = run_cli("validate", str(SCENARIO_DIR / "newline_in_key.yaml"))
    assert len(assert_input_error(code, err, "col\\nour")) == 1


def test_simulate_refuses_a_seed_out_of_range():
    """Found while building the corpus: simulate(seed=-1) reached numpy's SeedSequence (a
    ValueError, exit 1 from a script) and seed=2**64 passed although scenarios stop at 2**63."""
    from scheduler import simulate
    from scheduler.errors import InputError

    with pytest.raises(InputError):
        simulate(tiny_scenario(duration="1h"), seed=-1)
    with pytest.raises(InputError):
        simulate(tiny_scenario(duration="1h"), seed=2**64)


# =========================================================================== special files
# Issue 20, class 3 (unbounded reads) and 9 (a directory or /proc/self/mem as an input):
# every kind of input file refuses what is not a regular file, before reading it.

INPUT_KINDS = ["scenario", "sweep", "trace", "trace-in-scenario", "signal", "durations"]


def input_argv(kind: str, path: Path | str, folder: Path) -> list[str]:
    """A command line that reads ``path`` as an input of ``kind``."""
    if kind == "scenario":
        return ["validate", str(path)]
    if kind == "sweep":
        return ["sweep", str(path), "--out", str(folder / "out"), "--quiet"]
    if kind == "trace":
        return ["trace", "stats", str(path), "--format", "csv"]
    if kind == "trace-in-scenario":
        scenario = trace_scenario(folder, Path(path), "csv")
    elif kind == "signal":
        data = tiny_scenario(duration="2h")
        data["grid"] = {"carbon_g_per_kwh": {"file": str(path)}}
        scenario = write_scenario(folder, data)
    else:
        scenario = empirical_scenario(folder, path)
    return ["run", str(scenario), "--quiet"]


# name -> (path, fragment); "{tmp}" is the test's folder.
SPECIAL_PATHS = {
    "directory": ("{tmp}", "is a directory, expected a file"),
    "proc-self-mem": ("/proc/self/mem", "is a kernel pseudo-file"),
    "proc-self-environ": ("/proc/self/environ", "is a kernel pseudo-file"),
}


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("special", sorted(SPECIAL_PATHS))
@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_regression_special_path_as_input(tmp_path, kind, special):
    """Before: /proc/self/mem as a scenario or durations file and a directory as a durations
    file were tracebacks (EIO, IsADirectoryError); /proc/self/environ was read and its
    content (the environment) reached the error message."""
    path, fragment = SPECIAL_PATHS[special]
    path = path.replace("{tmp}", str(tmp_path))
    code, _, err = run_cli(*input_argv(kind, path, tmp_path))
    lines = assert_input_error(code, err, fragment)
    assert len(lines) == 1, lines
    assert "PATH=" not in err


def run_subprocess(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``python -m scheduler ARGV`` with a timeout: a blocked or endless read fails the test
    instead of hanging it."""
    return subprocess.run([sys.executable, "-m", "scheduler", *argv], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, **kwargs)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_regression_fifo_input_is_refused_without_blocking(tmp_path, kind):
    """Before: a FIFO nobody writes to blocked the reader for ever (scenario, sweep, signal
    and durations files; the trace reader already refused it)."""
    fifo = tmp_path / "input.fifo"
    os.mkfifo(fifo)
    started = time.perf_counter()
    proc = run_subprocess(input_argv(kind, fifo, tmp_path))
    assert_input_error(proc.returncode, proc.stderr, "is a pipe (FIFO), not a regular file")
    assert time.perf_counter() - started < 30


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_regression_endless_device_is_refused(tmp_path, kind):
    """Before: ``validate /dev/zero`` trusted st_size (0) and read until memory ran out."""
    proc = run_subprocess(input_argv(kind, "/dev/zero", tmp_path))
    assert_input_error(proc.returncode, proc.stderr, "is a device, not a regular file")


def test_regression_scenario_from_a_pipe_is_refused():
    """Before: ``yes 'name: x' | clustersim validate /dev/stdin`` read 1.8 GB in 3 s, then
    more, without end."""
    with subprocess.Popen(["yes", "name: x"], stdout=subprocess.PIPE) as producer:
        try:
            proc = run_subprocess(["validate", "/dev/stdin"], stdin=producer.stdout)
        finally:
            producer.kill()
    assert_input_error(proc.returncode, proc.stderr, "is a pipe (FIFO)")


def test_regression_yaml_1_1_octal_and_base_60_numbers(tmp_path):
    """Issue 20.7: YAML 1.1 read ``count: 010`` as 8 (octal) and ``duration: 1:30`` as 90
    (base 60). A leading zero is now decimal as in YAML 1.2 (``0o10`` and ``0x10`` stay
    octal and hex), and ``a:b`` is text, refused where a number or time is expected."""
    from scheduler.loading import parse_document

    data, _ = parse_document("a: 010\nb: -007\nc: 0o10\nd: 0x10\ne: 1_000\nf: 0\n"
                             "g: 1:30\nh: 1:30.5\ni: 010.5\nj: 0b11\n", "x.yaml")
    assert data == {"a": 10, "b": -7, "c": 8, "d": 16, "e": 1000, "f": 0, "g": "1:30",
                    "h": "1:30.5", "i": 10.5, "j": 3}
    text = yaml.safe_dump(tiny_scenario(), sort_keys=False).replace("count: 4", "count: 010")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    from scheduler.loading import load_scenario

    assert load_scenario(path).sites[0].nodes[0].count == 10
    code, _, err = run_cli("run", str(path), "--quiet", "--set", "duration=1:30")
    assert_input_error(code, err, "duration: cannot read '1:30' as a time")


def test_regression_simulate_refuses_wrong_types_and_limits():
    """Issue 20.7: ``simulate(None)`` raised AttributeError and ``max_events=-5`` was
    accepted. Both are input errors now (the first also a TypeError)."""
    from scheduler import simulate
    from scheduler.errors import InputError

    for bad in (None, 3, [1], b"s.yaml"):
        with pytest.raises(TypeError, match="scenario: expected a Scenario, a file path or"):
            simulate(bad)
        with pytest.raises(InputError):
            simulate(bad)
    ok = tiny_scenario(duration="1h")
    for kwargs, fragment in ((dict(max_events=-5), "max_events: must be a whole number >= 1"),
                             (dict(max_events=0), "max_events: must be a whole number >= 1"),
                             (dict(max_events=2.5), "max_events: must be a whole number >= 1"),
                             (dict(max_events=True), "max_events: must be a whole number"),
                             (dict(max_wall_time_s=-1), "max_wall_time_s: must be a number > 0"),
                             (dict(max_wall_time_s=float("nan")), "max_wall_time_s: must be"),
                             (dict(max_wall_time_s="1h"), "max_wall_time_s: must be a number")):
        with pytest.raises(InputError, match=fragment):
            simulate(ok, **kwargs)
    assert simulate(ok, max_events=5).summary["interrupted"] is True


@pytest.mark.parametrize(("path", "value", "fragment"), [
    ("workloads.0.speedup", {"H100": 1e-300}, "greater than or equal to 0.001"),
    ("workloads.0.speedup", {"H100": 1e4}, "less than or equal to 1000"),
    ("gpu_types", {"H100": {"idle_w": "20 kW"}}, "less than or equal to 10000"),
    ("gpu_types", {"H100": {"busy_w": 1e300}}, "power must be at most 1e+12 W"),
    ("gpu_types", {"H100": {"bf16_tflops": 1e300}}, "less than or equal to 1000000"),
    ("network", {"fibre_us_per_km": 1e300}, "less than or equal to 1000"),
    ("network", {"route_factor": 1e300}, "less than or equal to 10"),
    ("network", {"bandwidth_gbps": 1e300}, "less than or equal to 1000000"),
    ("network", {"links": [{"a": "A", "b": "B", "latency_ms": 1,
                            "bandwidth_gbps": 1e-300}]}, "greater than or equal to 0.001"),
    ("workloads.0.duration", {"distribution": "empirical", "values": [60], "scale": 1e-300},
     "greater than or equal to 0.000001"),
    ("sites.0.power_cap", 1e300, "power must be at most 1e+12 W"),
    ("sites.0.nodes.0.overhead_w", "2 MW", "less than or equal to 1000000"),
])
def test_regression_absurd_values_are_refused_with_the_bound(path, value, fragment):
    """Issue 20.7: physically absurd values validated and then gave inf (a traceback at
    summary writing) or results like 2.3e296 MWh. Each is refused, naming the bound."""
    from scheduler.errors import InputError
    from scheduler.loading import apply_override, validate_data

    data = apply_override(tiny_scenario(), path, value)
    with pytest.raises(InputError, match=re.escape(fragment)):
        validate_data(data)


def test_the_bounds_admit_every_built_in_gpu_type_and_scenario():
    """The bounds leave room: every catalog type and every shipped scenario still loads."""
    from scheduler.catalog import builtin_gpu_types
    from scheduler.loading import load_scenario, validate_data

    types = {name: {"busy_w": t.busy_w, "idle_w": t.idle_w, "memory_gb": t.memory_gb,
                    "bf16_tflops": t.bf16_tflops,
                    "host_overhead_w_per_8_gpus": t.host_overhead_w_per_8_gpus}
             for name, t in builtin_gpu_types().items()}
    validate_data(tiny_scenario(gpu_types=types))
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        if "scenario" not in (yaml.safe_load(path.read_text()) or {}):  # not a sweep file
            load_scenario(path)


def test_regression_memory_is_estimated_before_running(tmp_path, monkeypatch):
    """Issue 20.7: 45 M jobs (under the 50 M job limit) were "valid", then the run grew past
    the machine's memory (~1.15 kB per waiting job). The estimate (jobs x 1,200 B, measured:
    scheduler/memory.py) is checked against the available memory before anything is built,
    by ``run``, ``validate`` and ``simulate()`` alike, in a real subprocess too."""
    from scheduler import simulate
    from scheduler.errors import InputError
    from scheduler.memory import BYTES_PER_JOB, check_memory, expected_jobs, parse_size
    from scheduler.scenario import Scenario

    data = tiny_scenario(duration="10d")
    data["workloads"][0]["arrival"]["rate_per_hour"] = 10_000  # 2.4 M jobs, ~2.9 GB
    data["workloads"][1]["max_jobs"] = 5
    assert expected_jobs(Scenario.model_validate(data)) == pytest.approx(2_400_005)
    monkeypatch.setenv("CLUSTERSIM_MEMORY_LIMIT", "1GB")
    with pytest.raises(InputError, match=r"about 2,400,005 jobs need an estimated 2\.9 GB"):
        simulate(data)
    path = write_scenario(tmp_path, data)
    for command in ("validate", "run"):
        code, _, err = run_cli(command, str(path))
        assert_input_error(code, err, "more than the 1.0 GB of CLUSTERSIM_MEMORY_LIMIT")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLUSTERSIM_MEMORY_LIMIT": "2.5 GiB"}
    proc = subprocess.run([sys.executable, "-m", "scheduler", "run", str(path)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert_input_error(proc.returncode, proc.stderr, "more than the 2.7 GB of")
    monkeypatch.setenv("CLUSTERSIM_MEMORY_LIMIT", "lots")
    assert_input_error(*run_cli("validate", str(path))[::2], "CLUSTERSIM_MEMORY_LIMIT: cannot "
                       "read 'lots' as a size")
    assert parse_size("16GB") == 16 * 10**9 and parse_size("512 MiB") == 512 * 2**20
    assert parse_size("1234") == 1234 and BYTES_PER_JOB >= 1150
    # Streamed, the same jobs need ~500 B each (the end phase): 1.2 GB fits under 2 GB, and
    # the refusal of the run in memory says so.
    monkeypatch.setenv("CLUSTERSIM_MEMORY_LIMIT", "2GB")
    check_memory(Scenario.model_validate(data), streamed=True)
    with pytest.raises(InputError, match=r"stream the run \(--stream, stream_to=: ~500 bytes"):
        check_memory(Scenario.model_validate(data))
    assert run_cli("validate", str(path), "--stream")[0] == 0
    assert_input_error(*run_cli("validate", str(path))[::2], "stream the run (--stream")
