"""
Our exponential halo profile fit against Halo-FDCA on the same images.

Halo-FDCA (Boxelaar, van Weeren & Botteon 2021, A&C 35, 100464; installed
with the package's ``fdca`` extra: ``pip install -e ".[fdca]"``) fits a
beam-convolved exponential I0 exp(-r/r_e) to a radio halo by MCMC (emcee)
on the image regridded to beam-sized pixels, and reports the
flux density of the unconvolved model integrated to a radius given in units
of r_e (``Processing.get_flux(int_max=...)``; the default is infinity, the
total 2 pi I0 r_e^2).  Ours (`~astropy_radiounet.measure.fit_exponential_halo`
through `measure_cluster`) is a least-squares fit with errors for noise
correlated over a beam, and reports S(<3 r_e) = 2 pi I0 r_e^2 (1 - 4 e^-3),
which is Halo-FDCA's ``get_flux(int_max=3)`` (its circular model with the
exponent fixed: the regularised gamma function P(2, 3) = 1 - 4 e^-3).  Both
S(<3 r_e) are compared here, and Halo-FDCA's total flux is printed too.

For each simulated cluster with a radio halo at the centre of a LoTSS-like
6" field (as ``measure_recovery.py --kind halo``), the shipped segmenter
segments the image and ``measure_cluster(..., compact="region")`` subtracts
the compact sources of the segments and fits the profile.  Halo-FDCA's
circular model is then fitted to the same compact-subtracted image less the
same local background (a square cutout around the fit, written to a
temporary FITS file with the field's header) on the same pixels: everything
outside the central segments grown by a beam (as ``measure_cluster``
selects them) or in another segment, and the pixels the compact subtraction
flags as unreliable, is excluded with a DS9 region file (boxes in image
coordinates), as Halo-FDCA's API takes masks; the script checks that the
mask Halo-FDCA builds from it is ours.

Halo-FDCA runs offline: the cluster's position (``loc``) and redshift are
given, so that it queries neither NED nor VizieR (its VizieR look-up, made
even when the values are given, is replaced by one that fails at once, after
which the given values are used), and the noise rms is ours (it is only
reported: the likelihood takes the rms of the fitted pixels on the beam-sized
grid).  R500 is not given: with it, RadioHalo starts its first fit at
r_e = R500 / 2, outside its own bound of half the cutout.  Halo-FDCA 1.0
needs pandas < 3 (``pip install "pandas<3"``: under pandas 3 its positional
indexing of Series fails with ``KeyError: 0``; the ``fdca`` extra pins it).

MCMC settings: 12 walkers (three times the 4 parameters), 100 steps, the
first 40 burnt, one process (``num_cpus=1``).  Each likelihood evaluation
rotates and convolves the model on the padded cutout: 0.02-0.09 s for
cutouts of 130² to 260² pixels (2 shared cores), so that Halo-FDCA's
defaults (100 walkers, 1200 steps, every core) would take from 40 minutes to
3 hours per halo on one core.  The walkers start in a ball of 1e-3 around
Halo-FDCA's own least-squares pre-fit, so that 60 steps after burn-in give
the median well and the 1-sigma width roughly (short chains tend to
under-estimate it); one fit then took 0.5-2 minutes on one core.  Change
them with ``--walkers``, ``--steps`` and ``--burn``.

Printed: a table per halo (peak S/N of the diffuse emission at the model
beam as in ``measure_recovery.py``, injected flux density, both S(<3 r_e),
Halo-FDCA's total, the injected circular r_e -- r_e sqrt(axis ratio) of the
elliptical simulated halo -- and both fitted, the time of each: ours is the
whole ``measure_cluster`` call, compact subtraction and photometry
included; Halo-FDCA's is its set-up, pre-fit, MCMC and processing), and a
summary: the median ratio of each flux density and r_e to the injected one,
the median ratio Halo-FDCA / ours and the median time per fit.

Run (Halo-FDCA installed; 10 halos took 10 minutes, 2026-11-30)::

    python benchmarks/compare_halo_fdca.py                     # 10 halos, S/N >= 5
    python benchmarks/compare_halo_fdca.py --n-halos 2 --steps 60 --burn 20  # quick
"""

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import time
import warnings

import astropy.units as u
import numpy as np

from measure_recovery import KIND_RATES, SHAPE, _cluster, _peak_snr, _plane


def _import_fdca():
    """Halo-FDCA, with its catalogue look-up made to fail at once (offline)."""
    try:
        import halo_fdca
        from halo_fdca import halo_object
    except ImportError as error:
        sys.exit(f"compare_halo_fdca.py needs Halo-FDCA: pip install -e '.[fdca]' "
                 f"(or pip install halo-fdca 'pandas<3'); {error}")
    import pandas

    if int(pandas.__version__.split(".")[0]) >= 3:
        sys.exit(f"Halo-FDCA 1.0 fails under pandas {pandas.__version__}: "
                 f"pip install -e '.[fdca]' (which pins pandas<3)")

    class _Offline:
        """Stands in for astroquery's Vizier: no network, RadioHalo uses the given values."""

        @staticmethod
        def query_object(*args, **kwargs):
            raise ConnectionError("offline: no VizieR query")

    halo_object.Vizier = _Offline
    return halo_fdca


def _fit_pixels(result, segments, beam, centre, r500, redshift):
    """The compact-subtracted image and the pixels our profile fit uses."""
    from astropy_radiounet.clusters import angular_radius
    from astropy_radiounet.image.beams import angle_pixels
    from astropy_radiounet.measure.cluster import _fit_pixels, _halo_pixels

    plane = result.compact.subtracted
    values, valid = plane.read()
    # As measure_cluster's fit: the local background taken off, unreliable
    # pixels left out, the central segments (the halo's) grown by a beam,
    # not into the other segments.
    level = result.background.to_value(u.Jy / u.beam)
    values = np.where(valid & ~result.compact.unreliable, values - level,
                      np.nan).astype(np.float64)
    labels = np.asarray(segments).reshape(values.shape)
    r500_pixels = angle_pixels(angular_radius(r500, redshift), plane.wcs, name="r500")
    halo = _halo_pixels(labels, result.region, plane.wcs.world_to_pixel(centre), r500_pixels)
    others = (labels > 0) & ~result.region
    return values, _fit_pixels(values, halo, others, beam, plane.wcs)


def _cutout(use, margin):
    """An odd-sized square around the fitted pixels, inside the image."""
    y, x = np.nonzero(use)
    half = max(np.ptp(x), np.ptp(y)) // 2 + margin
    cx, cy = (int(x.min() + x.max()) // 2, int(y.min() + y.max()) // 2)
    half = min(half, cx, cy, use.shape[1] - 1 - cx, use.shape[0] - 1 - cy)
    return slice(cy - half, cy + half + 1), slice(cx - half, cx + half + 1)


def _region_file(path, exclude):
    """DS9 boxes (image coordinates) covering the excluded pixels: runs along rows,
    merged over consecutive rows with the same run."""
    boxes, open_boxes = [], {}
    for y in range(exclude.shape[0]):
        row = np.concatenate(([0], exclude[y].astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(row))
        runs = set(zip(edges[::2], edges[1::2]))
        for run in list(open_boxes):
            if run not in runs:
                boxes.append((*run, *open_boxes.pop(run)))
        for run in runs:
            if run in open_boxes:
                open_boxes[run][1] = y
            else:
                open_boxes[run] = [y, y]
    boxes += [(*run, *rows) for run, rows in open_boxes.items()]
    with open(path, "w") as f:
        f.write("# Region file format: DS9\nimage\n")
        for x0, x1, y0, y1 in boxes:  # pixels x0..x1-1, y0..y1 (0-based)
            f.write(f"box({(x0 + x1 - 1) / 2 + 1:.1f},{(y0 + y1) / 2 + 1:.1f},"
                    f"{x1 - x0},{y1 - y0 + 1},0)\n")
    return len(boxes)


def fit_fdca(fdca, field, values, use, centre, row, noise, args, logger):
    """Halo-FDCA's circular fit on the pixels ``use`` of ``values``."""
    from astropy.io import fits

    ys, xs = _cutout(use, args.margin)
    header = field.hdulist()[0].header.copy()
    header["CRPIX1"] -= xs.start
    header["CRPIX2"] -= ys.start
    data = np.where(use, values, 0.0)[ys, xs].astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="fdca_") as work:
        image_path = os.path.join(work, "halo.fits")
        region_path = os.path.join(work, "halo.reg")
        fits.PrimaryHDU(data[None, None], header=header).writeto(image_path)
        _region_file(region_path, ~use[ys, xs])
        started = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            halo = fdca.RadioHalo(row["name"], image_path, decreased_fov=False,
                                  mask_path=region_path, logger=logger, loc=centre,
                                  z=float(row["z"]), output_path=work, rms=noise)
            mismatch = int(np.sum(halo.image_mask != use[ys, xs]))
            fit = fdca.Fit(halo, model="circle", walkers=args.walkers, steps=args.steps,
                           burntime=args.burn, num_cpus=1, debug=False)
            fit.run()
            results = fit.results
            flux_3re, flux_3re_err = results.get_flux(int_max=3, debug=True)
            total, total_err = results.get_flux(debug=True)
        seconds = time.perf_counter() - started
    names = fit.get_param_names()
    pixel = halo.pix_size.to_value(u.arcsec)
    r_e = np.percentile(fit.samples[:, names.index("r1")] * pixel, [16, 50, 84])
    i0 = np.percentile(fit.samples[:, names.index("I0")] / pixel**2 * 1e6, [16, 50, 84])
    return {"fdca_flux": flux_3re.to_value(u.Jy), "fdca_flux_err": flux_3re_err.to_value(u.Jy),
            "fdca_total": total.to_value(u.Jy), "fdca_total_err": total_err.to_value(u.Jy),
            "fdca_r_e": r_e[1], "fdca_r_e_err": (r_e[2] - r_e[0]) / 2,
            "fdca_i0": i0[1], "fdca_i0_err": (i0[2] - i0[0]) / 2,
            "fdca_seconds": seconds, "mask_mismatch": mismatch,
            "cutout": data.shape[0]}


def compare_field(seed, segmenter, fdca, args, logger):
    """One simulated halo: truth, our fit and Halo-FDCA's, or a reason to skip it."""
    from astropy.stats import mad_std

    from astropy_radiounet.measure import measure_cluster
    from astropy_radiounet.simulation import SKY_PRESETS, simulate_field

    field = simulate_field(SHAPE, seed=seed, cluster_at_center=True, diffuse_probability=1.0,
                           diffuse_rates=KIND_RATES["halo"], redshift_range=(0.15, 0.4),
                           **SKY_PRESETS["lotss"])
    row, centre, radius = _cluster(field)
    halos = field.sources[(field.sources["cluster"] == 0) & (field.sources["kind"] == "halo")]
    if len(halos) != 1:
        return None, "no radio halo (a mini-halo)"
    snr = _peak_snr(field, segmenter)
    if snr < args.min_snr:
        return None, f"S/N {snr:.1f} < {args.min_snr:g}"
    plane = _plane(field, field.image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probability = segmenter.predict_probability(plane)
        segments = segmenter.segment(probability, wcs=plane.wcs, beam=plane.beam)
        started = time.perf_counter()
        result = measure_cluster(plane, segments, centre, radius=radius, r500=row["R500"],
                                 redshift=row["z"], compact="region")
        ours_seconds = time.perf_counter() - started
    if result.profile is None:
        return None, f"S/N {snr:.1f}: no usable fit of ours ({','.join(result.flags)})"
    profile = result.profile
    values, use = _fit_pixels(result, segments, plane.beam, centre, row["R500"], row["z"])
    # The noise rms, for Halo-FDCA's report only: its likelihood takes the rms of
    # the fitted pixels on its beam-sized grid.
    background = np.isfinite(values) & (np.asarray(segments).reshape(values.shape) == 0)
    noise = float(mad_std(values[background]))
    out = {"seed": seed, "snr": snr, "true_flux": float(halos["flux"][0].to_value(u.Jy)),
           "true_r_e": float(halos["r_e"][0].to_value(u.arcsec)
                             * np.sqrt(halos["axis_ratio"][0])),
           "flux": profile.flux_3re.to_value(u.Jy), "flux_err": profile.flux_3re_err.to_value(u.Jy),
           "r_e": profile.r_e.to_value(u.arcsec), "r_e_err": profile.r_e_err.to_value(u.arcsec),
           "i0": profile.i0.to_value(u.uJy / u.arcsec**2),
           "i0_err": profile.i0_err.to_value(u.uJy / u.arcsec**2),
           "seconds": ours_seconds}
    try:
        out.update(fit_fdca(fdca, field, values, use, centre, row, noise, args, logger))
    except Exception as error:  # report and go on: Halo-FDCA may fail on a field
        return None, f"S/N {snr:.1f}: Halo-FDCA failed ({type(error).__name__}: {error})"
    return out, None


def _fmt(value, error, scale=1.0, digits=1):
    return f"{value * scale:.{digits}f} ± {error * scale:.{digits}f}"


def print_tables(rows):
    print("\nPer halo (flux densities in mJy, S(<3 r_e) of the unconvolved model; r_e in "
          "arcsec, truth the circular r_e sqrt(axis ratio); times in s)")
    print("| seed | S/N | S_true | ours S(<3re) | FDCA S(<3re) | FDCA S_total | r_e true | "
          "ours r_e | FDCA r_e | ours s | FDCA s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['snr']:.1f} | {r['true_flux'] * 1e3:.1f} | "
              f"{_fmt(r['flux'], r['flux_err'], 1e3)} | "
              f"{_fmt(r['fdca_flux'], r['fdca_flux_err'], 1e3)} | "
              f"{_fmt(r['fdca_total'], r['fdca_total_err'], 1e3)} | {r['true_r_e']:.1f} | "
              f"{_fmt(r['r_e'], r['r_e_err'])} | {_fmt(r['fdca_r_e'], r['fdca_r_e_err'])} | "
              f"{r['seconds']:.1f} | {r['fdca_seconds']:.0f} |")
    if not rows:
        return

    def median(key, over=None):
        values = np.array([r[key] / (r[over] if over else 1.0) for r in rows])
        return np.median(values[np.isfinite(values)])

    def pulls(key, err, truth):
        return np.median([abs(r[key] - r[truth]) / r[err] for r in rows])

    print(f"\nSummary ({len(rows)} halos)")
    print("| | ours | Halo-FDCA |")
    print("|---|---|---|")
    print(f"| median S(<3re) / S_true | {median('flux', 'true_flux'):.2f} | "
          f"{median('fdca_flux', 'true_flux'):.2f} |")
    print(f"| median r_e / r_e,true | {median('r_e', 'true_r_e'):.2f} | "
          f"{median('fdca_r_e', 'true_r_e'):.2f} |")
    print(f"| median relative error of S(<3re) | {median('flux_err', 'flux'):.3f} | "
          f"{median('fdca_flux_err', 'fdca_flux'):.3f} |")
    print(f"| median abs(r_e - truth) / error | {pulls('r_e', 'r_e_err', 'true_r_e'):.1f} | "
          f"{pulls('fdca_r_e', 'fdca_r_e_err', 'true_r_e'):.1f} |")
    print(f"| median time per fit (s) | {median('seconds'):.1f} | "
          f"{median('fdca_seconds'):.0f} |")
    ratio = np.median([r["fdca_flux"] / r["flux"] for r in rows])
    ratio_r_e = np.median([r["fdca_r_e"] / r["r_e"] for r in rows])
    total = np.median([r["fdca_total"] / r["true_flux"] for r in rows])
    print(f"\nmedian FDCA / ours: S(<3re) {ratio:.2f}, r_e {ratio_r_e:.2f}; "
          f"median FDCA S_total / S_true {total:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--n-halos", type=int, default=10, help="halos to compare")
    parser.add_argument("--max-fields", type=int, default=400,
                        help="fields to simulate at most while looking for them")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--min-snr", type=float, default=5.0,
                        help="skip halos below this peak S/N at the model beam")
    parser.add_argument("--walkers", type=int, default=12)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--burn", type=int, default=40)
    parser.add_argument("--margin", type=int, default=16,
                        help="pixels of the cutout beyond the fitted pixels")
    parser.add_argument("--verbose", action="store_true", help="Halo-FDCA's log on stderr")
    args = parser.parse_args()

    fdca = _import_fdca()
    logger = logging.getLogger("compare_halo_fdca.fdca")
    logger.propagate = False
    logger.setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
    if args.verbose:
        logger.addHandler(logging.StreamHandler(sys.stderr))

    from importlib.metadata import version

    from astropy_radiounet import RadioUNetSegmenter

    segmenter = RadioUNetSegmenter()
    rows = []
    started = time.perf_counter()
    print(f"halo-fdca {version('halo-fdca')}: {args.walkers} walkers, {args.steps} steps, "
          f"burn-in {args.burn}, one process", flush=True)
    for k in range(args.max_fields):
        if len(rows) >= args.n_halos:
            break
        row, why = compare_field(args.seed + k, segmenter, fdca, args, logger)
        if row is None:
            print(f"seed {args.seed + k}: skipped: {why}", flush=True)
            continue
        rows.append(row)
        print(f"seed {row['seed']}: S/N {row['snr']:.1f}, S_true {row['true_flux'] * 1e3:.1f} "
              f"mJy, ours {row['flux'] * 1e3:.1f}, FDCA {row['fdca_flux'] * 1e3:.1f} mJy; "
              f"r_e true {row['true_r_e']:.1f}\", ours {row['r_e']:.1f}, FDCA "
              f"{row['fdca_r_e']:.1f}; {row['cutout']}² cutout, mask mismatch "
              f"{row['mask_mismatch']} px; FDCA {row['fdca_seconds']:.0f} s", flush=True)
    print(f"{len(rows)} halos compared in {time.perf_counter() - started:.0f} s")
    print_tables(rows)


if __name__ == "__main__":
    main()
