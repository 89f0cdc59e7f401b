"""Kill a command line run from outside once it has written its first checkpoint (the resume
tests: whatever the moment, the checkpoint on disk must resume to the uninterrupted run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: ``gdlab`` in a fresh interpreter (the installed entry point may not be on PATH)
GDLAB = [sys.executable, "-c", "from gdlab.cli import main; main()"]


def kill_after_first_checkpoint(arguments: list[str], checkpoint: Path, settle: float) -> None:
    """Run ``gdlab *arguments`` (one BLAS thread), wait until ``checkpoint`` exists, ``settle``
    seconds more, then SIGKILL it; fail if it ended by itself first."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    run = subprocess.Popen([*GDLAB, *map(str, arguments)], env=env)
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(settle)
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL, "the run ended before it could be killed"
