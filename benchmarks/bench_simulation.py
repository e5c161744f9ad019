"""
Throughput of the simulation: field generation in Mpix/s, and the time per
training pair of the default recipe (a simulated field brought to the
model's grid, beam and normalisation, `astropy_radiounet.training.make_training_pair`)
with the projected time of a 2,000-pair training set with 2 processes. Run
with one thread per process, as the dataset writers do::

    OMP_NUM_THREADS=1 python benchmarks/bench_simulation.py
"""

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from astropy_radiounet.simulation import simulate_field  # noqa: E402
from astropy_radiounet.training import TrainingConfig, make_training_pair  # noqa: E402


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
    config = TrainingConfig()
    t = _time(lambda s: make_training_pair(config, s), 10)
    name = f"training pair {config.tile_size}x{config.tile_size} (default)"
    print(f"| {name:38s} | {t * 1e3:8.1f} ms | {1 / t:10.1f} pair/s |")
    projected = config.n_train * t / 2 + 10.0  # + process start-up
    print(f"\nProjected {config.n_train:,} pairs with 2 processes: {projected / 60:.1f} min")


if __name__ == "__main__":
    main()
