"""Peak memory of a streamed fit does not grow with the size of the file (measured in a
subprocess, whose whole peak resident memory is the fit's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gdlab.data.synthetic import write_regression_parquet

FIT = """
import json, sys
import gdlab
from gdlab.data.synthetic import peak_rss_bytes
src = gdlab.data.parquet(sys.argv[1], target="y", batch_rows=65536)
model = gdlab.GDRegressor(batch_size={batch}, optimizer="sgd", learning_rate=0.1, max_iter=2,
                          tol=None, standardize=True, random_state=0).fit(src)
print(json.dumps({{"peak": peak_rss_bytes(), "coef0": float(model.coef_[0])}}))
"""

MB = 1 << 20


def _peak(path, batch):
    out = subprocess.run(
        [sys.executable, "-c", FIT.format(batch=batch), str(path)],
        capture_output=True,
        text=True,
        check=True,
        # one BLAS thread: each OpenBLAS thread's work buffer makes the peak jitter by tens of MB
        # from run to run, whatever the size of the data
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("batch", ["None", "4096"])
def test_streamed_fit_memory_does_not_grow_8x_with_the_file(tmp_path_factory, batch):
    folder = tmp_path_factory.getbasetemp() / "memory-files"
    folder.mkdir(exist_ok=True)
    small, large = folder / "small.parquet", folder / "large.parquet"
    if not large.exists():
        write_regression_parquet(small, 125_000)  # 21 MB of float64
        write_regression_parquet(large, 1_000_000)  # 168 MB
    assert large.stat().st_size > 7.5 * small.stat().st_size > 150 * MB
    a, b = _peak(small, batch), _peak(large, batch)
    growth = b["peak"] - a["peak"]
    # one block of 65,536 rows x 21 float64 columns is 11 MB: at most two more blocks' worth
    assert growth <= 24 * MB, f"peak resident memory grew by {growth / MB:.1f} MB"
    if batch != "None":
        assert abs(b["coef0"] - 1.0) < 0.01  # the fit learned w_0 = 1
