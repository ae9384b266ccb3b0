"""The few operations whose spelling differs between NumPy, CuPy and the array API standard.

Kernels call these instead of array methods (``x.astype``) or NumPy-only functions, so they
run unchanged on NumPy, CuPy and a strict array-API namespace (used in tests to catch
NumPy-only idioms before they break on a GPU).
"""

from __future__ import annotations

from typing import Any


def astype(xp: Any, x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype`` (array API ``xp.astype``, or the array method)."""
    convert = getattr(xp, "astype", None)
    return convert(x, dtype) if convert is not None else x.astype(dtype)


def take(xp: Any, x: Any, indices: Any, axis: int = 0) -> Any:
    """Gather along one axis with an integer index array."""
    return xp.take(x, indices, axis=axis)


def cumsum(xp: Any, x: Any) -> Any:
    """Inclusive cumulative sum of a 1-D array."""
    op = getattr(xp, "cumulative_sum", None) or xp.cumsum
    return op(x)


def bool_dtype(xp: Any) -> Any:
    """The boolean dtype object of ``xp`` (``xp.bool``; older CuPy spells it ``bool_``)."""
    return getattr(xp, "bool", None) or xp.bool_
