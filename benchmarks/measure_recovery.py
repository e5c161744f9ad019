"""
How well the measurements recover what was injected: flux densities of
simulated halos and relics (with compact sources and radio galaxies
present), e-folding radii of halos, and the consistency of upper limits.

For each simulated cluster at the centre of a LoTSS-like 6" field, the
shipped segmenter segments the image, compact sources are subtracted and
`measure_cluster` measures the segments overlapping 2.2 R500, exactly as
``radiounet classify --measure`` does.  Tables by the peak S/N of the
diffuse emission at the model's beam (its peak on the model grid over the
rms of the noise alone on that grid):

* flux: measured (segments) over injected (the sum of the cluster's halo,
  mini-halo and relic components; the fields have no bridges or filaments,
  so that these are all the diffuse emission there is); for halos also the profile fit's
  S(<3 r_e) over the injected flux; and the quoted error against the
  truth: the median of flux_err over the injected flux, and the scatter of
  (measured - injected) / flux_err, which is 1 where the errors are honest;
* r_e: fitted over injected, where S/N >= 5, and the fraction of fits whose
  1-sigma error covers the truth.  The fit is circular and the simulated
  halos elliptical: the injected radius compared is the circular one of the
  same isophote area, r_e sqrt(axis ratio) (the major-axis radius is in the
  table too);
* upper limits on clusters without diffuse emission: the fraction of halos
  detected at twice and at half the limit (fresh positions).

Run::

    python benchmarks/measure_recovery.py                  # 60 fields, 10 limits
    python benchmarks/measure_recovery.py --n-fields 12 --n-limits 3   # quick
    python benchmarks/measure_recovery.py --kind relic --n-limits 0    # relics only
"""

import argparse
import time
import warnings

import astropy.units as u
import numpy as np

SHAPE = (1024, 1024)
SNR_BINS = [(3, 5), (5, 10), (10, 30), (30, np.inf)]


def _plane(field, data):
    from astropy_radiounet.image import read_image

    return read_image(field.hdulist()[0]).replace(data=np.asarray(data, np.float32),
                                                  mask=None)


def _peak_snr(field, segmenter):
    """Peak S/N of the diffuse emission on the model grid (model beam)."""
    from astropy_radiounet.segmentation.model_input import on_model_grid, scale_factor

    card = segmenter.card
    image_plane = _plane(field, field.image)
    factor = scale_factor(image_plane, card)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffuse = on_model_grid(_plane(field, field.diffuse_sky), card, factor)
        noise = on_model_grid(_plane(field, field.noise), card, factor)
    d_values, _ = diffuse.values, diffuse.valid
    n_values, n_valid = noise.values, noise.valid
    return float(np.nanmax(d_values) / np.std(n_values[n_valid]))


def _cluster(field):
    from astropy.coordinates import SkyCoord
    from astropy_radiounet.clusters import angular_radius

    row = field.clusters[0]
    centre = SkyCoord(row["ra"], row["dec"])
    radius = angular_radius(2.2 * row["R500"], row["z"])
    return row, centre, radius


#: The diffuse emission of the clusters, by ``--kind``: every kind, or one.
KIND_RATES = {"any": {"bridge": 0.0, "filament": 0.0},
              "halo": {"halo": 1.0, "mini_halo": 0.15, "relic": 0.0, "bridge": 0.0,
                       "filament": 0.0},
              "relic": {"halo": 0.0, "mini_halo": 0.0, "relic": 1.0, "bridge": 0.0,
                        "filament": 0.0}}


def measure_field(seed, segmenter, sky, segments_from="model", kind="any", background="local"):
    """One simulated cluster with diffuse emission: truth and measurement."""
    from astropy_radiounet.measure import measure_cluster
    from astropy_radiounet.simulation import SKY_PRESETS, simulate_field

    # No bridges or filaments: the diffuse emission in the field is the
    # cluster's own halo, mini-halo or relics, whose injected flux is the truth.
    field = simulate_field(SHAPE, seed=seed, cluster_at_center=True, diffuse_probability=1.0,
                           diffuse_rates=KIND_RATES[kind],
                           redshift_range=(0.15, 0.4), **SKY_PRESETS[sky])
    row, centre, radius = _cluster(field)
    own = field.sources[(field.sources["cluster"] == 0)
                        & np.isin(field.sources["kind"], ["halo", "mini_halo", "relic"])]
    if not len(own):
        return None
    plane = _plane(field, field.image)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if segments_from == "truth":  # the measurement alone, on the true extent
            segments = np.asarray(field.mask, dtype=np.int32)
        else:
            probability = segmenter.predict_probability(plane)
            segments = segmenter.segment(probability, wcs=plane.wcs, beam=plane.beam)
        # As radiounet classify --measure does.
        result = measure_cluster(plane, segments, centre, radius=radius, r500=row["R500"],
                                 redshift=row["z"], compact="region", background=background)
    # How much of the measured region lies on injected diffuse emission: the
    # segmentation's share of a poor measurement.
    on_emission = (float(np.mean(np.asarray(field.mask)[result.region] > 0))
                   if result.n_segments else np.nan)
    halos = own[own["kind"] != "relic"]
    one = len(halos) == 1
    r_e_major = halos["r_e"][0].to_value(u.arcsec) if one else np.nan
    axis_ratio = float(halos["axis_ratio"][0]) if one else np.nan
    return {"seed": seed, "kinds": ",".join(sorted(set(own["kind"]))),
            "snr": _peak_snr(field, segmenter),
            "true_flux": float(own["flux"].sum().to_value(u.Jy)),
            "flux": result.flux.to_value(u.Jy), "flux_err": result.flux_err.to_value(u.Jy),
            "fit_flux": (np.nan if result.profile is None
                         else result.profile.flux_3re.to_value(u.Jy)),
            "true_r_e": r_e_major * np.sqrt(axis_ratio), "true_r_e_major": r_e_major,
            "r_e": np.nan if result.profile is None else result.profile.r_e.to_value(u.arcsec),
            "r_e_err": (np.nan if result.profile is None
                        else result.profile.r_e_err.to_value(u.arcsec)),
            "on_emission": on_emission, "flags": ",".join(result.flags)}


def _spread(ratio):
    """Median and half the 16-84 per cent range of ratios."""
    if len(ratio) == 0:
        return np.nan, np.nan
    low, median, high = np.percentile(ratio, [16, 50, 84])
    return median, (high - low) / 2


def flux_table(rows, title="Flux density recovered"):
    print(f"\n{title}, by peak S/N of the diffuse emission at the model beam")
    print("| S/N | kind | n | median S_meas/S_true | scatter (16-84/2) | "
          "median S_fit(<3re)/S_true | scatter | median flux_err/S_true | "
          "scatter of (S_meas - S_true)/flux_err |")
    print("|---|---|---|---|---|---|---|---|---|")
    for low, high in SNR_BINS:
        for kind in ("halo", "relic"):
            chosen = [r for r in rows if low <= r["snr"] < high and (
                (kind == "halo" and r["kinds"] in ("halo", "mini_halo"))
                or (kind == "relic" and r["kinds"] == "relic"))]
            measured = [r for r in chosen if np.isfinite(r["flux"])]
            ratio = np.array([r["flux"] / r["true_flux"] for r in measured])
            error = np.array([r["flux_err"] / r["true_flux"] for r in measured])
            pull = np.array([(r["flux"] - r["true_flux"]) / r["flux_err"] for r in measured])
            fit = np.array([r["fit_flux"] / r["true_flux"] for r in chosen])
            fit = fit[np.isfinite(fit)]
            m, s = _spread(ratio)
            fm, fs = _spread(fit) if kind == "halo" else (np.nan, np.nan)
            e = np.median(error) if len(error) else np.nan
            print(f"| {low}-{high} | {kind} | {len(ratio)} | {m:.2f} | {s:.2f} | {fm:.2f} | "
                  f"{fs:.2f} | {e:.2f} | {_spread(pull)[1]:.2f} |")
    mixed = [r for r in rows if "," in r["kinds"]]
    ratio = np.array([r["flux"] / r["true_flux"] for r in mixed if r["snr"] >= 3])
    ratio = ratio[np.isfinite(ratio)]
    m, s = _spread(ratio)
    print(f"| >=3 | halo+relic | {len(ratio)} | {m:.2f} | {s:.2f} | - | - | - | - |")


def r_e_table(rows):
    chosen = [r for r in rows if r["snr"] >= 5 and np.isfinite(r["r_e"])
              and np.isfinite(r["true_r_e"]) and r["kinds"] in ("halo", "mini_halo")]
    ratio = np.array([r["r_e"] / r["true_r_e"] for r in chosen])
    major = np.array([r["r_e"] / r["true_r_e_major"] for r in chosen])
    m, s = _spread(ratio)
    print("\nHalo e-folding radius (S/N >= 5; truth: the circular radius of the same area)")
    print("| n | median r_e,fit/r_e,true | scatter | within 20 % | 1-sigma coverage | "
          "statistical errors alone | systematic error for 68 % | "
          "median over the major-axis r_e |")
    print("|---|---|---|---|---|---|---|---|")
    within = np.mean(np.abs(ratio - 1) <= 0.2) if len(ratio) else np.nan
    coverage, alone, needed = _systematic_calibration(chosen)
    print(f"| {len(ratio)} | {m:.2f} | {s:.2f} | {within:.2f} | {coverage:.2f} | "
          f"{alone:.2f} | {needed:.2f} | {_spread(major)[0]:.2f} |")


def _systematic_calibration(rows):
    """
    The 1-sigma coverage of the quoted r_e errors, that of their statistical
    part alone (without ``SYSTEMATIC_ERROR`` r_e in quadrature), and the
    fractional systematic error that would make it 68 per cent (how
    ``SYSTEMATIC_ERROR`` was calibrated).
    """
    from astropy_radiounet.measure.profile import SYSTEMATIC_ERROR

    if not rows:
        return np.nan, np.nan, np.nan
    r_e = np.array([r["r_e"] for r in rows])
    miss = np.abs(r_e - np.array([r["true_r_e"] for r in rows]))
    statistical = np.sqrt(np.clip(np.array([r["r_e_err"] for r in rows]) ** 2
                                  - (SYSTEMATIC_ERROR * r_e) ** 2, 0, None))
    fractions = np.arange(0.0, 1.0, 0.01)
    coverage = [np.mean(miss <= np.hypot(statistical, f * r_e)) for f in fractions]
    needed = fractions[np.searchsorted(coverage, 0.68)] if coverage[-1] >= 0.68 else np.nan
    return (np.mean(miss <= np.hypot(statistical, SYSTEMATIC_ERROR * r_e)),
            np.mean(miss <= statistical), needed)


def limit_trials(seed, segmenter, n_check, sky):
    """Upper limit of a cluster without diffuse emission, then checks at 2x and 0.5x."""
    from astropy_radiounet.clusters import DetectionRatio, angular_radius
    from astropy_radiounet.measure import halo_e_folding_radius, upper_limit
    from astropy_radiounet.measure.limits import _Injector
    from astropy_radiounet.simulation import SKY_PRESETS, simulate_field

    field = simulate_field(SHAPE, seed=seed, cluster_at_center=True, diffuse_probability=0.0,
                           redshift_range=(0.15, 0.4), **SKY_PRESETS[sky])
    row, centre, radius = _cluster(field)
    plane = _plane(field, field.image)
    r_e = angular_radius(halo_e_folding_radius(row["R500"]), row["z"])
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        limit = upper_limit(segmenter, plane, centre, radius=radius, r_e=r_e, seed=seed)
    seconds = time.perf_counter() - started
    if not limit.bracketed:
        return {"bracketed": False, "seconds": seconds}
    threshold = segmenter.card.detection_ratio_threshold
    x0, y0 = (float(v) for v in plane.wcs.world_to_pixel(centre))
    injector = _Injector(plane, (x0, y0), float((r_e / (1.5 * u.arcsec)).decompose()),
                         float(np.std(field.noise)), np.random.default_rng(seed + 1000))
    outcome = {}
    for factor in (2.0, 0.5):
        hits = []
        for _ in range(n_check):
            x, y = injector.position()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = segmenter.predict_probability(
                    injector.inject(factor * limit.flux.to_value(u.Jy), x, y))
                hits.append(DetectionRatio(p, centre, radius, wcs=plane.wcs).ratio[0]
                            > threshold)
        outcome[factor] = float(np.mean(hits))
    return {"bracketed": True, "seconds": seconds, "limit_mjy": limit.flux.to_value(u.mJy),
            "at_2x": outcome[2.0], "at_half": outcome[0.5]}


def limit_table(results):
    done = [r for r in results if r["bracketed"]]
    print("\nUpper limits on clusters without diffuse emission (fresh positions)")
    print("| clusters | bracketed | median limit (mJy) | detected at 2x limit | "
          "detected at 0.5x limit |")
    print("|---|---|---|---|---|")
    at_2x = np.mean([r["at_2x"] for r in done]) if done else np.nan
    at_half = np.mean([r["at_half"] for r in done]) if done else np.nan
    median = np.median([r["limit_mjy"] for r in done]) if done else np.nan
    print(f"| {len(results)} | {len(done)} | {median:.1f} | {at_2x:.2f} | {at_half:.2f} |")
    print("(the cost of a limit is measured by bench_measure.py)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--n-fields", type=int, default=60)
    parser.add_argument("--n-limits", type=int, default=10)
    parser.add_argument("--n-check", type=int, default=10,
                        help="halos injected at 2x and at 0.5x each limit")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--sky", choices=("lotss", "v0.2"), default="lotss",
                        help="the simulated sky (SKY_PRESETS): 'v0.2' is the one the "
                             "shipped model was trained on")
    parser.add_argument("--kind", choices=tuple(KIND_RATES), default="any",
                        help="the clusters' diffuse emission: every kind (default), or "
                             "halos (and mini-halos) only, or relics only")
    parser.add_argument("--no-background", action="store_true",
                        help="measure without taking the local background off "
                             "(measure_cluster(background=None)), for comparison")
    parser.add_argument("--segments", choices=("model", "truth"), default="model",
                        help="measure the model's segments (end to end), or the truth "
                             "mask (the measurement alone)")
    args = parser.parse_args()

    from astropy_radiounet import RadioUNetSegmenter

    segmenter = RadioUNetSegmenter()
    rows = []
    started = time.perf_counter()
    for k in range(args.n_fields):
        row = measure_field(args.seed + k, segmenter, args.sky, args.segments, args.kind,
                            None if args.no_background else "local")
        if row is not None:
            rows.append(row)
            print(f"field {k}: {row['kinds']:<16} S/N {row['snr']:6.1f} "
                  f"S_meas/S_true {row['flux'] / row['true_flux']:.2f} "
                  f"fit {row['fit_flux'] / row['true_flux']:.2f} flags {row['flags']}",
                  flush=True)
    print(f"sky: {args.sky}, segments: {args.segments}; {len(rows)} clusters with diffuse "
          f"emission measured in {time.perf_counter() - started:.0f} s")
    flux_table(rows)
    flux_table([r for r in rows if r["on_emission"] >= 0.5],
               "The same where at least half the measured region lies on injected "
               "diffuse emission (the segmentation found the cluster's emission)")
    r_e_table(rows)
    if not args.n_limits:
        return
    limits = [limit_trials(args.seed + 10_000 + k, segmenter, args.n_check, args.sky)
              for k in range(args.n_limits)]
    limit_table(limits)


if __name__ == "__main__":
    main()
