"""
Measurements that compare a simulated field with a real survey image: the
noise distribution (robust rms, skewness, tails), the noise autocorrelation
length, the density of 5-sigma islands and the flux distribution of compact
sources. The same functions run on both, so the numbers are comparable.
"""

import astropy.units as u
import numpy as np
from astropy.stats import mad_std
from scipy import fft, ndimage, stats

from ._utils import to_value

__all__ = ["noise_statistics", "autocorrelation_fwhm", "noise_anisotropy", "islands",
           "island_density", "measure_realism"]


def _finite(image):
    data = np.asarray(image, dtype=float)
    if data.ndim != 2:
        msg = f"image must be 2-D; got shape {data.shape}"
        raise ValueError(msg)
    return data


def noise_statistics(image):
    """
    Robust noise statistics of an image.

    Returns
    -------
    stats : dict
        ``median`` and ``mad_std`` (image units); ``skewness`` and ``kurtosis``
        (excess) of the pixels within 5 robust sigma of the median; ``frac_above_5``
        and ``frac_below_5``: fractions of pixels beyond +5 and -5 sigma (a
        Gaussian gives 2.9e-7 each).

    Examples
    --------
    >>> import numpy as np
    >>> s = noise_statistics(np.random.default_rng(0).normal(0, 2.0, (200, 200)))
    >>> round(s['mad_std'], 1), s['frac_below_5']
    (2.0, 0.0)
    """
    data = _finite(image)
    vals = data[np.isfinite(data)]
    med = float(np.median(vals))
    sig = float(mad_std(vals))
    z = (vals - med) / sig
    core = z[np.abs(z) < 5]
    return {"median": med, "mad_std": sig, "skewness": float(stats.skew(core)),
            "kurtosis": float(stats.kurtosis(core)),
            "frac_above_5": float(np.mean(z > 5)), "frac_below_5": float(np.mean(z < -5))}


def autocorrelation_fwhm(image, *, pixel_scale=1.5 * u.arcsec, clip=5.0):
    """
    FWHM of the azimuthally averaged autocorrelation of the noise.

    Pixels beyond ``clip`` robust sigma (and their neighbours) are set to zero
    and the autocorrelation is divided by that of the kept-pixel mask, so
    sources barely bias it.

    Returns
    -------
    fwhm : `~astropy.units.Quantity`
        In arcsec.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import gaussian_filter
    >>> noise = gaussian_filter(np.random.default_rng(0).normal(size=(256, 256)), 2.0)
    >>> fwhm = autocorrelation_fwhm(noise, pixel_scale=1.0)
    >>> bool(abs(fwhm.value - 2.0 * 2.3548 * 2**0.5) < 0.5)
    True
    """
    pix = to_value("pixel_scale", pixel_scale, u.arcsec)
    data = _finite(image)
    good = np.isfinite(data)
    med = np.median(data[good])
    sig = mad_std(data[good])
    bad = ~good | (np.abs(data - med) > clip * sig)
    bad = ndimage.binary_dilation(bad, iterations=3)
    keep = (~bad).astype(float)
    d = np.where(bad, 0.0, data - med)
    ny, nx = d.shape
    shape = (fft.next_fast_len(2 * ny), fft.next_fast_len(2 * nx))
    acf = fft.irfft2(np.abs(fft.rfft2(d, s=shape)) ** 2, s=shape)
    norm = fft.irfft2(np.abs(fft.rfft2(keep, s=shape)) ** 2, s=shape)
    acf = acf / np.maximum(norm, 1.0)
    acf = fft.fftshift(acf)
    cy, cx = shape[0] // 2, shape[1] // 2
    r_max = 30
    sub = acf[cy - r_max:cy + r_max + 1, cx - r_max:cx + r_max + 1]
    yy, xx = np.mgrid[-r_max:r_max + 1, -r_max:r_max + 1]
    r = np.hypot(yy, xx)
    rad, inverse = np.unique(np.round(r.ravel(), 6), return_inverse=True)
    prof = np.bincount(inverse, sub.ravel()) / np.bincount(inverse)
    prof = prof / sub[r_max, r_max]
    # Gaussian fit of the core of the profile: ln(acf) = -r^2 / (2 s^2)
    use = (rad > 0) & (prof > 0.15) & (rad < rad[np.argmax(prof < 0.15)] if np.any(
        prof < 0.15) else rad > 0)
    if use.sum() < 2:
        return np.nan * u.arcsec
    s2 = -np.sum(rad[use] ** 4) / np.sum(rad[use] ** 2 * np.log(prof[use])) / 2
    return np.sqrt(8 * np.log(2) * s2) * pix * u.arcsec


def islands(image, *, threshold=5.0, island_threshold=3.0, rms=None):
    """
    Islands: connected regions above ``island_threshold`` sigma holding a pixel
    above ``threshold`` sigma (the PyBDSF definition, 8-connectivity).

    Returns
    -------
    labels : ndarray of int
        Island label image (0: background).
    n : int
        Number of islands.
    sums, peaks : ndarray
        Sum and maximum of the (median-subtracted) pixel values of each island.
    """
    data = _finite(image)
    good = np.isfinite(data)
    med = np.median(data[good])
    sig = mad_std(data[good]) if rms is None else rms
    z = np.where(good, (data - med) / sig, 0.0)
    lab, n = ndimage.label(z > island_threshold, structure=np.ones((3, 3)))
    if n == 0:
        return lab, 0, np.zeros(0), np.zeros(0)
    index = np.arange(1, n + 1)
    peaks = ndimage.maximum(z, lab, index) * sig
    sums = ndimage.sum(np.where(good, data - med, 0), lab, index)
    keep = peaks > threshold * sig
    relabel = np.zeros(n + 1, int)
    relabel[index[keep]] = np.arange(1, keep.sum() + 1)
    return relabel[lab], int(keep.sum()), sums[keep], peaks[keep]


def island_density(image, *, pixel_scale=1.5 * u.arcsec, threshold=5.0, island_threshold=3.0):
    """
    Number of islands (see `islands`) per square degree of finite pixels.

    Returns
    -------
    density : `~astropy.units.Quantity`
        In deg^-2.
    """
    pix = to_value("pixel_scale", pixel_scale, u.arcsec)
    _, n, _, _ = islands(image, threshold=threshold, island_threshold=island_threshold)
    area = np.isfinite(np.asarray(image, float)).sum() * (pix / 3600) ** 2
    return n / area * u.deg**-2


def noise_anisotropy(image, *, clip=4.0, band=(0.05, 0.25), n_directions=12):
    """
    How striped the noise is: its power in the strongest direction over the weakest.

    Pixels within ``clip`` robust sigma of the median are kept (brighter
    ones, and blanks, are set to the median), the power spectrum is averaged
    over the spatial frequencies between ``band`` (in units of the sampling
    frequency) in ``n_directions`` bins of direction, and the largest bin is
    divided by the smallest.  Isotropic noise gives about 1; real LoTSS-DR1
    residual noise, striped by direction-dependent calibration errors, gives
    several.

    Parameters
    ----------
    image : array_like
        The image.
    clip : float, optional
        Pixels beyond this many robust sigma are left out (sources).
    band : tuple of float, optional
        Range of spatial frequencies, in cycles per pixel.
    n_directions : int, optional
        Number of direction bins over 180 degrees.

    Returns
    -------
    ratio : float

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> round(noise_anisotropy(rng.normal(size=(256, 256))), 1) < 1.3
    True
    >>> striped = rng.normal(size=(256, 256)) + 3 * rng.normal(size=(256, 1))
    >>> noise_anisotropy(striped) > 3
    True
    """
    data = _finite(image)
    finite = np.isfinite(data)
    median = float(np.median(data[finite]))
    sigma = float(mad_std(data[finite]))
    keep = finite & (np.abs(data - median) < clip * sigma)
    values = np.where(keep, data - median, 0.0)
    power = np.abs(fft.rfft2(values)) ** 2
    fy = fft.fftfreq(values.shape[0])[:, None]
    fx = fft.rfftfreq(values.shape[1])[None, :]
    radius = np.hypot(fy, fx)
    angle = np.mod(np.arctan2(fy, fx), np.pi) + 0 * fx
    inside = (radius >= band[0]) & (radius <= band[1])
    bins = np.minimum((angle[inside] / np.pi * n_directions).astype(int), n_directions - 1)
    mean = (np.bincount(bins, weights=power[inside], minlength=n_directions)
            / np.maximum(np.bincount(bins, minlength=n_directions), 1))
    return float(mean.max() / mean.min())


def measure_realism(image, *, pixel_scale=1.5 * u.arcsec, beam=6 * u.arcsec):
    """
    All realism numbers of one image, as a dict.

    Keys: ``mad_std`` (Jy/beam), ``skewness``, ``kurtosis``, ``frac_above_5``,
    ``frac_below_5``, ``acf_fwhm`` (arcsec), ``anisotropy`` (`noise_anisotropy`),
    ``islands_per_deg2``, and the
    10th/50th/90th percentiles of island integrated fluxes (mJy), ``flux_p10``,
    ``flux_p50``, ``flux_p90``, and ``frac_extended``: fraction of islands whose
    integrated flux exceeds twice their peak (resolved or blended sources).

    Examples
    --------
    >>> import numpy as np
    >>> m = measure_realism(np.random.default_rng(0).normal(0, 1e-4, (128, 128)))
    >>> sorted(m)[:3]
    ['acf_fwhm', 'anisotropy', 'flux_p10']
    """
    pix = to_value("pixel_scale", pixel_scale, u.arcsec)
    bm = to_value("beam", beam, u.arcsec)
    out = noise_statistics(image)
    out["acf_fwhm"] = float(autocorrelation_fwhm(image, pixel_scale=pix).value)
    out["anisotropy"] = noise_anisotropy(image)
    lab, n, sums, peaks = islands(image)
    area = np.isfinite(np.asarray(image, float)).sum() * (pix / 3600) ** 2
    out["islands_per_deg2"] = n / area
    beam_area = np.pi * (bm / pix) ** 2 / (4 * np.log(2))
    flux = sums / beam_area * 1e3
    if n:
        out["flux_p10"], out["flux_p50"], out["flux_p90"] = (
            float(v) for v in np.percentile(flux, [10, 50, 90]))
        out["frac_extended"] = float(np.mean(sums / beam_area > 2 * peaks))
    else:
        out["flux_p10"] = out["flux_p50"] = out["flux_p90"] = out["frac_extended"] = np.nan
    return out
