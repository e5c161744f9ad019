"""
Peak memory of segmenting large images with the shipped model: ``radiounet
segment`` (all four products) and `RadioUNetSegmenter.predict_probability`
with ``out=`` (a memory-mapped FITS file), on LoTSS-like float32 FITS images
of N x N pixels.

Each run is a separate process; its peak anonymous resident memory (RssAnon:
the heap, not the file-backed pages of memory-mapped files, which the kernel
can drop at any time) is sampled every 20 ms from ``/proc``.  The issue's goal
is at most 2.5 GB at 20000 x 20000::

    python benchmarks/bench_memory.py --sizes 10000 20000 --directory /tmp/memory

The images (1.6 GB at 20000 x 20000) are made once, in strips, and kept in
``--directory`` for later runs.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

API_RUN = """
import sys
from astropy_radiounet import RadioUNetSegmenter
from astropy_radiounet.survey import create_fits
from astropy_radiounet.image import read_image
plane = read_image(sys.argv[1])
out = create_fits(sys.argv[2], plane.shape, "float32")
RadioUNetSegmenter().predict_probability(plane, out=out)
out.flush()
"""


def make_image(path, size, seed=0, strip=1000):
    """A LoTSS-like float32 FITS image of size x size, written in strips."""
    from helpers import lotss_header

    from astropy_radiounet.survey import create_fits

    if path.exists():
        return path
    header = lotss_header((size, size), four_d=False)
    data = create_fits(path, (size, size), "float32", header)
    rng = np.random.default_rng(seed)
    for start in range(0, size, strip):
        rows = min(strip, size - start)
        data[start:start + rows] = rng.normal(0, 7e-5, (rows, size)).astype(np.float32)
    data.flush()
    del data
    return path


def peak_anonymous_gb(command):
    """Run a command; its wall time and peak RssAnon in GB."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]) / 1024**2)
        except FileNotFoundError:
            break
        time.sleep(0.02)
    stderr = process.stderr.read().decode()
    if process.wait() != 0:
        sys.exit(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    return time.perf_counter() - start, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 20000])
    parser.add_argument("--directory", type=Path, default=Path("memory-benchmark"))
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        image = make_image(args.directory / f"image_{size}.fits", size)
        out = args.directory / f"out_{size}"
        seconds, peak = peak_anonymous_gb(
            [sys.executable, "-m", "astropy_radiounet", "segment", str(image), "-o",
             str(out), "--overwrite", "--no-progress"])
        rows.append({"size": size, "run": "radiounet segment", "seconds": round(seconds, 1),
                     "peak_anon_gb": round(peak, 2)})
        seconds, peak = peak_anonymous_gb(
            [sys.executable, "-c", API_RUN, str(image), str(out / "api_probability.fits")])
        rows.append({"size": size, "run": "predict_probability(out=)",
                     "seconds": round(seconds, 1), "peak_anon_gb": round(peak, 2)})
        print(json.dumps(rows[-2]), json.dumps(rows[-1]), flush=True)
    print(f"\n| {'image':13s} | {'run':27s} | seconds | peak heap (GB) |")
    print(f"|{'-' * 15}|{'-' * 29}|---------|----------------|")
    for row in rows:
        print(f"| {row['size']} x {row['size']:<5d} | {row['run']:27s} | {row['seconds']:7.0f} | "
              f"{row['peak_anon_gb']:14.2f} |")


if __name__ == "__main__":
    main()
