"""
Pictures a person can look at: the image with the probability contours and
segment outlines on top, on `~astropy.visualization.wcsaxes.WCSAxes` when the
image has a WCS.
"""

import numpy as np
from astropy.visualization import AsinhStretch, ImageNormalize, ManualInterval

__all__ = ["plot_overlay", "image_normalization"]


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
        by a whole factor (the WCS follows), so that survey mosaics plot
        quickly.

    Returns
    -------
    ax : `~matplotlib.axes.Axes`
    """
    import matplotlib.pyplot as plt

    if np.shape(image) != np.shape(probability):
        msg = (f"image {np.shape(image)} and probability {np.shape(probability)} must have "
               f"the same shape.")
        raise ValueError(msg)
    # Decimate before converting, so that a memory-mapped mosaic is not copied whole.
    step = max(1, -(-max(np.shape(image)) // int(max_pixels)))
    image = np.asarray(np.asanyarray(image)[::step, ::step], dtype=float)
    probability = np.asarray(np.asanyarray(probability)[::step, ::step], dtype=float)
    if step > 1 and wcs is not None:
        wcs = wcs[::step, ::step]
    if ax is None:
        figure = plt.figure(figsize=(8, 7.5))
        ax = figure.add_subplot(projection=wcs) if wcs is not None else figure.add_subplot()
    ax.imshow(image, origin="lower", cmap="gray_r", norm=image_normalization(image),
              interpolation="nearest")
    finite_probability = np.where(np.isfinite(probability), probability, 0.0)
    levels = (0.1, 0.75) if levels is None else levels
    thin = sorted(level for level in levels if level != threshold)
    if thin:
        ax.contour(finite_probability, levels=thin, colors="tab:orange", linewidths=0.6,
                   alpha=0.8)
    ax.contour(finite_probability, levels=[threshold], colors="tab:red", linewidths=1.5)
    if segment_image is not None:
        outline = segment_image.data[::step, ::step] > 0
        ax.contour(outline.astype(float), levels=[0.5], colors="tab:cyan", linewidths=1.0,
                   linestyles="dashed")
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
