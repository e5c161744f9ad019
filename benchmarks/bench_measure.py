"""
What the measurements cost in a survey run: ``classify_clusters`` plain, with
``measure=True`` and with ``upper_limits=True`` on the same simulated mosaics
and catalogue, in one process, and the projected time for the 3,821 clusters
of the LoTSS-DR3 sample (Radio U-Net DR3 follow-up) here and per dask worker.

The mosaics are simulated LoTSS-like 6" fields (``simulate_field``) with
several clusters each, with and without diffuse emission, compact sources
and radio galaxies; the catalogue is the simulation's cluster table.  The
segmenter is the shipped model.  The products of the measured run (overlays,
compact-subtracted cutouts, ``power_mass.png``) are written by an untimed
run into ``--output-dir``/products, to be looked at.

Run::

    python benchmarks/bench_measure.py                         # 3 mosaics of 3072²
    python benchmarks/bench_measure.py --n-mosaics 1 --size 2048   # quick
"""

import argparse
import json
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

DR3_CLUSTERS = 3821


def make_survey(directory, n_mosaics, size, n_clusters, seed):
    """Simulated mosaics (FITS) and their clusters as one catalogue (ECSV)."""
    from astropy.table import vstack

    from astropy_radiounet.simulation import simulate_field

    paths, tables = [], []
    for k in range(n_mosaics):
        field = simulate_field((size, size), seed=seed + k, n_clusters=n_clusters,
                               redshift_range=(0.1, 0.4), diffuse_probability=0.6,
                               center=(150.0 + 2.0 * k, 40.0))
        path = directory / f"mosaic{k}.fits"
        field.hdulist()[:1].writeto(path, overwrite=True)
        clusters = field.clusters[field.clusters["in_field"]]
        clusters["name"] = [f"M{k}_{name}" for name in clusters["name"]]
        tables.append(clusters["name", "ra", "dec", "z", "M500", "classification",
                               "diffuse"])
        paths.append(path)
    catalog = vstack(tables)
    catalog.rename_column("M500", "m500")
    catalog_path = directory / "clusters.ecsv"
    catalog.write(catalog_path, overwrite=True)
    return paths, catalog_path


#: One compute thread per dask worker process (as in bench_survey.py).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
              "TF_NUM_INTEROP_THREADS": "1"}


def run(catalog_path, paths, output_dir, segmenter, *, dask_worker=False, **keywords):
    """
    Seconds of one classify run: in this process with all its threads, or on
    one one-thread dask worker (its start not timed; the time includes the
    worker loading the model).
    """
    from astropy_radiounet.clusters import read_cluster_catalog
    from astropy_radiounet.survey import classify_clusters

    catalog = read_cluster_catalog(catalog_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not dask_worker:
            started = time.perf_counter()
            table, _ = classify_clusters(catalog, paths, output_dir=output_dir,
                                         segmenter=segmenter, **keywords)
            return table, time.perf_counter() - started
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                          dashboard_address=None, env=ONE_THREAD) as cluster, Client(cluster):
            started = time.perf_counter()
            table, _ = classify_clusters(catalog, paths, output_dir=output_dir,
                                         segmenter=segmenter, parallel="current-scheduler",
                                         **keywords)
            return table, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--n-mosaics", type=int, default=3)
    parser.add_argument("--size", type=int, default=3072)
    parser.add_argument("--n-clusters", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output-dir", default="bench-measure")
    args = parser.parse_args()

    from astropy_radiounet import RadioUNetSegmenter

    out = Path(args.output_dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    paths, catalog_path = make_survey(out, args.n_mosaics, args.size, args.n_clusters,
                                      args.seed)
    segmenter = RadioUNetSegmenter()
    segmenter.predict_probability(np.random.default_rng(0).normal(0, 1e-4, (256, 256)),
                                  wcs=_wcs(), beam=_beam())  # load the model first
    # Timed runs write no products (pictures cost the same with or without
    # measurements).
    runs = [("classify", {}), ("classify --measure", {"measure": True})]
    times, worker_times = {}, {}
    for name, keywords in runs:
        directory = out / name.split(" (")[0].replace(" --", "_").replace(" ", "_")
        table, times[name] = run(catalog_path, paths, directory, segmenter, **keywords)
        _, worker_times[name] = run(catalog_path, paths, out / f"{directory.name}_dask",
                                    segmenter, dask_worker=True, **keywords)
    n = len(table)
    base = times["classify"] / n
    print(f"\n{n} clusters on {args.n_mosaics} simulated {args.size}² mosaics "
          f"(shipped model, no products)\n")
    print("| run | seconds | s per cluster | vs classify | projected 3,821 clusters | "
          "one dask worker (1 thread): s per cluster | projected 3,821 clusters "
          "per worker |")
    print("|---|---|---|---|---|---|---|")
    for name, _ in runs:
        per = times[name] / n
        worker = worker_times.get(name)
        worker_text = ("- | -" if worker is None else
                       f"{worker / n:.2f} | {worker / n * DR3_CLUSTERS / 3600:.1f} h")
        print(f"| {name} | {times[name]:.1f} | {per:.2f} | {per / base:.2f}x | "
              f"{per * DR3_CLUSTERS / 3600:.1f} h | {worker_text} |")
    seconds, bracketed = time_limits(table, segmenter)
    print(f"\nupper limits, every cluster taken as undetected (what --upper-limits does "
          f"for each cluster without a detection): {np.median(seconds):.2f} s per cluster "
          f"(median; mean {np.mean(seconds):.2f}) = {np.median(seconds) / base:.1f} times a "
          f"cluster's classification, {bracketed} of {n} bracketed; budget: 10 "
          f"segmentations of the cutout")
    # The pictures of a measured run, to look at (not timed).
    run(catalog_path, paths, out / "products", segmenter, measure=True, upper_limits=True,
        products=True)
    summary = {name: {"process": round(times[name], 2),
                      "dask_worker": None if name not in worker_times
                      else round(worker_times[name], 2)} for name, _ in runs}
    (out / "timings.json").write_text(json.dumps(summary, indent=1))


def time_limits(table, segmenter):
    """Seconds of each cluster's upper limit, as classify computes it, and how many bracketed."""
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    from astropy_radiounet.image import read_image
    from astropy_radiounet.survey.cluster_measurements import limit_unit, measurement_settings

    seconds, bracketed = [], 0
    for row in table:
        plane = read_image(row["mosaic"])
        centre = SkyCoord(row["ra"], row["dec"])
        side = 2 * 1.5 * row["radius"]  # classify's cutout (context 1.5)
        task = {"row": {"name": str(row["name"]), "ra": row["ra"].to_value(u.deg),
                        "dec": row["dec"].to_value(u.deg), "z": float(row["z"]),
                        "r500_kpc": row["r500"].to_value(u.kpc),
                        "radius_arcmin": row["radius"].to_value(u.arcmin)},
                "measure": measurement_settings()}
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cut = plane.cutout(centre, (side, side))
            result = limit_unit(task, cut, segmenter, segmenter.card.detection_ratio_threshold)
        seconds.append(time.perf_counter() - started)
        bracketed += result["limit_flags"] == ""
    return np.array(seconds), bracketed


def _wcs():
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.cdelt = [-1.5 / 3600, 1.5 / 3600]
    return wcs


def _beam():
    import astropy.units as u
    from radio_beam import Beam

    return Beam(6 * u.arcsec)


if __name__ == "__main__":
    main()
