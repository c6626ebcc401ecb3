"""A real two-node Ray cluster on 127.0.0.1 for the executor tests (skipped where Ray is absent)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'hwnas[ray]'; scripts/test.sh installs it)")
    from hwnas.executors.cluster import LocalRayCluster

    cluster = LocalRayCluster(nodes=2, cpus_per_node=1).start()
    yield cluster
    cluster.stop()
    assert not cluster.processes(), "the test cluster left processes behind"
