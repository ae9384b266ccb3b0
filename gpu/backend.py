"""The array backend: NumPy everywhere, CuPy when a CUDA device answers.

Contract: :func:`get_backend` is called once per run; kernels receive ``backend.xp`` and never
import CuPy themselves. CuPy is imported lazily here and nowhere at package import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

BACKEND_NAMES = ("auto", "numpy", "cupy")


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here (the message says why, in one line)."""


@dataclass(frozen=True)
class Backend:
    """A chosen array namespace and how to move arrays to and from it."""

    name: str
    """``numpy`` or ``cupy`` (or another array-API namespace's name in tests)."""
    xp: Any
    """The array module kernels compute with."""

    def asarray(self, array: Any, dtype: Any = None) -> Any:
        """Host (or device) array -> this backend's array."""
        return self.xp.asarray(array, dtype=dtype)

    def to_host(self, array: Any) -> np.ndarray:
        """This backend's array -> NumPy array (a device-to-host copy on CuPy)."""
        if self.name == "cupy":
            return array.get()
        return np.asarray(array)


def _load_cupy() -> ModuleType:
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library load failure
        raise BackendUnavailableError(f"CuPy cannot be imported ({type(exc).__name__}: "
                                      f"{exc}); install the 'gpu' extra on a CUDA machine") from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise BackendUnavailableError("CuPy imports but no CUDA device is visible")
        cupy.zeros(1).sum().item()  # a device that answers
    except BackendUnavailableError:
        raise
    except Exception as exc:
        raise BackendUnavailableError(f"CuPy imports but the CUDA device does not answer "
                                      f"({type(exc).__name__}: {exc})") from None
    return cupy


def get_backend(name: str = "auto") -> Backend:
    """``auto`` -> CuPy when usable else NumPy; ``cupy`` raises when it cannot run."""
    if name == "numpy":
        return Backend("numpy", np)
    if name == "cupy":
        return Backend("cupy", _load_cupy())
    if name == "auto":
        try:
            return Backend("cupy", _load_cupy())
        except BackendUnavailableError:
            return Backend("numpy", np)
    raise BackendUnavailableError(f"unknown backend {name!r}; choose one of "
                                  f"{', '.join(BACKEND_NAMES)}")
