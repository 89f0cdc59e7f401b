"""The former home of :func:`atomic_write`, kept so that existing imports keep working.

It lives in :mod:`gdlab.io` now; new code imports it from there.
"""

from gdlab.io import atomic_write

__all__ = ["atomic_write"]
