"""GPU generation swaps, expanded at load: one node group per generation.

``{gpu: H100, gpus_per_node: 8, count: 10, swap: {at: 2028-06-01, gpu: B200}}`` becomes the
H100 group with ``offline: 2028-06-01`` followed, in the same site, by a B200 group (same
count and node size unless the swap gives them) with ``online: 2028-06-01``, and its
``offline`` the original group's. A chain of swaps gives one group per generation. The old
group's jobs are preempted at the swap and requeued (docs/timeline.md), and at the instant
of the swap the new group comes up first.

The expansion works on the scenario as written (before validation turns dates into seconds),
so ``clustersim validate`` prints the dates as given; the scenario is validated once as
written first, so every error names the field the user wrote.
"""

from __future__ import annotations

from typing import Any

from scheduler.timeline_specs import as_swap_list


def expand_group(group: dict[str, Any]) -> list[dict[str, Any]]:
    """The node groups, one per generation, that a group with ``swap`` stands for."""
    swaps = list(as_swap_list(group.get("swap") or []))
    current = {key: value for key, value in group.items() if key != "swap"}
    end = current.pop("offline", None)
    out = []
    for swap in swaps:
        current["offline"] = swap["at"]
        out.append(current)
        current = {"gpu": swap["gpu"],
                   "gpus_per_node": swap.get("gpus_per_node", current["gpus_per_node"]),
                   "count": swap.get("count", current["count"]), "online": swap["at"]}
        current.update({key: swap[key] for key in ("overhead_w", "ramp") if key in swap})
    if end is not None:
        current["offline"] = end
    out.append(current)
    return out


def expand_swaps(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of the raw scenario with every swapped group expanded (sites' other keys kept)."""
    sites = []
    for site in data["sites"]:
        nodes: list[Any] = []
        for group in site.get("nodes") or []:
            nodes += expand_group(group) if group.get("swap") else [group]
        sites.append({**site, "nodes": nodes})
    return {**data, "sites": sites}
