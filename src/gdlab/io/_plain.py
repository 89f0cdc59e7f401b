"""Checked conversions between plain JSON values, named arrays and Python values, shared by the
model-file codecs: every failure is a :class:`~gdlab.exceptions.ModelFileError` naming the value."""

from __future__ import annotations

import math
from typing import Any, NoReturn

import numpy as np

from gdlab.exceptions import ModelFileError

__all__ = ["ArrayStore", "dec_dict", "dec_float", "dec_int", "fail"]


def fail(message: str) -> NoReturn:
    raise ModelFileError(message)


# ---- plain values ------------------------------------------------------------------------------
def dec_float(value: Any, where: str, *, finite: bool = True, none: bool = False) -> Any:
    if value is None and none:
        return None
    if isinstance(value, str) and not finite and value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(f"{where} should be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value):
        fail(f"{where} is not finite")
    return value


def dec_int(value: Any, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2**63:
        fail(f"{where} should be an integer >= {low}, not {value!r}")
    return int(value)


def dec_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(f"{where} should be a JSON object")
    return value


class ArrayStore:
    """The archive's arrays; each must be used exactly once."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.used: set[str] = set()

    def get(self, key: Any, where: str, *, kinds: str = "f", finite: bool = True) -> np.ndarray:
        if not isinstance(key, str) or key not in self.arrays:
            fail(f"{where} refers to a missing array {key!r}")
        if key in self.used:
            fail(f"{where} reuses array {key!r}")
        self.used.add(key)
        array = self.arrays[key]
        if array.dtype.kind not in kinds:
            fail(f"{where} has dtype {array.dtype}, expected kind {kinds!r}")
        if finite and array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            fail(f"{where} contains NaN or infinite values")
        return array
