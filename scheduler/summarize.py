"""From a finished run (:class:`~scheduler.runtime.record.RunRecord`) to a
:class:`~scheduler.results.Result`: the flat summary (CONTRACT.md keys), per-job records,
the time series and nested details.

Definitions (also in docs):

* wait = first start - arrival, over started jobs; JCT = end - arrival, over completed jobs.
  Wait, JCT, slowdown, fairness and makespan leave out inference service replicas (they run
  until scaled down: no duration, no completion); the job counts include them.
* slowdown = JCT / duration; bounded slowdown = max(1, JCT / max(duration, 10 s)).
* finish-time fairness (Themis, NSDI'20) rho = JCT / T_isolated, with T_isolated the
  duration stretched when the job is larger than a 1/N share of the cluster's GPUs
  (N tenants): duration x max(1, gpus / (GPUs / N)).
* Jain's index over tenants (and over workloads) of their mean bounded slowdown's inverse
  (1 = all equal).
* lost GPU-hours: computation thrown away by preemptions and failures (work since the last
  checkpoint).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scheduler.energy import (
    J_PER_KWH,
    J_PER_MWH,
    EnergyAccount,
    account,
    cluster_peak_series,
    site_series,
)
from scheduler.jobs import KIND_NAMES, STATUS_NAMES, Status
from scheduler.metrics import (
    mean_or_none,
    percentile_or_none,
    step_function_means,
    step_means,
)
from scheduler.period_outputs import period_outputs
from scheduler.results import Result
from scheduler.steady_state import (
    arrivals_are_drawn,
    measured_jobs,
    steady_state_warnings,
    utilization_after,
)
from scheduler.timeline import group_windows, has_timeline, online_gpu_seconds, online_gpus_steps
from scheduler.waiting import waiting_figures

if TYPE_CHECKING:
    from scheduler.runtime.record import RunRecord

DEFAULT_TIMESERIES_POINTS = 500
BOUNDED_SLOWDOWN_FLOOR_S = 10.0


def jain_index(values: np.ndarray) -> float | None:
    """(sum x)^2 / (n sum x^2): 1 when all equal, 1/n when one takes everything."""
    values = values[np.isfinite(values)]
    if values.size == 0 or not np.any(values):
        return None
    return float(values.sum() ** 2 / (values.size * np.square(values).sum()))


def replica_mask(run: RunRecord) -> np.ndarray:
    """True for the jobs that are replicas of an inference service (not batch jobs)."""
    services = np.array(sorted(run.services.by_workload), dtype=np.int64)
    return np.isin(run.jobs.view("workload"), services)


def text_column(names: Sequence[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``names[code]`` for each code, as pandas' text column of this pandas version (the
    dtype it infers for strings), built without a Python string per row where that dtype
    allows it (Arrow strings: a year's job table has ~10^7 rows)."""
    return pd.Series(list(names)).array.take(codes.astype(np.intp, copy=False))


def _job_sites(run: RunRecord) -> pd.api.extensions.ExtensionArray:
    """Site names of each job's segments in order, joined by '+' (multi-site jobs); "" for
    a job that never started."""
    names = list(run.cluster.site_names)
    site = run.jobs.view("site")
    codes = np.where(site >= 0, site, len(names))  # names[len(names)] is ""
    labels = [*names, ""]
    seg = run.segments
    seg_job, seg_site = seg.view("job"), seg.view("site")
    if seg.size:
        order = np.argsort(seg_job, kind="stable")
        jobs_sorted, sites_sorted = seg_job[order], seg_site[order]
        starts = np.flatnonzero(np.r_[True, np.diff(jobs_sorted) != 0])
        first_site = np.repeat(sites_sorted[starts], np.diff(np.r_[starts, jobs_sorted.size]))
        # Only jobs with a segment off their first site are joined (splitting all 200,000
        # jobs' segments cost 1 s); the rest keep the site recorded above.
        multi = np.isin(jobs_sorted, jobs_sorted[sites_sorted != first_site])
        jobs_sorted, sites_sorted = jobs_sorted[multi], sites_sorted[multi]
        boundaries = np.flatnonzero(np.diff(jobs_sorted)) + 1
        joined: dict[str, int] = {}
        for chunk_jobs, chunk_sites in zip(np.split(jobs_sorted, boundaries),
                                           np.split(sites_sorted, boundaries), strict=True):
            distinct = list(dict.fromkeys(chunk_sites.tolist()))
            if len(distinct) > 1:
                label = "+".join(names[s] for s in distinct)
                codes[int(chunk_jobs[0])] = joined.setdefault(label, len(labels) + len(joined))
        labels += list(joined)
    return text_column(labels, codes)


def build_result(run: RunRecord, wall_time_s: float, scenario_name: str,
                 scenario_text: str) -> Result:
    """Summary, job table, time series and details of a finished run."""
    jobs = run.jobs
    cluster = run.cluster
    n = jobs.size
    status = jobs.view("status")
    arrival = jobs.view("arrival_s")
    start = jobs.view("start_s")
    end = jobs.view("end_s")
    duration = jobs.view("duration_s")
    gpus = jobs.view("gpus")
    period = run.end_time
    # The energy account and the time series first: their temporaries (tens of bytes per
    # segment) then do not add to the per-job arrays below (the end of a year-long run is
    # its memory peak).
    energy = account(run, period)
    step = _timeseries_step(run.scenario, period)
    series = _timeseries(run, energy, period, step)
    started = ~np.isnan(start)
    completed = status == Status.COMPLETED
    replica = replica_mask(run)
    # Job statistics cover training jobs (replicas are services, not jobs) arriving after
    # the warm-up (scheduler.steady_state); slowdown and fairness are defined for every
    # completed training job (jobs.csv), the statistics over the measured ones.
    measured = measured_jobs(arrival, run.scenario.warmup) & ~replica
    done = completed & ~replica
    counted = done & measured
    wait = (start - arrival)[started & measured]
    jct_all = end - arrival
    jct = jct_all[counted]
    seg = run.segments
    seg_start, seg_end, seg_gpus = seg.view("start_s"), seg.view("end_s"), seg.view("gpus")
    seg_site, seg_job = seg.view("site"), seg.view("job")
    busy_gpu_s = float(np.sum(seg_gpus * (seg_end - seg_start)))
    online_site_gpu_s = _online_site_gpu_s(run, period)
    capacity_gpu_s = (cluster.total_gpus * period if online_site_gpu_s is None
                      else float(online_site_gpu_s.sum()))

    slowdown = np.where(done, jct_all / np.maximum(duration, 1e-9), np.nan)
    bounded = np.where(done, np.maximum(1.0, jct_all / np.maximum(
        duration, BOUNDED_SLOWDOWN_FLOOR_S)), np.nan)
    n_tenants = max(1, len(run.tenants.names))
    share = cluster.total_gpus / n_tenants if cluster.total_gpus else 1.0
    isolated = duration * np.maximum(1.0, gpus / share)
    ftf = np.where(done, jct_all / np.maximum(isolated, 1e-9), np.nan)

    summary: dict[str, Any] = {
        "scenario": scenario_name,
        "seed": run.seed,
        "backend": run.backend_name,
        "queue_policy": run.policy_name,
        "jobs_submitted": int(n),
        "jobs_completed": int(completed.sum()),
        "jobs_rejected": int((status == Status.REJECTED).sum()),
        "jobs_unfinished": int((status == Status.UNFINISHED).sum()),
        "jobs_failed": int((status == Status.FAILED).sum()),
        "jobs_never_started": int(((status == Status.UNFINISHED) & ~started).sum()),
        "mean_wait_s": mean_or_none(wait),
        "p50_wait_s": percentile_or_none(wait, 50),
        "p95_wait_s": percentile_or_none(wait, 95),
        "p99_wait_s": percentile_or_none(wait, 99),
        "mean_jct_s": mean_or_none(jct),
        "p50_jct_s": percentile_or_none(jct, 50),
        "p95_jct_s": percentile_or_none(jct, 95),
        "p99_jct_s": percentile_or_none(jct, 99),
        "mean_slowdown": mean_or_none(slowdown[counted]),
        "mean_bounded_slowdown": mean_or_none(bounded[counted]),
        "p95_bounded_slowdown": percentile_or_none(bounded[counted], 95),
        "makespan_s": (float(end[done].max() - arrival[~replica].min()) if done.any() else None),
        "gpu_utilization": busy_gpu_s / capacity_gpu_s if capacity_gpu_s > 0 else 0.0,
        "gpu_hours_busy": busy_gpu_s / 3600.0,
        "gpus_total": int(cluster.total_gpus),
        "nodes_total": int(cluster.n_nodes),
        "preemptions": int(jobs.view("preemptions").sum()),
        "failures": int(jobs.view("failures").sum()),
        "node_repairs": int(run.node_repairs),
        "lost_gpu_hours": float(jobs.view("lost_gpu_s").sum() / 3600.0),
        "energy_it_mwh": sum(s.energy_it_j for s in energy.sites) / J_PER_MWH,
        "energy_facility_mwh": sum(s.energy_facility_j for s in energy.sites) / J_PER_MWH,
        "carbon_t": _sum_or_none([s.carbon_g for s in energy.sites], 1e6),
        "energy_cost_eur": _sum_or_none([s.cost_eur for s in energy.sites], 1.0),
        "peak_facility_power_mw": energy.cluster_peak_w / 1e6,
        "simulated_time_s": float(period),
        "interrupted": run.stop.reason is not None,
        "stop_reason": run.stop.reason,
        "wall_time_s": wall_time_s,
        "events": int(run.events),
        "scheduling_cycles": int(run.cycles),
    }
    if online_site_gpu_s is not None:
        summary["gpu_hours_online"] = capacity_gpu_s / 3600.0
    per_tenant = _per_group(run.tenants.names, jobs.view("tenant"), counted, bounded, ftf,
                            gpus, seg_job, seg_gpus, seg_end - seg_start)
    summary["jain_index_tenants"] = jain_index(
        np.array([1.0 / t["mean_bounded_slowdown"] for t in per_tenant.values()
                  if t["mean_bounded_slowdown"]]))
    summary["max_finish_time_fairness"] = (float(np.nanmax(ftf[counted])) if counted.any()
                                           else None)
    summary["sites"] = _site_summary(run, energy, seg_site, seg_gpus, seg_end - seg_start,
                                     started, period)

    workload_names = [source.name for source in run.sources]
    per_workload = _per_group(workload_names, jobs.view("workload"), counted, bounded, ftf,
                              gpus, seg_job, seg_gpus, seg_end - seg_start)
    summary["jain_index_workloads"] = jain_index(
        np.array([1.0 / w["mean_bounded_slowdown"] for w in per_workload.values()
                  if w["mean_bounded_slowdown"]]))
    del wait, jct, isolated, ftf  # per-job temporaries: the end of a long run is its peak
    details = _details(run, status, per_tenant, per_workload)
    for key in ("trace_rows_read", "trace_rows_skipped"):
        if key in details:
            summary[key] = details.pop(key)

    _add_inference(run, summary, details, energy, seg_job, seg_gpus * (seg_end - seg_start))
    reason_codes = jobs.view("reason")
    # Rejected jobs carry their reason; jobs that never started carry why they last waited.
    shown_reason = np.where((status == Status.REJECTED) | ~started, reason_codes, len(run.reasons))
    has_grid = any(s is not None for s in run.carbon)
    summary["timeseries_step_s"] = step
    summary.update(warmup_s=float(run.scenario.warmup), jobs_measured=int(measured.sum()),
                   gpu_utilization_after_warmup=utilization_after(
                       seg_start, seg_end, seg_gpus,
                       _mean_online_gpus(run, run.scenario.warmup, period),
                       run.scenario.warmup, period))
    periods = period_outputs(run, energy, series, ~replica)
    job_energy = energy.job_energy_j / J_PER_KWH
    job_carbon = energy.job_carbon_g / 1000.0 if has_grid else np.full(n, np.nan)
    job_cost = (energy.job_cost_eur if any(s is not None for s in run.price)
                else np.full(n, np.nan))
    del energy  # its power step functions: two rows per segment and site
    job_frame = pd.DataFrame({
        "job_id": np.arange(n, dtype=np.int64),
        "workload": text_column(workload_names, jobs.view("workload")),
        "kind": text_column(KIND_NAMES, jobs.view("kind")),
        "tenant": text_column(run.tenants.names or [""], jobs.view("tenant")),
        "gpus": gpus,
        "arrival_s": arrival,
        "start_s": start,
        "end_s": end,
        "duration_s": duration,
        "status": text_column([STATUS_NAMES[i] for i in range(len(STATUS_NAMES))], status),
        "site": _job_sites(run),
        "wait_s": start - arrival,
        "jct_s": np.where(done, jct_all, np.nan),
        "slowdown": slowdown,
        "bounded_slowdown": bounded,
        "deferred_s": jobs.view("released_s") - arrival,
        "reservation_s": jobs.view("reservation_s"),
        "preemptions": jobs.view("preemptions"),
        "failures": jobs.view("failures"),
        "lost_gpu_hours": jobs.view("lost_gpu_s") / 3600.0,
        "energy_facility_kwh": job_energy,
        "carbon_kg": job_carbon,
        "energy_cost_eur": job_cost,
        "reason": text_column([*run.reasons, ""], shown_reason),
    }, copy=False)  # share the job table's columns, no consolidated copy: a year's peak
    waiting_summary, waiting_details = waiting_figures(run, job_frame)
    summary.update(waiting_summary)
    details.update(waiting_details)
    summary["warnings"] = steady_state_warnings(summary, job_frame, series,
                                                float(run.scenario.duration),
                                                float(run.scenario.warmup),
                                                arrivals_are_drawn(run.scenario.workloads))
    if periods is not None:
        periods.add_to(summary, details)
    return Result(summary, job_frame, series, scenario_text, details)


def _add_inference(run: RunRecord, summary: dict[str, Any], details: dict[str, Any],
                   energy: EnergyAccount, seg_job: np.ndarray, seg_gpu_s: np.ndarray) -> None:
    """Inference vs training GPU-hours, and per-service SLO, latency, replicas, energy."""
    kind = run.jobs.view("kind")
    inference = kind[seg_job] == KIND_NAMES.index("inference")
    inference_h = float(seg_gpu_s[inference].sum() / 3600.0)
    training_h = float(seg_gpu_s[~inference].sum() / 3600.0)
    summary["training_gpu_hours"] = training_h
    summary["inference_gpu_hours"] = inference_h
    total = inference_h + training_h
    summary["inference_gpu_share"] = inference_h / total if total else 0.0
    flat, services = run.services.summary()
    summary.update(flat)
    if not services:
        return
    workloads = run.jobs.view("workload")
    for service in run.services.services:
        entry = services[service.spec.name]
        energy_kwh = energy.service_energy_j[service.index] / J_PER_KWH
        rows = workloads[seg_job] == service.index
        entry["replica_hours"] = float((seg_gpu_s[rows]).sum() / 3600.0 / service.spec.replica_gpus)
        entry["gpu_hours"] = float(seg_gpu_s[rows].sum() / 3600.0)
        entry["energy_facility_kwh"] = energy_kwh
        entry["energy_kwh_per_1k_requests"] = (1000 * energy_kwh / entry["requests"]
                                               if entry["requests"] else None)
        entry["energy_kwh_per_m_tokens"] = (1e6 * energy_kwh / entry["tokens"]
                                            if entry["tokens"] else None)
        entry.update(_service_detail(run, service, entry, rows, seg_gpu_s))
    requests = sum(e["requests"] for e in services.values())
    energy_all = sum(e["energy_facility_kwh"] for e in services.values())
    summary["inference_energy_kwh_per_1k_requests"] = 1000 * energy_all / requests if requests else None
    details["services"] = services


def _service_detail(run: RunRecord, service: Any, entry: dict[str, Any], rows: np.ndarray,
                    seg_gpu_s: np.ndarray) -> dict[str, Any]:
    """A service's targets, GPUs per 1,000 requests and where its replicas ran."""
    spec = service.spec
    site_names = run.cluster.site_names
    hours = np.bincount(run.segments.view("site")[rows], weights=seg_gpu_s[rows],
                        minlength=len(site_names)) / 3600.0
    ready = entry.get("mean_ready_replicas")
    return {
        "slo_ttft_s": spec.slo.ttft, "slo_tpot_s": spec.slo.tpot,
        "slo_percentile": spec.slo.percentile, "replica_gpus": spec.replica_gpus,
        "mean_ready_gpus": ready * spec.replica_gpus if ready is not None else None,
        "gpu_hours_per_1k_requests": (1000 * entry["gpu_hours"] / entry["requests"]
                                      if entry["requests"] else None),
        "sites": {name: {"replica_hours": float(h) / spec.replica_gpus, "gpu_hours": float(h)}
                  for name, h in zip(site_names, hours.tolist(), strict=True) if h > 0},
    }


def _sum_or_none(values: list[float | None], scale: float) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / scale if known else None


def _site_summary(run: RunRecord, energy: EnergyAccount, seg_site: np.ndarray, seg_gpus: np.ndarray,
                  seg_len: np.ndarray, started: np.ndarray, period: float) -> dict[str, Any]:
    cluster = run.cluster
    sites: dict[str, dict[str, Any]] = {}
    online = _online_site_gpu_s(run, period)
    job_site = run.jobs.view("site")
    for s, name in enumerate(cluster.site_names):
        mask = seg_site == s
        busy = float(np.sum(seg_gpus[mask] * seg_len[mask]))
        gpus = int(cluster.site_gpus[s])
        acct = energy.sites[s]
        cap = run.power.cap_w[s]
        available = gpus * period if online is None else float(online[s])
        sites[name] = {
            "gpus": gpus,
            "gpu_utilization": busy / available if available > 0 else 0.0,
            "jobs_started": int(((job_site == s) & started).sum()),
            "energy_it_mwh": acct.energy_it_j / J_PER_MWH,
            "energy_facility_mwh": acct.energy_facility_j / J_PER_MWH,
            "carbon_t": acct.carbon_g / 1e6 if acct.carbon_g is not None else None,
            "energy_cost_eur": acct.cost_eur,
            "peak_facility_power_mw": acct.peak_facility_w / 1e6,
            "power_cap_mw": float(cap) / 1e6 if np.isfinite(cap) else None,
            "time_at_cap_s": acct.time_at_cap_s,
            "time_over_cap_s": acct.time_over_cap_s,
        }
    return sites


def _per_group(names: list[str], codes: np.ndarray, completed: np.ndarray, bounded: np.ndarray,
               ftf: np.ndarray, gpus: np.ndarray, seg_job: np.ndarray, seg_gpus: np.ndarray,
               seg_len: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per tenant or workload: jobs, completions, mean bounded slowdown, FTF, GPU-hours
    (slowdown and FTF over the completed jobs that have them: not service replicas)."""
    out: dict[str, dict[str, Any]] = {}
    gpu_hours = np.bincount(codes[seg_job], weights=seg_gpus * seg_len,
                            minlength=len(names)) / 3600.0 if seg_job.size else np.zeros(len(names))
    for index, name in enumerate(names):
        mask = codes == index
        done = mask & completed
        out[name] = {
            "jobs": int(mask.sum()),
            "jobs_completed": int(done.sum()),
            "mean_bounded_slowdown": mean_or_none(bounded[done & ~np.isnan(bounded)]),
            "mean_finish_time_fairness": mean_or_none(ftf[done & ~np.isnan(ftf)]),
            "max_finish_time_fairness": (float(np.nanmax(ftf[done]))
                                         if (done & ~np.isnan(ftf)).any() else None),
            "gpu_hours": float(gpu_hours[index]) if index < gpu_hours.shape[0] else 0.0,
            "gpus_requested": int(gpus[mask].sum()),
        }
    return out


def _details(run: RunRecord, status: np.ndarray, per_tenant: dict[str, Any],
             per_workload: dict[str, Any]) -> dict[str, Any]:
    rejected: dict[str, int] = {}
    codes, counts = np.unique(run.jobs.view("reason")[status == Status.REJECTED],
                              return_counts=True)
    for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
        rejected[run.reasons[code]] = count
    details: dict[str, Any] = {"rejected_reasons": rejected, "tenants": per_tenant,
                               "workloads": per_workload}
    traces = {}
    for source in run.sources:
        if source.report is not None:
            report = source.report
            traces[source.name] = {
                "rows_read": report.rows_read, "rows_used": report.rows_used,
                "rows_skipped": report.rows_skipped,
                "skipped_reasons": dict(report.skipped_reasons),
                "skipped_examples": list(report.skipped_examples),
                "adjusted": dict(report.adjusted),
            }
    if traces:
        details["traces"] = traces
        details["trace_rows_read"] = sum(t["rows_read"] for t in traces.values())
        details["trace_rows_skipped"] = sum(t["rows_skipped"] for t in traces.values())
    return details


def _timeseries_step(scenario: Any, period: float) -> float:
    step = scenario.timeseries_step
    if step is None:
        step = period / DEFAULT_TIMESERIES_POINTS
    return float(max(step, period / 100_000)) if period > 0 else 1.0


def _timeseries(run: RunRecord, energy: EnergyAccount, period: float, step: float) -> pd.DataFrame:
    cluster = run.cluster
    jobs = run.jobs
    grid = np.arange(0.0, period, step)
    grid = grid[grid < period - step * 1e-6]  # no sliver step at the end
    grid = np.append(grid, period) if period > 0 else np.array([0.0, 1.0])
    seg = run.segments
    seg_start, seg_end, seg_gpus = seg.view("start_s"), seg.view("end_s"), seg.view("gpus")
    seg_site = seg.view("site")
    busy = step_means(seg_start, seg_end, seg_gpus, grid)
    running = step_means(seg_start, seg_end, np.ones_like(seg_gpus), grid)
    status = jobs.view("status")
    arrival = jobs.view("arrival_s")
    start = jobs.view("start_s")
    queued_until = start.copy()  # in place: ~10^7 jobs in a year
    queued_until[np.isnan(start)] = run.end_time
    rejected = status == Status.REJECTED
    queued_until[rejected] = arrival[rejected]
    del rejected
    queued = step_means(arrival, queued_until, np.ones(jobs.size), grid)
    online = _online_site_steps(run, grid)  # (sites, steps), None without a timeline
    columns: dict[str, np.ndarray] = {
        "time_s": grid[:-1],
        "busy_gpus": busy,
        "gpu_utilization": (busy / cluster.total_gpus if cluster.total_gpus else busy * 0)
        if online is None else _ratio(busy, online.sum(axis=0)),
        "running_jobs": running,
        "queued_jobs": queued,
    }
    if online is not None:
        columns["gpus_online"] = online.sum(axis=0)
    for s, name in enumerate(cluster.site_names):
        mask = seg_site == s
        gpus = int(cluster.site_gpus[s])
        site_busy = step_means(seg_start[mask], seg_end[mask], seg_gpus[mask], grid)
        columns[f"gpu_utilization[{name}]"] = (
            (site_busy / gpus if gpus else site_busy * 0) if online is None
            else _ratio(site_busy, online[s]))
    per_site = site_series(run, energy, grid)
    columns["facility_power_mw"] = sum(
        (v for k, v in per_site.items() if k.startswith("facility_power_mw[")),
        np.zeros(grid.shape[0] - 1))
    columns["facility_power_peak_mw"] = cluster_peak_series(energy, grid)
    columns.update(per_site)
    columns.update(_pending_reason_columns(run, grid))
    columns.update(_service_columns(run, grid))
    return pd.DataFrame(columns)


def _service_columns(run: RunRecord, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Per service: ready replicas, request rate, SLO attainment and backlog (means over each
    grid step), TTFT percentile and mean (the service step's value at the grid step's start)."""
    out: dict[str, np.ndarray] = {}
    for service in run.services.services:
        steps = service.steps
        if not steps:
            continue
        times = np.array([r.start for r in steps])
        name = service.spec.name
        out[f"replicas[{name}]"] = step_function_means(
            times, np.array([float(r.ready) for r in steps]), grid)
        out[f"request_rate_rps[{name}]"] = step_function_means(
            times, np.array([r.rate_rps for r in steps]), grid)
        out[f"slo_attainment[{name}]"] = step_function_means(
            times, np.array([r.attainment for r in steps]), grid)
        out[f"backlog_requests[{name}]"] = step_function_means(
            times, np.array([r.backlog_start for r in steps]), grid)
        # A percentile does not average over time: take each step's value at its start.
        at = np.searchsorted(times, grid[:-1], side="right") - 1
        for column, values in (("ttft_p_s", [r.ttft_p_s for r in steps]),
                               ("ttft_mean_s", [r.ttft_mean_s for r in steps])):
            ttft = np.array(values)
            out[f"{column}[{name}]"] = np.where(at >= 0, np.where(np.isfinite(ttft[at]),
                                                                  ttft[at], np.nan), np.nan)
    return out


def _pending_reason_columns(run: RunRecord, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Mean number of waiting jobs per reason over each step (from the cycle log). Jobs
    released after the last cycle of the run still count until its end."""
    log = run.pending_log
    if not log:
        return {}
    times = np.array([t for t, _ in log])
    codes = sorted({code for _, counts in log for code in counts})
    out: dict[str, np.ndarray] = {}
    for code in codes:
        values = np.array([counts.get(code, 0) for _, counts in log], dtype=np.float64)
        out[f"pending[{run.reasons[code]}]"] = step_function_means(times, values, grid)
    return out


def _ratio(busy: np.ndarray, available: np.ndarray) -> np.ndarray:
    """busy / available, 0 where nothing is available."""
    return np.where(available > 0, busy / np.where(available > 0, available, 1.0), 0.0)


def _online_site_gpu_s(run: RunRecord, period: float) -> np.ndarray | None:
    """GPU-seconds online per site over ``[0, period)``; None without a timeline (then
    every GPU is online throughout and the callers keep their plain product)."""
    if not has_timeline(run.scenario):
        return None
    cluster = run.cluster
    per_group = online_gpu_seconds(group_windows(run.scenario),
                                   (cluster.group_size * cluster.group_count).astype(float),
                                   0.0, period)
    return np.bincount(cluster.group_site, weights=per_group, minlength=len(cluster.site_names))


def _online_site_steps(run: RunRecord, grid: np.ndarray) -> np.ndarray | None:
    """Mean GPUs online per site and time step; None without a timeline."""
    if not has_timeline(run.scenario):
        return None
    cluster = run.cluster
    per_group = online_gpus_steps(group_windows(run.scenario),
                                  (cluster.group_size * cluster.group_count).astype(float), grid)
    out = np.zeros((len(cluster.site_names), grid.shape[0] - 1))
    np.add.at(out, cluster.group_site, per_group)
    return out


def _mean_online_gpus(run: RunRecord, start: float, end: float) -> float:
    """Mean GPUs online over ``[start, end)`` (all of them without a timeline)."""
    if not has_timeline(run.scenario) or end <= start:
        return run.cluster.total_gpus
    cluster = run.cluster
    return float(online_gpu_seconds(group_windows(run.scenario),
                                    (cluster.group_size * cluster.group_count).astype(float),
                                    start, end).sum()) / (end - start)
