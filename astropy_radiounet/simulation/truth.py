"""
Truth products of a simulated field: the diffuse-emission mask (the
published recipe: pixels where the beam-convolved diffuse sky model exceeds a
small fraction of the image noise) and the per-class label image.
"""

import numpy as np

from .diffuse import LABELS

__all__ = ["truth_mask", "label_image"]


def truth_mask(diffuse_sky, noise_level, *, level=1e-3):
    """
    Pixels where the diffuse sky model exceeds ``level`` times the noise.

    Parameters
    ----------
    diffuse_sky : array_like
        Diffuse components only, convolved to the restoring beam (Jy/beam).
    noise_level : float or array_like
        Image noise (Jy/beam), a number or a local rms map.
    level : float
        Threshold in units of the noise (Radio U-Net: ``1e-3``).

    Returns
    -------
    mask : `~numpy.ndarray` of bool
        True where the diffuse emission is (the segmentation target).

    Examples
    --------
    >>> import numpy as np
    >>> truth_mask(np.array([0.0, 1e-8, 1e-6]), 7e-5).tolist()
    [False, False, True]
    """
    if not level > 0:
        msg = f"level={level!r} must be positive, e.g. level=1e-3 (the Radio U-Net recipe)"
        raise ValueError(msg)
    return np.asarray(diffuse_sky) > level * np.asarray(noise_level)


def label_image(class_skies, noise_level, *, level=1e-3):
    """
    Integer label image: at each pixel the class whose beam-convolved sky is
    brightest, where it exceeds ``level`` times the noise; 0 elsewhere.

    Parameters
    ----------
    class_skies : dict
        Diffuse class name (a key of `LABELS`) -> beam-convolved image (Jy/beam).
    noise_level : float or array_like
        Image noise (Jy/beam).
    level : float
        Threshold in units of the noise.

    Returns
    -------
    labels : `~numpy.ndarray` of int16
        ``LABELS`` values (halo=1, relic=2, mini_halo=3, bridge=4, filament=5).

    Examples
    --------
    >>> import numpy as np
    >>> label_image({'relic': np.array([0.0, 1e-6])}, 7e-5).tolist()
    [0, 2]
    """
    names = [k for k in class_skies if k in LABELS]
    if not names:
        return None
    stack = np.stack([np.asarray(class_skies[k]) for k in names])
    codes = np.array([LABELS[k] for k in names], dtype=np.int16)
    best = np.argmax(stack, axis=0)
    top = np.take_along_axis(stack, best[None], axis=0)[0]
    return np.where(top > level * np.asarray(noise_level), codes[best], 0).astype(np.int16)
