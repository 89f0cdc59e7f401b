"""Shared test settings: Hypothesis profiles, a non-interactive matplotlib backend, the Dask
cluster."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def dask_cluster():
    """The one in-process Dask cluster every Dask test shares: 2 single-threaded workers.

    Dask tests carry ``@pytest.mark.xdist_group("dask")`` so that, under ``pytest -n``, they run
    in one process and start the cluster once."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.fixture
def nothing_gathered(monkeypatch):
    """Fail the test if a Dask fit fetches a partition to the client (everything must be
    computed where the partitions live)."""
    from gdlab.data.dask_source import DaskSource

    def refuse(self, group):
        raise AssertionError(f"partition {group} was fetched to the client")

    monkeypatch.setattr(DaskSource, "group_weighted_blocks", refuse)
