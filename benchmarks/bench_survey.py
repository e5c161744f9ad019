"""
Survey-scale throughput: cluster classification in one process and on 1
and 2 one-thread dask workers (scaling efficiency), and the blind search
over mosaics of two sizes with its peak memory.

Mosaics are LoTSS-like (1.5" pixels, 6" beam, beam-correlated noise and
compact sources); the catalogue has clusters at random positions inside
them with random redshifts and masses.  The model is the shipped default
when there is one, else the default architecture with random weights at the
same 6"/20" model grid (speed does not depend on the weight values).

Run::

    python benchmarks/bench_survey.py                       # full size
    python benchmarks/bench_survey.py --n-clusters 20 --mosaic-size 2048 \\
        --search-sizes 2048 4096                            # quick
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DR3_CLUSTERS = 3821


def _weights(directory):
    """The shipped model, or a random default-architecture card at 6"/20"."""
    import astropy.units as u
    from radio_beam import Beam

    from astropy_radiounet.models.card import load_model, save_model
    from astropy_radiounet.models.pretrained import default_card_path

    if default_card_path("unet"):
        return "default"
    model, card = load_model("unet", None, seed=0)
    card.pixel_scale = 6 * u.arcsec
    card.beam = Beam(20 * u.arcsec)
    card.detection_ratio_threshold = 0.1
    return str(save_model(model, card, directory, stem="random_6arcsec"))


def _mosaic(path, size, ra, seed):
    import astropy.units as u
    from astropy.io import fits
    from radio_beam import Beam

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_segmentation import lotss_like

    image, wcs = lotss_like(size, seed=seed)
    header = Beam(6 * u.arcsec).attach_to_header(wcs.to_header())
    header["CRVAL1"] = ra
    header["BUNIT"] = "JY/BEAM"
    fits.PrimaryHDU(image, header=header).writeto(path, overwrite=True)
    return path


def _catalog(paths, n, seed):
    import astropy.units as u
    from astropy.table import QTable

    from astropy_radiounet.survey import Mosaic

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        mosaic = Mosaic.from_path(paths[i % len(paths)])
        x, y = rng.uniform(0.1, 0.9, 2) * np.array(mosaic.shape[::-1])
        sky = mosaic.wcs.pixel_to_world(x, y)
        rows.append((f"C{i:04d}", sky.ra.deg, sky.dec.deg, rng.uniform(0.1, 0.6),
                     10 ** rng.uniform(14, 15)))
    names, ra, dec, z, m500 = zip(*rows)
    return QTable({"name": names, "ra": ra * u.deg, "dec": dec * u.deg, "z": z,
                   "m500": m500 * u.Msun})


#: One compute thread per worker process, so that n workers use n cores.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
              "TF_NUM_INTEROP_THREADS": "1"}


def run_classify(workers, args, paths, weights, directory):
    """Seconds to classify the catalogue: in this process, or on n one-thread workers.

    ``workers=0`` runs in this process with all its threads (how a laptop user
    without dask runs it); otherwise a LocalCluster of one-thread worker
    processes is started first (not timed), and the time includes each
    worker loading the model.
    """
    from distributed import Client, LocalCluster

    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.survey import classify_clusters

    catalog = _catalog(paths, args.n_clusters, seed=1)
    segmenter = RadioUNetSegmenter(weights=weights)
    out = Path(directory) / f"classify_{workers}"
    if workers == 0:
        start = time.perf_counter()
        classify_clusters(catalog, paths, output_dir=out, segmenter=segmenter)
        return time.perf_counter() - start
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, env=ONE_THREAD) as cluster, Client(cluster):
        start = time.perf_counter()
        classify_clusters(catalog, paths, output_dir=out, segmenter=segmenter,
                          parallel="current-scheduler")
        return time.perf_counter() - start


class PeakMemory:
    """Peak anonymous resident memory (heap, not file-backed pages) of this process.

    Memory-mapped FITS pages count in the usual RSS while they are resident,
    but the kernel can drop them at any time; RssAnon is the memory the run
    really needs.  It is sampled every 20 ms in a thread.
    """

    def __init__(self):
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def anonymous_gb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024**2
        return float("nan")

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.anonymous_gb())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_search(path, weights, directory):
    """One search in this process; prints JSON with the time and peak memory."""
    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.image.read import read_image
    from astropy_radiounet.survey.search import search_mosaic

    segmenter = RadioUNetSegmenter(weights=weights)
    before = PeakMemory.anonymous_gb()
    start = time.perf_counter()
    with PeakMemory() as memory:
        search_mosaic(path, segmenter, Path(directory) / f"search_out_{Path(path).stem}")
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"size": read_image(path).shape[0], "seconds": seconds,
                      "peak_rss_gb": rss, "peak_anon_gb": memory.peak,
                      "anon_before_gb": before}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-clusters", type=int, default=300)
    parser.add_argument("--mosaic-size", type=int, default=4096)
    parser.add_argument("--search-sizes", type=int, nargs="+", default=[5000, 10000])
    parser.add_argument("--search-only", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_only:
        run_search(*args.search_only)
        return
    with tempfile.TemporaryDirectory() as directory:
        weights = _weights(directory)
        paths = [_mosaic(Path(directory) / f"m{i}.fits", args.mosaic_size, 205.0 + i, seed=i)
                 for i in range(2)]
        rows = []
        for workers in (0, 1, 2):
            seconds = run_classify(workers, args, paths, weights, directory)
            rows.append((workers, seconds, args.n_clusters / seconds * 60))
        searches = []
        for size in args.search_sizes:
            path = _mosaic(Path(directory) / f"search_{size}.fits", size, 205.0, seed=5)
            output = subprocess.run(
                [sys.executable, __file__, "--search-only", str(path), weights, directory],
                capture_output=True, text=True, check=True,
                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout
            searches.append(json.loads(output.strip().splitlines()[-1]))
            path.unlink()
    print(f"\nCPU cores: {os.cpu_count()}; model: {weights if weights == 'default' else 'random'}"
          f"; {args.n_clusters} clusters on two {args.mosaic_size}^2 mosaics")
    print("| run | seconds | clusters/min | scaling efficiency | projected 3,821 clusters |")
    print("|---|---|---|---|---|")
    for workers, seconds, rate in rows:
        if workers == 0:
            name, efficiency = "no dask, one process, all threads", "-"
        else:
            name = f"dask, {workers} worker{'s' * (workers > 1)} x 1 thread"
            efficiency = f"{rows[1][1] / (seconds * workers):.2f}"
        print(f"| {name} | {seconds:.1f} | {rate:.1f} | {efficiency} | "
              f"{DR3_CLUSTERS / rate / 60:.1f} h |")
    print("\nBlind search, one mosaic per fresh process (the model loaded before timing)")
    print("| mosaic | Mpix | seconds | Mpix/s | peak anonymous memory GB | "
          "before the search GB | peak RSS incl. mapped file pages GB |")
    print("|---|---|---|---|---|---|---|")
    for search in searches:
        mpix = search["size"] ** 2 / 1e6
        print(f"| {search['size']}^2 | {mpix:.0f} | {search['seconds']:.0f} | "
              f"{mpix / search['seconds']:.2f} | {search['peak_anon_gb']:.2f} | "
              f"{search['anon_before_gb']:.2f} | {search['peak_rss_gb']:.2f} |")


if __name__ == "__main__":
    main()
