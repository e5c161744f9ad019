"""
Compare the simulated radio-galaxy population with the real one (LoMorph).

Reads the LoMorph catalogue of 5,805 extended LoTSS-DR1 radio galaxies
(Mingo et al. 2019) from ../shared/real/ when it is there, draws a large
population with `astropy_radiounet.simulation.radio_galaxies.sample_radio_galaxies`
and prints a table of class fractions, size and flux quantiles (10/50/90 per
cent) and Kolmogorov-Smirnov distances; writes a PNG of the size and flux
histograms, simulated against LoMorph, and a PNG gallery of each kind at 6"
and 20".  With ``--fit`` it fits the parametric forms to the catalogue and
prints the parameters as the package holds them (``LOMORPH_POPULATION`` and
``SMALL_SHAPES`` in ``astropy_radiounet/simulation/radio_galaxies.py``).

The catalogue is a reference for calibration and comparison only: the package
and its tests never read it.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/compare_radio_galaxies.py [--fit] [--n 100000]
        [--seed 1] [--real-dir ../shared/real] [--output-dir docs/_static/simulation]
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import optimize, special, stats

from astropy_radiounet.simulation.radio_galaxies import (REMNANT_FRACTION, radio_galaxy,
                                                         sample_radio_galaxies)

CATALOGUE = "mingo19_lotss_dr1_radio_galaxy_morphologies.fits"
#: LoMorph galaxies larger than this (arcsec) are left out of the fits (7 of 5,805).
MAX_SIZE = 1000.0
#: The flux range of the fits, log10(mJy): LoMorph's 1 mJy limit to 20 Jy.
FLUX_RANGE = (0.0, 4.3)
#: Remnants are this much fainter (dex) than LoMorph's extended classes.
REMNANT_DIMMING = 0.7


# ---- the catalogue ---------------------------------------------------------------------

def lomorph_classes(table):
    """
    LoMorph's galaxies in exclusive classes: {kind: (size arcsec, flux mJy)}, and
    the FR classes of the small ones.

    ``Small`` galaxies form one class whatever their FR flag; of the others,
    NAT and WAT (flagged FR1 too) and D-D come first, then FR1, FR2 and
    Indeterminate.
    """
    flag = {name: np.asarray(table[name], bool) for name in
            ("FR1", "FR2", "Indeterminate", "Small", "NAT", "WAT", "D-D")}
    small, tailed = flag["Small"], flag["NAT"] | flag["WAT"]
    select = {"FRI": flag["FR1"] & ~small & ~tailed, "FRII": flag["FR2"] & ~small,
              "indeterminate": flag["Indeterminate"] & ~small, "NAT": flag["NAT"],
              "WAT": flag["WAT"], "double-double": flag["D-D"], "small": small}
    size = np.asarray(table["LM_dec_size"], float)
    flux = np.asarray(table["LM_Flux"], float)
    classes = {kind: (size[sel], flux[sel]) for kind, sel in select.items()}
    counted = sum(sel.astype(int) for sel in select.values())
    if np.any(counted != 1):
        msg = f"{int(np.sum(counted != 1))} LoMorph galaxies are in no class or in two"
        raise RuntimeError(msg)
    shapes = {"FRI": int(np.sum(small & flag["FR1"])), "FRII": int(np.sum(small & flag["FR2"])),
              "indeterminate": int(np.sum(small & ~flag["FR1"] & ~flag["FR2"]))}
    return classes, shapes


def read_catalogue(real_dir):
    """The LoMorph table, or None (with a message) when it is not there."""
    path = Path(real_dir) / CATALOGUE
    if not path.exists():
        print(f"SKIP: the LoMorph catalogue {CATALOGUE} is not in {real_dir}; pass "
              f"--real-dir with the directory that holds it")
        return None
    from astropy.table import Table

    return Table.read(path)


# ---- the fits --------------------------------------------------------------------------

def _log_truncated_normal(z, lo, hi):
    """Log density of standard normal deviates ``z`` truncated to ``[lo, hi]``."""
    return -0.5 * z**2 - 0.5 * np.log(2 * np.pi) - np.log(special.ndtr(hi) - special.ndtr(lo))


def fit_sizes(theta, *, theta0=None, lo=None, hi=MAX_SIZE):
    """
    Maximum-likelihood ``(theta0, mu, sigma)`` of ``theta = theta0 + 10**x``,
    ``x ~ N(mu, sigma)`` truncated to ``lo <= theta <= hi`` (``theta0`` fitted
    when None, and then ``lo = theta0``).
    """
    theta = theta[theta <= hi]

    def nll(p):
        t0 = p[0] if theta0 is None else theta0
        if t0 >= theta.min() or t0 < 0:
            return 1e30
        mu, sigma = p[-2], np.exp(p[-1])
        x = np.log10(theta - t0)
        z_lo = (np.log10(max((t0 if lo is None else lo) - t0, 1e-3)) - mu) / sigma
        z_hi = (np.log10(hi - t0) - mu) / sigma
        dens = _log_truncated_normal((x - mu) / sigma, z_lo, z_hi) - np.log(sigma)
        return -np.sum(dens - np.log(theta - t0))

    best = None
    starts = [theta0] if theta0 is not None else np.linspace(0, 0.95 * theta.min(), 8)
    for t0 in starts:
        x = np.log10(theta - t0)
        p0 = ([] if theta0 is not None else [t0]) + [x.mean(), np.log(x.std())]
        r = optimize.minimize(nll, p0, method="Nelder-Mead",
                              options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-8})
        if best is None or r.fun < best.fun:
            best = r
    t0 = best.x[0] if theta0 is None else theta0
    return float(t0), float(best.x[-2]), float(np.exp(best.x[-1]))


def fit_fluxes(z, log_flux, *, flux_range=FLUX_RANGE):
    """Maximum-likelihood ``(mu, slope, sigma)`` of a truncated ``N(mu + slope z, sigma)``."""
    lo, hi = flux_range

    def nll(p):
        mean, sigma = p[0] + p[1] * z, np.exp(p[2])
        e = (log_flux - mean) / sigma
        return -np.sum(_log_truncated_normal(e, (lo - mean) / sigma, (hi - mean) / sigma)
                       - np.log(sigma))

    r = optimize.minimize(nll, [log_flux.mean(), 0.3, np.log(log_flux.std())],
                          method="Nelder-Mead",
                          options={"maxiter": 20000, "xatol": 1e-8, "fatol": 1e-8})
    return float(r.x[0]), float(r.x[1]), float(np.exp(r.x[2]))


def fit_class(theta, flux_mjy, *, small):
    """The parameters of one class, in the order of ``PopulationClass`` (without fraction)."""
    keep = theta <= MAX_SIZE
    theta, log_flux = theta[keep], np.log10(flux_mjy[keep])
    if small:
        lo, hi = np.floor(theta.min()), np.ceil(theta.max())
        t0, mu, sigma = fit_sizes(theta, theta0=0.0, lo=lo, hi=hi)
    else:
        t0, mu, sigma = fit_sizes(theta)
        lo, hi = t0, MAX_SIZE
    z = (np.log10(theta - t0) - mu) / sigma
    return (t0, mu, sigma, float(lo), float(hi), *fit_fluxes(z, log_flux))


def fit_population(classes, shapes):
    """All the fitted parameters: {kind: (fraction, theta0, ..., flux_sigma, [lo, hi])}."""
    n_total = sum(len(size) for size, _ in classes.values())
    params = {}
    for kind, (size, flux) in classes.items():
        fraction = (1 - REMNANT_FRACTION) * len(size) / n_total
        params[kind] = (fraction, *fit_class(size, flux, small=kind == "small"))
    extended = [kind for kind in classes if kind != "small"]
    size = np.concatenate([classes[k][0] for k in extended])
    flux = np.concatenate([classes[k][1] for k in extended])
    t0, mu, sigma, lo, hi, f_mu, f_slope, f_sigma = fit_class(size, flux, small=False)
    params["remnant"] = (REMNANT_FRACTION, t0, mu, sigma, lo, hi, f_mu - REMNANT_DIMMING,
                         f_slope, f_sigma, FLUX_RANGE[0] - REMNANT_DIMMING,
                         FLUX_RANGE[1] - REMNANT_DIMMING)
    total = sum(shapes.values())
    return params, {kind: count / total for kind, count in shapes.items()}


def print_fit(params, shapes):
    """The parameters as the package's source holds them."""
    print("LOMORPH_POPULATION = {")
    for kind, p in params.items():
        head = f'    "{kind}": PopulationClass('
        values = [f"{p[0]:.5f}", f"{p[1]:.3f}", f"{p[2]:.4f}", f"{p[3]:.5f}", f"{p[4]:.3f}",
                  f"{p[5]:.1f}"]
        tail = [f"{v:.4f}" if k == 0 else f"{v:.5f}" for k, v in enumerate(p[6:9])]
        if len(p) > 9:
            tail += [f"{p[9]:.1f}", f"{p[10]:.1f}"]
        print(head + ", ".join(values) + ",")
        print(" " * len(head) + ", ".join(tail) + "),")
    print("}")
    print("SMALL_SHAPES = {" + ", ".join(f'"{k}": {v:.5f}' for k, v in shapes.items()) + "}")


# ---- the comparison --------------------------------------------------------------------

def _q(values):
    return " / ".join(f"{v:.3g}" for v in np.percentile(values, [10, 50, 90]))


def comparison_rows(classes, kind, size, flux):
    """
    One row per class, then all LoMorph classes, then the remnants (simulated
    only); simulated fractions are of the galaxies of LoMorph's classes, the
    remnants' of all.
    """
    n_real = sum(len(s) for s, _ in classes.values())
    flux_mjy = flux * 1e3
    n_sim = np.sum(kind != "remnant")
    rows = []
    for name in list(classes) + ["all LoMorph classes", "remnant"]:
        if name == "remnant":
            sim = kind == "remnant"
            real = None
        elif name in classes:
            sim = kind == name
            real = classes[name]
        else:
            sim = kind != "remnant"
            real = tuple(np.concatenate(parts) for parts in zip(*classes.values()))
        row = {"class": name, "n LoMorph": "-" if real is None else str(len(real[0])),
               "fraction LoMorph": "-" if real is None else f"{len(real[0]) / n_real:.4f}",
               "fraction sim": (f"{np.mean(sim):.4f} of all" if real is None
                                else f"{np.sum(sim) / n_sim:.4f}"),
               "size LoMorph": "-" if real is None else _q(real[0]),
               "size sim": _q(size[sim]),
               "flux LoMorph": "-" if real is None else _q(real[1]),
               "flux sim": _q(flux_mjy[sim])}
        for label, k in (("KS size", 0), ("KS flux", 1)):
            row[label] = "-" if real is None else (
                f"{stats.ks_2samp(real[k], (size, flux_mjy)[k][sim]).statistic:.3f}")
        rows.append(row)
    return rows


def print_table(rows):
    """An RST simple table."""
    names = list(rows[0])
    widths = [max(len(n), *(len(r[n]) for r in rows)) for n in names]
    rule = "  ".join("=" * w for w in widths)
    print(rule)
    print("  ".join(n.ljust(w) for n, w in zip(names, widths)))
    print(rule)
    for r in rows:
        print("  ".join(r[n].ljust(w) for n, w in zip(names, widths)))
    print(rule)


# ---- the figures -----------------------------------------------------------------------

def histogram_figure(classes, kind, size, flux, path):
    """
    Size and flux histograms (fraction of the galaxies per 0.1 dex) and class
    fractions, simulated against LoMorph; the remnants as a fraction of all.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real_size = np.concatenate([s for s, _ in classes.values()])
    real_flux = np.concatenate([f for _, f in classes.values()])
    lomorph = kind != "remnant"
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, real, sim, bins, label in (
            (axes[0], real_size, size, 10 ** np.arange(0.7, 3.31, 0.1),
             "largest angular size (arcsec)"),
            (axes[1], real_flux, flux * 1e3, 10 ** np.arange(-0.7, 4.31, 0.1),
             "flux density at 144 MHz (mJy)")):
        ax.hist(real, bins, histtype="step", color="k", lw=1.5,
                weights=np.full(real.size, 1 / real.size), label=f"LoMorph ({real.size})")
        ax.hist(sim[lomorph], bins, histtype="step", color="C1", lw=1.5,
                weights=np.full(lomorph.sum(), 1 / lomorph.sum()),
                label="simulated, LoMorph classes")
        ax.hist(sim[~lomorph], bins, histtype="step", color="C0", ls="--",
                weights=np.full((~lomorph).sum(), 1 / kind.size),
                label="simulated remnants (of all)")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("fraction per 0.1 dex")
        ax.legend(fontsize=7)
    names = list(classes) + ["remnant"]
    real_frac = [len(classes[k][0]) / real_size.size if k in classes else 0 for k in names]
    sim_frac = [np.sum(kind == k) / (lomorph.sum() if k in classes else kind.size)
                for k in names]
    x = np.arange(len(names))
    axes[2].bar(x - 0.2, real_frac, 0.4, color="k", label="LoMorph")
    axes[2].bar(x + 0.2, sim_frac, 0.4, color="C1", label="simulated")
    axes[2].set_xticks(x, names, rotation=40, ha="right", fontsize=8)
    axes[2].set_ylabel("fraction")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


#: (size arcsec, flux mJy) of the gallery's galaxies, near each class's upper quartile.
GALLERY = {"FRI": (150, 80), "FRII": (150, 80), "indeterminate": (150, 80), "NAT": (110, 50),
           "WAT": (150, 80), "double-double": (220, 80), "small": (35, 20),
           "remnant": (150, 12)}


def render(kind, size, flux_mjy, *, seed, beam=6.0, noise=70e-6, pixel=1.5, fov=330.0):
    """One galaxy observed with a 6" beam and noise, and that image convolved to ``beam``."""
    from scipy import ndimage

    from astropy_radiounet.simulation.compact import splat_gaussians
    from astropy_radiounet.simulation._utils import beam_covariance

    rng = np.random.default_rng(seed)
    n = int(fov / pixel)
    c = n / 2
    g = radio_galaxy(rng, kind, c, c, flux=flux_mjy * 1e-3, size=size / pixel, angle=0.3)
    b6 = 6.0 / pixel
    cov6 = beam_covariance(b6, b6, 0.0)
    area6 = np.pi * b6**2 / (4 * np.log(2))
    image = np.zeros((n, n))
    splat_gaussians(image, g.blob_y, g.blob_x, g.blob_flux * area6, g.blob_cov + cov6)
    splat_gaussians(image, [g.y], [g.x], [g.core_flux * area6], cov6[None])
    white = ndimage.gaussian_filter(rng.normal(size=(n, n)), b6 * 0.4247)
    image = image + white / white.std() * noise
    if beam > 6.0:
        sigma = np.sqrt(beam**2 - 6.0**2) / pixel * 0.4247
        image = ndimage.gaussian_filter(image, sigma) * (beam / 6.0) ** 2
        noise = noise * beam / 6.0
    return image, noise


def gallery_figure(path, *, seed):
    """Each kind at 6" (top) and convolved to 20" (bottom), -2 to 100 noise rms, asinh."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import AsinhNorm

    fig, axes = plt.subplots(2, len(GALLERY), figsize=(2.1 * len(GALLERY), 4.6))
    for col, (kind, (size, flux)) in enumerate(GALLERY.items()):
        for row, beam in enumerate((6.0, 20.0)):
            image, noise = render(kind, size, flux, seed=seed + col, beam=beam,
                                  fov=max(1.5 * size, 90.0))
            axes[row, col].imshow(image / noise, origin="lower", cmap="inferno",
                                  norm=AsinhNorm(linear_width=2, vmin=-2, vmax=100))
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
            if row == 0:
                axes[row, col].set_title(f"{kind}\n{size}\", {flux} mJy", fontsize=8)
        axes[0, 0].set_ylabel('6" beam', fontsize=8)
        axes[1, 0].set_ylabel('20" beam', fontsize=8)
    fig.suptitle('Simulated radio galaxies (LoMorph population): 70 uJy/beam noise at 6", '
                 'the same image convolved to 20" below; panels 1.5 sizes wide; colour -2 to '
                 '100 rms (asinh)', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--real-dir", default=str(here.parent / "shared" / "real"))
    parser.add_argument("--output-dir", default=str(here / "docs" / "_static" / "simulation"))
    parser.add_argument("--n", type=int, default=100000, help="simulated galaxies")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fit", action="store_true",
                        help="fit the catalogue and print the package's parameters")
    parser.add_argument("--no-figures", action="store_true")
    args = parser.parse_args(argv)
    table = read_catalogue(args.real_dir)
    if table is None:
        return 0
    classes, shapes = lomorph_classes(table)
    if args.fit:
        print_fit(*fit_population(classes, shapes))
        return 0
    kind, size, flux = sample_radio_galaxies(np.random.default_rng(args.seed), args.n)
    print(f"LoMorph: {len(table)} galaxies; simulated: {args.n} (seed {args.seed}); sizes in "
          f"arcsec, fluxes in mJy, quantiles 10 / 50 / 90 per cent")
    print_table(comparison_rows(classes, kind, size, flux))
    if not args.no_figures:
        out = Path(args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        histogram_figure(classes, kind, size, flux, out / "radio_galaxies_lomorph.png")
        gallery_figure(out / "radio_galaxy_gallery.png", seed=args.seed)
        print(f"wrote {out / 'radio_galaxies_lomorph.png'} and "
              f"{out / 'radio_galaxy_gallery.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
