"""
Compact-source subtraction in the image plane on simulated LoTSS fields: how
well `astropy_radiounet.measure.subtract_compact_sources` recovers the flux
density of radio halos and relics, and the error of the flux it subtracts
(the default `~astropy_radiounet.measure.SUBTRACTION_ERROR`).

Fields of 512 x 512 pixels of 1.5 arcsec at 6 arcsec resolution, each with a
massive cluster (M500 of 6e14 to 1.5e15 Msun, as the clusters whose halos and
relics LoTSS detects) with diffuse emission at its centre.  Two measurements
on the same fields:

1. **Diffuse flux in the truth mask** of the halos, mini-halos and relics
   (the ``labels`` of the simulation), before and after subtraction, against
   the true diffuse flux (``diffuse_sky`` summed over the mask): the median
   bias and the scatter (1.4826 MAD) of (S - S_true) / S_true over the
   fields, as measured and with the noise and artefacts of the image (known
   in a simulation) taken off, which leaves the compact flux not subtracted
   (sources below the threshold, radio galaxies) and the errors of the
   subtraction.  "Unreliable left out" measures only the pixels not flagged
   unreliable (against the true diffuse flux of those pixels).  The median
   fraction of the compact flux in the mask -- everything of the noise-free
   sky that is not diffuse: compact sources of all fluxes and radio galaxies
   -- that the model removes is given too.
2. **Subtraction error**: compact sources of known flux density (10 to 1000
   times the noise) and size (the size law of the simulation: 1.5 arcsec
   (S / 1 mJy)^0.3, log-normal scatter 0.6 in ln, axis ratio 0.3-1) injected
   at random positions in the truth mask of each field (anywhere in the field
   where the mask is small), at least 3 beams apart.  The flux each adds to
   the model (that of the components within one beam of it, less that of the
   same components without the injection) is compared with its true flux
   density: the median and scatter of the fractional error, and its
   flux-weighted rms.  The scatter sets ``SUBTRACTION_ERROR``.

``--measure-at 20`` measures at 20 arcsec instead, on 4.5 arcsec pixels: the
6 arcsec field (and its truth) convolved to 20 arcsec, with the compact
sources found in the 6 arcsec image (``full_resolution``).

Run from the repository root::

    python benchmarks/compact_subtraction.py            # 20 fields, at 6 arcsec
    python benchmarks/compact_subtraction.py --measure-at 20
"""

import argparse
import time

import astropy.units as u
import numpy as np
from radio_beam import Beam
from scipy.ndimage import gaussian_filter

from astropy_radiounet.image import ImagePlane
from astropy_radiounet.measure import SUBTRACTION_ERROR, subtract_compact_sources
from astropy_radiounet.simulation import LABELS, simulate_field

BEAM = 6.0     # arcsec
PIXEL = 1.5    # arcsec
SHAPE = (512, 512)
TO_SIGMA = 1 / np.sqrt(8 * np.log(2))
NOISE = 70e-6  # Jy/beam, the simulation's default
KINDS = ("halo", "mini_halo", "relic")
#: Massive clusters, as those with halos and relics detected in LoTSS (PSZ2).
MASS_RANGE = (6e14, 1.5e15) * u.Msun


class Measurement:
    """The measurement grid and beam: the 6 arcsec field, or it convolved and resampled."""

    def __init__(self, beam):
        self.beam = beam
        self.factor = 1 if beam == BEAM else 3  # 20 arcsec on 4.5 arcsec pixels
        self.kernel_sigma = np.sqrt(max(beam**2 - BEAM**2, 0)) / PIXEL * TO_SIGMA
        self.beam_area = 2 * np.pi * (beam / PIXEL / self.factor * TO_SIGMA) ** 2

    def __call__(self, image):
        """An image of the field (Jy/beam at 6 arcsec) at the measurement beam and grid."""
        if self.factor == 1:
            return image
        smooth = gaussian_filter(np.nan_to_num(image).astype(float), self.kernel_sigma,
                                 mode="constant") * (self.beam / BEAM) ** 2
        n = (SHAPE[0] - 2) // self.factor
        return smooth[1:1 + self.factor * n:self.factor, 1:1 + self.factor * n:self.factor]

    def run(self, image, field, options):
        """subtract_compact_sources on the measurement image of ``image``."""
        if self.factor == 1:
            return subtract_compact_sources(image, wcs=field.wcs, beam=Beam(BEAM * u.arcsec),
                                            **options)
        wcs = field.wcs.deepcopy()
        wcs.wcs.cdelt = wcs.wcs.cdelt * self.factor
        wcs.wcs.crpix = [(crpix - 2) / self.factor + 1 for crpix in wcs.wcs.crpix]
        fine = ImagePlane.from_array(image, wcs=field.wcs, beam=Beam(BEAM * u.arcsec))
        return subtract_compact_sources(self(image), wcs=wcs, beam=Beam(self.beam * u.arcsec),
                                        full_resolution=fine, **options)


def _positions(mask, rng, n, margin):
    """``n`` positions at least 3 beams apart: in the truth mask where it has room."""
    ny, nx = mask.shape
    inner = np.zeros_like(mask)
    inner[margin:ny - margin, margin:nx - margin] = mask[margin:ny - margin, margin:nx - margin]
    pool = np.column_stack(np.nonzero(inner)).astype(float)
    if len(pool) < 20 * n:  # a small mask: anywhere in the field
        pool = rng.uniform(margin, min(ny, nx) - margin, (100 * n, 2))
    chosen = []
    for index in rng.permutation(len(pool)):
        y, x = pool[index] + rng.uniform(-0.5, 0.5, 2)
        if all(np.hypot(y - cy, x - cx) > 3 * BEAM / PIXEL for cy, cx in chosen):
            chosen.append((y, x))
        if len(chosen) == n:
            break
    return np.array(chosen).T


def _injected(mask, rng, n):
    """Compact sources: the 6 arcsec image of them, their flux densities (Jy), FWHM, y, x."""
    y, x = _positions(mask, rng, n, margin=20)
    flux = NOISE * 10 ** rng.uniform(1.0, 3.0, len(y))  # 10 to 1000 sigma
    major = 1.5 * (flux / 1e-3) ** 0.3 * np.exp(rng.normal(0, 0.6, len(y)))  # FWHM, arcsec
    minor = major * rng.uniform(0.3, 1.0, len(y))
    pa = rng.uniform(0, np.pi, len(y))
    image = np.zeros(SHAPE)
    gy, gx = np.indices(SHAPE)
    beam_var = (BEAM / PIXEL * TO_SIGMA) ** 2
    for y0, x0, s, a, b, t in zip(y, x, flux, major, minor, pa):
        along = np.array([np.sin(t), np.cos(t)])  # on the (x, y) pixel axes
        across = np.array([np.cos(t), -np.sin(t)])
        total = ((a / PIXEL * TO_SIGMA) ** 2 * np.outer(along, along)
                 + (b / PIXEL * TO_SIGMA) ** 2 * np.outer(across, across)
                 + beam_var * np.eye(2))
        inverse = np.linalg.inv(total)
        dx, dy = gx - x0, gy - y0
        q = inverse[0, 0] * dx**2 + 2 * inverse[0, 1] * dx * dy + inverse[1, 1] * dy**2
        image += s * beam_var / np.sqrt(np.linalg.det(total)) * np.exp(-0.5 * q)  # Jy/beam
    return image.astype(np.float32), flux, major, y, x


def _near_flux(sources, y, x, radius):
    """Flux (Jy) of the components within ``radius`` pixels of each (y, x)."""
    if len(sources) == 0:
        return np.zeros(len(y))
    sy, sx = np.asarray(sources["y"]), np.asarray(sources["x"])
    flux = sources["flux"].to_value(u.Jy)
    near = np.hypot(sy[None] - np.asarray(y)[:, None], sx[None] - np.asarray(x)[:, None])
    return np.where(near <= radius, flux[None], 0.0).sum(axis=1)


def _field(seed, options, n_inject, at):
    field = simulate_field(SHAPE, seed=seed, cluster_at_center=True, diffuse_probability=1.0,
                           mass_range=MASS_RANGE)
    fine_mask = np.isin(field.labels, [LABELS[k] for k in KINDS])
    if not fine_mask.any():
        return None
    mask = at(fine_mask.astype(float)) > 0.5 if at.factor > 1 else fine_mask
    result = at.run(field.image, field, options)
    diffuse, noise = at(field.diffuse_sky), at(field.noise + field.artefacts)
    compact, image = at(field.sky - field.diffuse_sky), at(field.image)
    kept = mask & ~result.unreliable

    def flux(values, where=mask):
        return np.nansum(values[where]) / at.beam_area

    row = dict(true=flux(diffuse), before=flux(image), after=flux(result.subtracted.data),
               true_kept=flux(diffuse, kept), after_kept=flux(result.subtracted.data, kept),
               noise=flux(noise), noise_kept=flux(noise, kept), compact=flux(compact),
               removed=flux(result.model),
               unreliable=np.count_nonzero(mask & result.unreliable) / mask.sum(),
               residual_error=result.residual_error(mask).to_value(u.Jy))
    sources, fluxes, major, y, x = _injected(fine_mask, np.random.default_rng([seed, 14]),
                                             n_inject)
    injected = at.run(field.image + sources, field, options)
    y, x = (y - (at.factor > 1)) / at.factor, (x - (at.factor > 1)) / at.factor
    radius = BEAM / PIXEL / at.factor
    added = (_near_flux(injected.sources, y, x, radius)
             - _near_flux(result.sources, y, x, radius))
    return row, np.column_stack([fluxes, major, added])


def _stats(ratio):
    median = np.median(ratio)
    return median, 1.4826 * np.median(np.abs(ratio - median))


def _report(rows, injections, max_size, beam):
    rows = {key: np.array([r[key] for r in rows]) for key in rows[0]}
    print(f"{len(rows['true'])} fields measured at {beam:g} arcsec; diffuse flux density in "
          f"the truth mask of {', '.join(KINDS)}: (S - S_true) / S_true\n")
    print("| image | median bias | scatter | bias, noise taken off | scatter, noise taken off "
          "| compact flux removed |")
    print("|---|---|---|---|---|---|")
    for name, measured, true, noise in (
            ("before subtraction", rows["before"], rows["true"], rows["noise"]),
            ("after subtraction", rows["after"], rows["true"], rows["noise"]),
            ("after, unreliable left out", rows["after_kept"], rows["true_kept"],
             rows["noise_kept"])):
        bias, scatter = _stats(measured / true - 1)
        clean_bias, clean_scatter = _stats((measured - noise) / true - 1)
        removed = (f"{np.median(rows['removed'] / rows['compact']):.2f}"
                   if name == "after subtraction" else "-")
        print(f"| {name} | {bias:+.3f} | {scatter:.3f} | {clean_bias:+.3f} | "
              f"{clean_scatter:.3f} | {removed} |")
    print(f"\nPixels of the mask flagged unreliable: median "
          f"{np.median(rows['unreliable']):.3f}; residual_error / S_true: median "
          f"{np.median(rows['residual_error'] / rows['true']):.3f}.")
    flux, major, added = np.concatenate(injections).T
    compact = major <= max_size
    found = compact & (added > 0)
    bias, scatter = _stats(added[found] / flux[found] - 1)
    weighted = np.sqrt(np.sum((added[found] - flux[found]) ** 2) / np.sum(flux[found] ** 2))
    print(f"\nInjected compact sources (10-1000 sigma, deconvolved FWHM <= {max_size:g} "
          f"arcsec): {compact.sum()}, subtracted {found.sum()}; flux subtracted / true - 1: "
          f"median {bias:+.3f}, scatter {scatter:.3f}, flux-weighted rms {weighted:.3f} "
          f"(SUBTRACTION_ERROR = {SUBTRACTION_ERROR}).")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-fields", type=int, default=20)
    parser.add_argument("--n-inject", type=int, default=10, help="sources injected per field")
    parser.add_argument("--measure-at", type=float, default=BEAM, choices=(BEAM, 20.0),
                        help="beam of the measurement image, arcsec")
    parser.add_argument("--max-size", type=float, default=None,
                        help="max_size in arcsec (default: the package's, 1.5 beams)")
    args = parser.parse_args()
    options = {} if args.max_size is None else dict(max_size=args.max_size * u.arcsec)
    at = Measurement(args.measure_at)
    rows, injections = [], []
    start = time.perf_counter()
    seed = 0
    while len(rows) < args.n_fields:
        found = _field(seed, options, args.n_inject, at)
        seed += 1
        if found is not None:
            rows.append(found[0])
            injections.append(found[1])
    _report(rows, injections, args.max_size or 1.5 * BEAM, args.measure_at)
    print(f"\n{time.perf_counter() - start:.0f} s ({seed} seeds, {len(rows)} with a mask).")


if __name__ == "__main__":
    main()
