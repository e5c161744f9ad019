"""
The normalisation applied to an image before a model sees it, declared in the
model card.
"""

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["LogNormalisation"]


@dataclass(frozen=True)
class LogNormalisation:
    """
    The symmetric logarithmic signal-to-noise stretch fed to the models.

    Parameters
    ----------
    snr_max : float, optional
        Signal-to-noise ratio that maps to 1; brighter pixels are clipped.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.models import LogNormalisation
    >>> norm = LogNormalisation(snr_max=999.0)
    >>> stretched = norm(np.array([-9.0, 0.0, 9.0, 99.0, 1e6]), np.ones(5, bool), np.float32(1.0))
    >>> stretched.dtype
    dtype('float32')
    >>> stretched.tolist()
    [-0.3333333, 0.0, 0.3333333, 0.6666667, 1.0]
    """

    snr_max: float = 1000.0

    def __post_init__(self):
        snr_max = self.snr_max
        if not (isinstance(snr_max, numbers.Real) and not isinstance(snr_max, bool)
                and math.isfinite(snr_max) and snr_max > 0):
            msg = f"snr_max must be a finite positive number; got {snr_max!r}."
            raise ValueError(msg)

    def __call__(self, values, valid, sigma):
        """
        Normalise pixel values.

        Parameters
        ----------
        values : `~numpy.ndarray`
            Brightness.
        valid : `~numpy.ndarray`
            `True` where the pixel is valid; others become 0.
        sigma : `~numpy.ndarray` or float
            Local noise, same unit as ``values``.

        Returns
        -------
        normalised : `~numpy.ndarray`
            float32 values in [-1, 1].
        """
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # An overflow (1e30 Jy/beam over a small sigma) is infinite, clipped to 1.
            snr = np.asarray(values, dtype=np.float32) / sigma
        scaled = np.sign(snr) * np.log10(1.0 + np.abs(snr)) / np.log10(1.0 + self.snr_max)
        scaled = np.clip(scaled, -1.0, 1.0).astype(np.float32)
        scaled[~(valid & np.isfinite(scaled))] = 0.0
        return scaled

    def to_dict(self):
        """The parameters as a JSON-serialisable dictionary (for model cards)."""
        return {"method": "symlog_snr", **asdict(self)}

    @classmethod
    def from_dict(cls, config):
        """Build from `to_dict` output, refusing unknown methods and keys."""
        if not isinstance(config, dict):
            msg = (f"The model card's normalisation must be an object such as "
                   f'{{"method": "symlog_snr", "snr_max": 1000.0}}; got {config!r}.')
            raise ValueError(msg)
        config = dict(config)
        method = config.pop("method", "symlog_snr")
        if method != "symlog_snr":
            msg = (f"Unknown normalisation method {method!r} in the model card; this "
                   f"version of astropy_radiounet knows 'symlog_snr'.  Upgrade the package.")
            raise ValueError(msg)
        unknown = sorted(set(config) - {"snr_max"})
        if unknown:
            msg = (f"Unknown normalisation keys {unknown} in the model card; 'symlog_snr' "
                   f"takes only 'snr_max'.  Correct the card, or upgrade the package if it "
                   f"was written by a newer version.")
            raise ValueError(msg)
        return cls(**config)
