"""Node failures: when a running segment fails, and which node of it failed.

Failures strike GPUs independently at a constant rate (Llama 3's interruption rate by
default): a segment on ``g`` GPUs fails after an exponential time of rate ``g x rate``.
"""

from __future__ import annotations

import math

import numpy as np

BLOCK = 65536
"""Unit exponentials drawn per RNG call (one call per 65,536 starts instead of one each)."""


class FailureClock:
    """Draws failure times and failed nodes from the run's failure stream."""

    def __init__(self, rate_per_gpu_hour: float, rng: np.random.Generator) -> None:
        self.rate_per_gpu_s = rate_per_gpu_hour / 3600.0
        self.rng = rng
        self._block: list[float] = []
        self._index = 0

    def _next_exponential(self) -> float:
        if self._index >= len(self._block):
            self._block = self.rng.exponential(1.0, BLOCK).tolist()
            self._index = 0
        value = self._block[self._index]
        self._index += 1
        return float(value)

    def failure_at(self, now: float, gpus: int) -> float:
        """When a segment starting now on ``gpus`` GPUs fails (inf without failures)."""
        if self.rate_per_gpu_s <= 0:
            return math.inf
        return now + self._next_exponential() / (self.rate_per_gpu_s * gpus)

    def failed_node(self, nodes: tuple[int, ...]) -> int:
        """The node of a failing segment that went down (uniform over its nodes)."""
        return int(nodes[int(self.rng.integers(0, len(nodes)))])
