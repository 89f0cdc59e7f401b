"""The former home of model files and checkpoints, kept so that existing imports keep working.

Everything here is :mod:`gdlab.io`; new code imports it from there.
"""

from gdlab.io import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_KEY,
    Checkpoint,
    load,
    load_checkpoint,
    save,
    save_checkpoint,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HEADER_KEY",
    "Checkpoint",
    "load",
    "load_checkpoint",
    "save",
    "save_checkpoint",
]
