"""Inter-site network: one-way latency and bandwidth between every pair of sites.

Latency comes from great-circle distance x route factor x fibre delay per km (4.9 us/km,
route ~1.3 x great-circle: PROVENANCE.md) unless a link is given explicitly. Sites without
coordinates get the default bandwidth and zero distance to everyone (a warning-free
fallback: the scenario did not say where they are).
"""

from __future__ import annotations

import math

import numpy as np

from scheduler.scenario import Scenario

EARTH_RADIUS_KM = 6371.0


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class Network:
    """Latency (s, one way) and bandwidth (bit/s) matrices indexed by site."""

    def __init__(self, scenario: Scenario) -> None:
        spec = scenario.network
        sites = scenario.sites
        n = len(sites)
        self.latency_s = np.zeros((n, n))
        self.bandwidth_bps = np.full((n, n), spec.bandwidth_gbps * 1e9)
        for i, a in enumerate(sites):
            for j, b in enumerate(sites):
                if i != j and a.location is not None and b.location is not None:
                    km = great_circle_km(a.location.lat, a.location.lon,
                                         b.location.lat, b.location.lon)
                    self.latency_s[i, j] = km * spec.route_factor * spec.fibre_us_per_km * 1e-6
        index = {site.name: i for i, site in enumerate(sites)}
        for link in spec.links:
            i, j = index[link.a], index[link.b]
            for x, y in ((i, j), (j, i)):
                self.latency_s[x, y] = link.latency_ms / 1000.0
                self.bandwidth_bps[x, y] = link.bandwidth_gbps * 1e9

    def transfer_s(self, source: int, target: int, gigabytes: float) -> float:
        """Time to move ``gigabytes`` from one site to another (0 within a site)."""
        if source == target or source < 0:
            return 0.0
        return float(self.latency_s[source, target]
                     + gigabytes * 8e9 / self.bandwidth_bps[source, target])
