"""
Compare simulated fields with a real LoTSS-DR1 cutout.

Measures the same realism numbers (astropy_radiounet.simulation.realism) on
../shared/real/lotss_dr1_P205+55.fits and on simulated 600 x 600 fields with the
LoTSS defaults and no cluster (the real cutout has none), and prints a table.
Also compares the compact-source counts of the model with the real PyBDSF list.
Skips cleanly when the real data are absent.

Usage::

    python benchmarks/compare_real_field.py [--n-fields 10] [--real-dir ../shared/real]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from astropy_radiounet.simulation import LoTSSCounts, simulate_field
from astropy_radiounet.simulation.realism import measure_realism

ROWS = [("mad_std", "noise mad_std (uJy/beam)", 1e6), ("skewness", "skewness (|z|<5)", 1),
        ("kurtosis", "excess kurtosis (|z|<5)", 1), ("frac_above_5", "fraction > +5 sigma", 1),
        ("frac_below_5", "fraction < -5 sigma", 1), ("acf_fwhm", "noise ACF FWHM (arcsec)", 1),
        ("anisotropy", "noise anisotropy (max/min)", 1),
        ("islands_per_deg2", "5-sigma islands per deg^2", 1),
        ("flux_p10", "island flux p10 (mJy)", 1), ("flux_p50", "island flux p50 (mJy)", 1),
        ("flux_p90", "island flux p90 (mJy)", 1),
        ("frac_extended", "fraction of extended islands", 1)]


def _fmt(v):
    if not np.isfinite(v):
        return "nan"
    return f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--real-dir", default=str(here.parent / "shared" / "real"))
    parser.add_argument("--n-fields", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    real_dir = Path(args.real_dir)
    image_path = real_dir / "lotss_dr1_P205+55.fits"
    if not image_path.exists():
        print(f"SKIP: real data not found in {real_dir}")
        return 0
    from astropy.io import fits

    real = fits.getdata(image_path).astype(float).squeeze()
    m_real = measure_realism(real)
    sims = []
    for ss in np.random.SeedSequence(args.seed).spawn(args.n_fields):
        f = simulate_field(real.shape, seed=ss, n_clusters=0)
        sims.append(measure_realism(f.image))
    print(f"Real: {image_path.name} {real.shape}; simulated: {args.n_fields} fields "
          f"{real.shape}, LoTSS defaults, no cluster, seed {args.seed}\n")
    print(f"| {'quantity':32s} | {'real':>9s} | {'sim median':>10s} | {'sim 16-84%':>19s} |")
    print(f"|{'-' * 34}|{'-' * 11}|{'-' * 12}|{'-' * 21}|")
    for key, label, scale in ROWS:
        vals = np.array([s[key] for s in sims], float) * scale
        lo, med, hi = np.nanpercentile(vals, [16, 50, 84])
        print(f"| {label:32s} | {_fmt(m_real[key] * scale):>9s} | {_fmt(med):>10s} | "
              f"{_fmt(lo) + ' - ' + _fmt(hi):>19s} |")
    cat_path = real_dir / "lotss_dr1_P205+55_pybdsf_sources.fits"
    if cat_path.exists():
        from astropy.coordinates import SkyCoord
        from astropy.table import Table
        import astropy.units as u

        t = Table.read(cat_path)
        flux = t["Total_flux"].quantity
        flux = (flux.to_value(u.Jy) if flux.unit is not None else np.asarray(flux) * 1e-3)
        c = SkyCoord(t["RA"], t["DEC"], unit="deg")
        sel = c.separation(SkyCoord(205.0, 55.0, unit="deg")) < 1.2 * u.deg
        area = np.pi * 1.2**2
        print("\nEuclidean-normalised counts S^2.5 dN/dS (Jy^1.5 sr^-1), real PyBDSF list "
              "within 1.2 deg of P205+55 vs the LoTSSCounts model")
        print(f"| {'S (mJy)':>8s} | {'N real':>6s} | {'real':>7s} | {'model':>7s} |")
        print(f"|{'-' * 10}|{'-' * 8}|{'-' * 9}|{'-' * 9}|")
        edges = np.geomspace(1e-3, 1.0, 10)
        n, _ = np.histogram(flux[sel], edges)
        centre = np.sqrt(edges[1:] * edges[:-1])
        sr = area * (np.pi / 180) ** 2
        eu = n / np.diff(edges) / sr * centre**2.5
        model = LoTSSCounts().euclidean(centre)
        for s, k, e, m in zip(centre, n, eu, model):
            print(f"| {s * 1e3:8.3g} | {k:6d} | {e:7.3g} | {m:7.3g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
