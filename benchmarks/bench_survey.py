"""
Survey-scale throughput: cluster classification with 1 and 2 dask workers,
and the blind search over one large mosaic with its peak memory.

Mosaics are LoTSS-like (1.5" pixels, 6" beam, beam-correlated noise and
compact sources); the catalogue has clusters at random positions inside
them with random redshifts and masses.  The model is the shipped default
when there is one, else the default architecture with random weights at the
same 6"/20" model grid (speed does not depend on the weight values).

Run::

    python benchmarks/bench_survey.py                       # full size
    python benchmarks/bench_survey.py --n-clusters 20 --mosaic-size 2048 \\
        --search-size 4096                                  # quick
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

    from astropy_radiounet.beams import GaussianBeam
    from astropy_radiounet.modelcard import load_model, save_model
    from astropy_radiounet.models import default_card_path

    if default_card_path("unet"):
        return "default"
    model, card = load_model("unet", None, seed=0)
    card.pixel_scale = 6 * u.arcsec
    card.beam = GaussianBeam(20 * u.arcsec, 20 * u.arcsec)
    card.detection_ratio_threshold = 0.1
    return str(save_model(model, card, directory, stem="random_6arcsec"))


def _mosaic(path, size, ra, seed):
    from astropy.io import fits

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_segmentation import lotss_like

    image, wcs = lotss_like(size, seed=seed)
    header = wcs.to_header()
    header["CRVAL1"] = ra
    header["BMAJ"] = header["BMIN"] = 6 / 3600
    header["BPA"] = 0.0
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


def run_classify(workers, args, paths, weights, directory):
    from distributed import Client, LocalCluster

    from astropy_radiounet.survey import SegmenterSettings, classify_clusters

    catalog = _catalog(paths, args.n_clusters, seed=1)
    settings = SegmenterSettings(weights=weights)
    out = Path(directory) / f"classify_{workers}"
    start = time.perf_counter()
    if workers == 1:
        classify_clusters(catalog, paths, output_dir=out, settings=settings)
    else:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            classify_clusters(catalog, paths, output_dir=out, settings=settings,
                              parallel="current-scheduler")
    return time.perf_counter() - start


def run_search(size, weights, directory):
    """One search in this process; prints JSON with the time and peak RSS."""
    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.search import search_mosaic

    path = _mosaic(Path(directory) / f"search_{size}.fits", size, 205.0, seed=5)
    segmenter = RadioUNetSegmenter(weights=weights)
    start = time.perf_counter()
    search_mosaic(path, segmenter, Path(directory) / "search_out")
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"size": size, "seconds": seconds, "peak_rss_gb": rss}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-clusters", type=int, default=200)
    parser.add_argument("--mosaic-size", type=int, default=4096)
    parser.add_argument("--search-size", type=int, default=10000)
    parser.add_argument("--search-only", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_only:
        run_search(int(args.search_only[0]), args.search_only[1], args.search_only[2])
        return
    with tempfile.TemporaryDirectory() as directory:
        weights = _weights(directory)
        paths = [_mosaic(Path(directory) / f"m{i}.fits", args.mosaic_size, 205.0 + i, seed=i)
                 for i in range(2)]
        rows = []
        for workers in (1, 2):
            seconds = run_classify(workers, args, paths, weights, directory)
            rows.append((workers, seconds, args.n_clusters / seconds * 60))
        output = subprocess.run(
            [sys.executable, __file__, "--search-only", str(args.search_size), weights,
             directory],
            capture_output=True, text=True, check=True,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout
        search = json.loads(output.strip().splitlines()[-1])
    print(f"\nCPU cores: {os.cpu_count()}; model: {weights if weights == 'default' else 'random'}"
          f"; {args.n_clusters} clusters on two {args.mosaic_size}^2 mosaics")
    print("| workers | seconds | clusters/min | scaling efficiency | projected 3,821 clusters |")
    print("|---|---|---|---|---|")
    for workers, seconds, rate in rows:
        efficiency = rows[0][1] / (seconds * workers)
        print(f"| {workers} | {seconds:.1f} | {rate:.1f} | {efficiency:.2f} | "
              f"{DR3_CLUSTERS / rate / 60:.1f} h |")
    mpix = search["size"] ** 2 / 1e6
    print(f"\nBlind search of one {search['size']}^2 mosaic ({mpix:.0f} Mpix): "
          f"{search['seconds']:.0f} s, {mpix / search['seconds']:.2f} Mpix/s, "
          f"peak RSS {search['peak_rss_gb']:.2f} GB")


if __name__ == "__main__":
    main()
