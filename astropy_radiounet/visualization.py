"""
Pictures a person can look at: the image with the probability contours and
segment outlines on top, on `~astropy.visualization.wcsaxes.WCSAxes` when the
image has a WCS; and the radio power against mass plot of a survey run.
"""

import numpy as np
from astropy.visualization import AsinhStretch, ImageNormalize, ManualInterval

__all__ = ["plot_overlay", "image_normalization", "plot_power_mass"]


def image_normalization(image, *, noise=None, n_sigma_low=-3.0, n_sigma_high=50.0):
    """
    A display normalisation for a radio image: asinh stretch from a few
    times the noise below zero to many times the noise above it, so that
    both the noise and faint diffuse emission are visible.

    Parameters
    ----------
    image : `~numpy.ndarray`
        The image.
    noise : float, optional
        Its noise; by default the median absolute deviation of the finite
        pixels, scaled to a standard deviation.
    n_sigma_low, n_sigma_high : float, optional
        Display limits in units of the noise.

    Returns
    -------
    norm : `~astropy.visualization.ImageNormalize`
    """
    from .image.noise import robust_sigma

    if noise is None:
        finite = np.asarray(image)[np.isfinite(image)]
        sample = finite[:: max(1, finite.size // 1_000_000)]
        noise = float(robust_sigma(sample)) if sample.size else 1.0
        if not noise > 0:
            noise = 1.0
    return ImageNormalize(interval=ManualInterval(n_sigma_low * noise, n_sigma_high * noise),
                          stretch=AsinhStretch(0.05))


def plot_overlay(image, probability, *, wcs=None, segment_image=None, threshold=0.5,
                 levels=None, ax=None, title=None, filename=None, max_pixels=2048):
    """
    Plot an image with probability contours and segment outlines.

    Parameters
    ----------
    image : `~numpy.ndarray`
        The radio image (2-D).
    probability : `~numpy.ndarray`
        Probability map of the same shape.
    wcs : `~astropy.wcs.WCS`, optional
        Celestial WCS; axes are labelled in RA/Dec when given.
    segment_image : `~photutils.segmentation.SegmentationImage`, optional
        Segments to outline.
    threshold : float, optional
        Probability contour drawn thick (the segmentation threshold).
    levels : sequence of float, optional
        Further probability contours drawn thin; (0.1, 0.75) by default (the
        calibrated probabilities of the shipped model rarely exceed 0.8).
    ax : `~matplotlib.axes.Axes`, optional
        Axes to draw on; a new figure is made when not given.
    title : str, optional
        Axes title.
    filename : str or path, optional
        Save the figure here (PNG, PDF, ... by extension).
    max_pixels : int, optional
        Images with more pixels than this along an axis are shown decimated
        by a whole factor, so that survey mosaics plot quickly; the axes stay
        in the pixels of ``image`` (and its ``wcs``), so that regions and
        contours in those pixels can be drawn on them.

    Returns
    -------
    ax : `~matplotlib.axes.Axes`
        In the pixel coordinates of ``image`` (a WCSAxes with ``wcs``).
    """
    import matplotlib.pyplot as plt

    if np.shape(image) != np.shape(probability):
        msg = (f"image {np.shape(image)} and probability {np.shape(probability)} must have "
               f"the same shape.")
        raise ValueError(msg)
    # Decimate before converting, so that a memory-mapped mosaic is not copied whole.
    # The axes stay in the pixels of the image given (the decimated pixel k is
    # drawn at k * step), so that callers can draw on them in those pixels.
    full_shape = np.shape(image)
    step = max(1, -(-max(full_shape) // int(max_pixels)))
    image = np.asarray(np.asanyarray(image)[::step, ::step], dtype=float)
    probability = np.asarray(np.asanyarray(probability)[::step, ::step], dtype=float)
    ys, xs = (np.arange(n) * step for n in image.shape)
    if ax is None:
        figure = plt.figure(figsize=(8, 7.5))
        ax = figure.add_subplot(projection=wcs) if wcs is not None else figure.add_subplot()
    half = step / 2
    ax.imshow(image, origin="lower", cmap="gray_r", norm=image_normalization(image),
              interpolation="nearest",
              extent=(-half, xs[-1] + half, -half, ys[-1] + half))
    finite_probability = np.where(np.isfinite(probability), probability, 0.0)
    levels = (0.1, 0.75) if levels is None else levels
    thin = sorted(level for level in levels if level != threshold)
    if thin:
        ax.contour(xs, ys, finite_probability, levels=thin, colors="tab:orange",
                   linewidths=0.6, alpha=0.8)
    ax.contour(xs, ys, finite_probability, levels=[threshold], colors="tab:red",
               linewidths=1.5)
    if segment_image is not None:
        outline = segment_image.data[::step, ::step] > 0
        ax.contour(xs, ys, outline.astype(float), levels=[0.5], colors="tab:cyan",
                   linewidths=1.0, linestyles="dashed")
    ax.set_xlim(-0.5, full_shape[1] - 0.5)
    ax.set_ylim(-0.5, full_shape[0] - 0.5)
    if wcs is not None:
        ax.coords[0].set_axislabel("Right ascension")
        ax.coords[1].set_axislabel("Declination")
    else:
        ax.set_xlabel("x (pixel)")
        ax.set_ylabel("y (pixel)")
    ax.set_title(title or f"probability {threshold:g} (red), segments (cyan dashed)")
    if filename is not None:
        ax.figure.savefig(filename, dpi=120, bbox_inches="tight")
    return ax


def plot_power_mass(m500, power, *, power_err=None, upper_limit=None, labels=None, ax=None,
                    title=None, filename=None):
    """
    Radio power at 150 MHz against cluster mass: detections with error bars,
    upper limits as downward arrows.

    Parameters
    ----------
    m500 : `~astropy.units.Quantity`
        Cluster masses (solar masses), one per cluster.
    power : `~astropy.units.Quantity`
        Radio powers (W/Hz) of the detections; NaN for clusters without one.
    power_err : `~astropy.units.Quantity`, optional
        Their errors.
    upper_limit : `~astropy.units.Quantity`, optional
        Upper limits on the power (W/Hz); NaN where there is none.
    labels : sequence of str, optional
        Names written next to the detections.
    ax : `~matplotlib.axes.Axes`, optional
        Axes to draw on; a new figure is made when not given.
    title : str, optional
        Axes title.
    filename : str or path, optional
        Save the figure here.

    Returns
    -------
    ax : `~matplotlib.axes.Axes`

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy_radiounet.visualization import plot_power_mass
    >>> ax = plot_power_mass([6e14, 3e14] * u.Msun, [2e24, float('nan')] * u.W / u.Hz,
    ...                      power_err=[3e23, float('nan')] * u.W / u.Hz,
    ...                      upper_limit=[float('nan'), 4e23] * u.W / u.Hz)
    >>> len(ax.lines) > 0
    True
    """
    import astropy.units as u
    import matplotlib.pyplot as plt

    mass = u.Quantity(m500, u.Msun).value.ravel()
    values = {"power": u.Quantity(power, u.W / u.Hz).value.ravel()}
    for name, given in (("power_err", power_err), ("upper_limit", upper_limit)):
        values[name] = (np.full(mass.shape, np.nan) if given is None
                        else u.Quantity(given, u.W / u.Hz).value.ravel())
        if values[name].shape != mass.shape:
            msg = f"{name} must have one value per cluster ({mass.size}); got {values[name].size}."
            raise ValueError(msg)
    if values["power"].shape != mass.shape:
        msg = f"power must have one value per cluster ({mass.size}); got {values['power'].size}."
        raise ValueError(msg)
    if ax is None:
        ax = plt.figure(figsize=(6.5, 5)).add_subplot()
    found = np.isfinite(mass) & np.isfinite(values["power"]) & (values["power"] > 0)
    limited = np.isfinite(mass) & np.isfinite(values["upper_limit"]) & ~found
    if found.any():
        ax.errorbar(mass[found], values["power"][found],
                    yerr=np.nan_to_num(values["power_err"][found]), fmt="o", color="tab:red",
                    ms=5, capsize=2, label=f"detections ({found.sum()})")
    if limited.any():
        ax.errorbar(mass[limited], values["upper_limit"][limited],
                    yerr=0.3 * values["upper_limit"][limited], uplims=True, fmt="v",
                    color="tab:gray", ms=4, label=f"upper limits ({limited.sum()})")
    if labels is not None:
        for name, x, y in zip(np.asarray(labels)[found], mass[found], values["power"][found]):
            ax.annotate(str(name), (x, y), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$M_{500}$ ($M_\odot$)")
    ax.set_ylabel(r"$P_{150\,\rm MHz}$ (W/Hz)")
    if found.any() or limited.any():
        ax.legend(loc="best", fontsize=8)  # where it hides the fewest points
    ax.set_title(title or "Radio power against cluster mass")
    if filename is not None:
        ax.figure.savefig(filename, dpi=120, bbox_inches="tight")
    return ax
