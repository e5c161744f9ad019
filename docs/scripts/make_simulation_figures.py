"""
Make the pictures of docs/simulation.rst in docs/_static/simulation/.

    OMP_NUM_THREADS=1 python docs/scripts/make_simulation_figures.py
"""

from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import fft  # noqa: E402

from astropy_radiounet.simulation import InstrumentConfig, dirty_beam, simulate_field  # noqa
from astropy_radiounet.simulation import diffuse as dfs  # noqa: E402
from astropy_radiounet.simulation.compact import splat_gaussians  # noqa: E402
from astropy_radiounet.simulation.instrument import instrument_kernels  # noqa: E402
from astropy_radiounet.simulation.radio_galaxies import radio_galaxy  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "_static" / "simulation"
SIGMA = 70e-6


def _show(ax, img, title, vmax=None):
    vmax = vmax or 15 * SIGMA
    ax.imshow(np.arcsinh(img / SIGMA), origin="lower", cmap="inferno",
              vmin=np.arcsinh(-3), vmax=np.arcsinh(vmax / SIGMA))
    ax.set_title(title, fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])


def _observe(model, shape, seed):
    """Convolve a Jy/pixel model with the LoTSS beam and add LoTSS noise."""
    k = instrument_kernels(InstrumentConfig(), shape)
    from astropy_radiounet.simulation.instrument import correlated_noise

    sky = fft.irfft2(fft.rfft2(model) * k.beam, s=shape)
    return sky + SIGMA * correlated_noise(np.random.default_rng(seed), k)


def gallery():
    shape = (192, 192)
    rng = np.random.default_rng(4)
    c = (96.0, 96.0)
    comps = {
        "radio halo (1 Mpc)": dfs.halo(rng, *c, r_e=25, flux=0.04, grid=shape, axis_ratio=0.8,
                                       turbulence=0.5),
        "radio relic": dfs.relic(rng, 40.0, 96.0, distance=80, angle=np.pi / 2, length=110,
                                 width=10, flux=0.05, grid=shape, edge=1.0),
        "mini-halo + BCG": dfs.halo(rng, *c, r_e=8, flux=0.01, grid=shape, truncation=3,
                                    kind="mini_halo"),
        "bridge": dfs.bridge(rng, (60, 30), (130, 165), width=45, surface_brightness=3e-6,
                             grid=shape),
        "cosmic-web filament (x5)": dfs.filament(rng, (20, 20), (170, 170), width=60,
                                                 surface_brightness=5e-6, grid=shape),
    }
    fig, axes = plt.subplots(2, 5, figsize=(12.5, 5.4))
    for ax, (title, comp) in zip(axes[0], comps.items()):
        model = np.zeros(shape)
        dfs.add_stamp(model, comp)
        if "BCG" in title:
            model[96, 96] += 0.02
        _show(ax, _observe(model, shape, 1), title)
    for ax, kind in zip(axes[1], ("FRI", "FRII", "NAT", "WAT")):
        g = radio_galaxy(np.random.default_rng(7), kind, 96.0, 96.0, flux=0.08, size=110)
        model = np.zeros(shape)
        splat_gaussians(model, g.blob_y, g.blob_x, g.blob_flux, g.blob_cov)
        model[96, 96] += g.core_flux
        _show(ax, _observe(model, shape, 2), f"{kind} radio galaxy", vmax=60 * SIGMA)
    f = simulate_field(shape, seed=5, n_clusters=1, overdensities=True, diffuse_probability=0,
                       cluster_at_center=True, radio_galaxy_density=0, redshift=0.15,
                       mass_range=(1.2e15, 1.5e15))
    _show(axes[1, 4], f.image, "over-density of faint members")
    fig.suptitle("Source types, 6\" beam, 70 uJy/beam noise (192 x 192 pixels of 1.5\")",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "gallery.png", dpi=42)
    plt.close(fig)


def artefacts():
    psf = dirty_beam((256, 256))
    f = simulate_field((256, 256), seed=21, n_clusters=0, radio_galaxy_density=0,
                       flux_range=(20e-6, 0.01) * u.Jy)
    # one bright 0.5 Jy source, observed with the same instrument
    from astropy_radiounet.simulation.instrument import instrument_kernels as ik

    k = ik(f.config, (256, 256))
    delta = np.zeros((256, 256))
    delta[128, 128] = 0.5
    d = fft.rfft2(delta)
    art = fft.irfft2(d * (0.01 * k.residual + k.errors[0]), s=(256, 256))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.9))
    axes[0].imshow(np.arcsinh(psf / 1e-3), origin="lower", cmap="RdBu_r", vmin=-3, vmax=3)
    axes[0].set_title("dirty beam of the LOFAR-like array", fontsize=9)
    _show(axes[1], f.image + art, "0.5 Jy source: sidelobes + calibration errors")
    _show(axes[2], f.noise, "correlated noise alone", vmax=5 * SIGMA)
    for ax in axes:
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(OUT / "artefacts.png", dpi=48)
    plt.close(fig)


def full_field():
    f = simulate_field((512, 512), seed=13, n_clusters=2, diffuse_probability=1.0,
                       redshift=0.18, mass_range=(5e14, 1.2e15))
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3))
    _show(axes[0], f.image, "image")
    _show(axes[1], f.diffuse_sky, "diffuse sky (beam-convolved)", vmax=5 * SIGMA)
    axes[2].imshow(f.labels, origin="lower", cmap="tab10", vmin=0, vmax=9,
                   interpolation="nearest")
    axes[2].set_title("labels (mask: label > 0)", fontsize=9)
    axes[2].set_xticks([]), axes[2].set_yticks([])
    for ax in axes[:2]:
        ax.contour(f.mask, levels=[0.5], colors="cyan", linewidths=0.6)
    for row in f.clusters:
        axes[0].plot(row["x"], row["y"], "c+", ms=10)
    fig.tight_layout()
    fig.savefig(OUT / "field.png", dpi=48)
    plt.close(fig)
    return f


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    gallery()
    artefacts()
    f = full_field()
    print(f.clusters["name", "z", "M500", "classification", "diffuse"])
    for p in sorted(OUT.glob("*.png")):
        print(p.name, p.stat().st_size // 1024, "kB")
