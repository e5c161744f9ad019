"""
`radiounet classify` against a separate ``dask scheduler`` process with two
worker processes, one of which is killed mid-run.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from astropy_radiounet.clusters.catalogs import read_cluster_catalog
from astropy_radiounet.cli.main import main
from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.survey import classify_clusters

from test_survey import write_mosaic

distributed = pytest.importorskip("distributed")

N_CLUSTERS = 40


def start(module, *arguments, env):
    return subprocess.Popen([sys.executable, "-m", f"distributed.cli.{module}", *arguments],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture()
def dask_processes(tmp_path):
    """A scheduler process and a worker process running two one-thread workers."""
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1",
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.pathsep.join(sys.path))
    processes = [start("dask_scheduler", "--scheduler-file", str(scheduler_file), "--port",
                       "0", "--no-dashboard", env=env)]
    try:
        for _ in range(600):
            if scheduler_file.exists():
                break
            time.sleep(0.1)
        processes.append(start("dask_worker", "--scheduler-file", str(scheduler_file),
                               "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                               env=env))
        with distributed.Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            yield client, json.loads(scheduler_file.read_text())["address"]
    finally:
        for process in processes[::-1]:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def cluster_catalog(path):
    rng = np.random.default_rng(7)
    table = QTable({"name": [f"CL{i:03d}" for i in range(N_CLUSTERS)],
                    "ra": rng.uniform(204.97, 205.13, N_CLUSTERS) * u.deg,
                    "dec": rng.uniform(54.97, 55.03, N_CLUSTERS) * u.deg,
                    "z": rng.uniform(0.3, 0.6, N_CLUSTERS),
                    "r500": rng.uniform(0.3, 0.6, N_CLUSTERS) * u.Mpc})
    table.write(path)
    return path


def test_classify_command_on_separate_scheduler_survives_a_killed_worker(
        tmp_path, tiny_model_dir, dask_processes):
    client, address = dask_processes
    images = [write_mosaic(tmp_path / "A.fits", 205.0, 1),
              write_mosaic(tmp_path / "B.fits", 205.1, 2)]
    catalog = cluster_catalog(tmp_path / "clusters.ecsv")
    weights = str(tiny_model_dir / "tiny.json")
    out = tmp_path / "run"
    status = {}

    def run():
        status["code"] = main(["classify", "--catalog", str(catalog), "--images",
                               *map(str, images), "-o", str(out), "--weights", weights,
                               "--ratio-threshold", "0.4", "--scheduler", address,
                               "--no-progress"])

    thread = threading.Thread(target=run)
    thread.start()
    units = out / "units"
    while thread.is_alive() and not list(units.glob("*.json")):
        time.sleep(0.02)
    pids = client.run(os.getpid)
    done_at_kill = len(list(units.glob("*.json")))
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    thread.join(timeout=600)
    assert status["code"] == 0
    assert 0 < done_at_kill < N_CLUSTERS
    table = QTable.read(out / "clusters_classified.ecsv")
    assert len(table) == N_CLUSTERS and len(set(table["name"])) == N_CLUSTERS
    assert set(table["status"]) == {"ok"}
    serial, _ = classify_clusters(read_cluster_catalog(catalog), images,
                                  output_dir=tmp_path / "serial", ratio_threshold=0.4,
                                  segmenter=RadioUNetSegmenter(weights=weights))
    np.testing.assert_allclose(table["ratio"], serial["ratio"], atol=1e-6)
