"""
Throughput of the simulation: field generation in Mpix/s, time per 256 x 256
training pair, and the projected time of a 20,000-pair training set with 2
processes. Run with one thread per process, as the dataset writer does::

    OMP_NUM_THREADS=1 python benchmarks/bench_simulation.py
"""

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from astropy_radiounet.simulation import simulate_field  # noqa: E402
from astropy_radiounet.simulation.dataset import make_training_pair  # noqa: E402


def _time(fn, n):
    fn(0)  # warm-up: PSF and kernels are cached per configuration
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        fn(i)
    return (time.perf_counter() - t0) / n


def main():
    print(f"| {'task':38s} | {'time/item':>10s} | {'throughput':>14s} |")
    print(f"|{'-' * 40}|{'-' * 12}|{'-' * 16}|")
    for shape, n in (((256, 256), 20), ((512, 512), 10), ((1024, 1024), 3)):
        t = _time(lambda s: simulate_field(shape, seed=s, n_clusters=1), n)
        mpix = shape[0] * shape[1] / 1e6 / t
        print(f"| simulate_field {str(shape):23s} | {t * 1e3:8.1f} ms | {mpix:9.2f} Mpix/s |")
    t = _time(lambda s: make_training_pair(s, tile_shape=(256, 256)), 30)
    print(f"| {'training pair 256x256 (augmented)':38s} | {t * 1e3:8.1f} ms | "
          f"{1 / t:10.1f} pair/s |")
    projected = 20000 * t / 2 + 10.0  # + process start-up
    print(f"\nProjected 20,000 pairs of 256x256 with 2 processes: {projected / 60:.1f} min "
          f"({np.ceil(20000 / 256):.0f} shards, ~{20000 * 256 * 256 * 4 / 1e9:.1f} GB of images)")


if __name__ == "__main__":
    main()
