"""
Train several recipes side by side on one accelerator, within a deadline.

The tiles are simulated once, with all CPU cores, into a cache shared by
the recipes (recipes that differ only in their loss or optimiser share
their data); then one ``radiounet train`` process per recipe runs at the
same time on the accelerator, each with the time left before the deadline
as its budget (recipes with ``max_minutes`` null, such as the fixed-epoch
shipped recipe, keep no budget: one that runs past the deadline is killed
and leaves only its best-epoch checkpoint).  Each model directory ends up
in ``OUTPUT/<recipe stem>/`` and, with ``--tar``, packed as
``OUTPUT/<recipe stem>.tar``.

Run on a GPU machine with Keras 3 on JAX or PyTorch::

    KERAS_BACKEND=jax python benchmarks/train_on_gpu.py out \\
        benchmarks/recipes/unet_gpu.json benchmarks/recipes/unet_gpu_tversky.json \\
        --processes 16 --deadline 555 --tar
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from astropy_radiounet.training.config import VALIDATION_SEED_OFFSET, TrainingConfig
from astropy_radiounet.training.pairs import training_pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("recipes", nargs="+", type=Path)
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    parser.add_argument("--deadline", type=float, default=540.0,
                        help="seconds from now by which every run has ended")
    parser.add_argument("--margin", type=float, default=45.0,
                        help="seconds each run keeps after fitting (calibration, writing)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="directory of the simulated tiles (default: OUTPUT/cache)")
    parser.add_argument("--seed", type=int, default=None,
                        help="train with this seed instead of each recipe's (a measure of "
                             "the spread between runs); the stems get a '_seed<N>' suffix")
    parser.add_argument("--tar", action="store_true", help="also pack each model directory")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    cache = args.cache or args.output / "cache"
    configs = {path.stem: TrainingConfig.read(path) for path in args.recipes}
    if args.seed is not None:
        for config in configs.values():
            config.seed = args.seed
        configs = {f"{name}_seed{args.seed}": config for name, config in configs.items()}
    for name, config in configs.items():
        for n, seed in ((config.n_train, config.seed),
                        (config.n_val, config.seed + VALIDATION_SEED_OFFSET)):
            training_pairs(config, n, seed=seed, cache_dir=cache, n_processes=args.processes)
        print(f"[{time.perf_counter() - start:6.0f} s] tiles of {name} ready", flush=True)
    left = args.deadline - (time.perf_counter() - start) - args.margin
    if left < 60:
        sys.exit(f"only {left:.0f} s left for training after the simulation")
    env = dict(os.environ)
    if env.get("KERAS_BACKEND") == "jax":
        env.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", f"{0.9 / len(configs):.2f}")
    runs = {}
    for name, config in configs.items():
        if config.max_minutes is not None:
            config.max_minutes = min(config.max_minutes, left / 60)
        else:
            # A fixed-epoch recipe keeps max_minutes None, so that its card
            # retrains the same epochs anywhere; it gets no budget here.
            print(f"{name}: no max_minutes, so no time budget: if its epochs do not end "
                  f"within {left / 60:.1f} min it is killed at the deadline and leaves no "
                  f"model (only {config.name}.best.weights.h5)", flush=True)
        recipe = args.output / f"{name}.recipe.json"
        args.output.mkdir(parents=True, exist_ok=True)
        config.write(recipe)
        log = open(args.output / f"{name}.log", "w")
        command = [sys.executable, "-m", "astropy_radiounet", "train", str(recipe),
                   "-o", str(args.output / name), "--cache-dir", str(cache)]
        runs[name] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env),
                      log)
    print(f"[{time.perf_counter() - start:6.0f} s] training {', '.join(runs)} for "
          f"{left / 60:.1f} min", flush=True)
    deadline = start + args.deadline
    for name, (process, log) in runs.items():
        try:
            process.wait(timeout=max(deadline - time.perf_counter(), 1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            print(f"{name}: stopped at the deadline", flush=True)
        log.close()
        card = args.output / name / f"{configs[name].name}.json"
        status = f"exit {process.returncode}"
        if card.is_file():
            metrics = json.loads(card.read_text())["metrics"]
            status += (f", {metrics['epochs_run']} epochs, best val loss "
                       f"{metrics['best_val_loss']:.4f}, validation "
                       + ", ".join(f"{k} {v:.3f}" for k, v in
                                   metrics["validation_pixels"].items()))
            if args.tar:
                with tarfile.open(args.output / f"{name}.tar", "w") as archive:
                    archive.add(args.output / name, arcname=name)
        print(f"[{time.perf_counter() - start:6.0f} s] {name}: {status}", flush=True)
        print((args.output / f"{name}.log").read_text()[-3000:], flush=True)


if __name__ == "__main__":
    main()
