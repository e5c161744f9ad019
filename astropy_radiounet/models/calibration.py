"""
Calibrated probabilities: a monotone map from a network's raw output to the
observed frequency of diffuse emission, fitted on held-out simulated data.

A network trained with an overlap (Dice/Tversky) term is rarely calibrated:
pixels it scores 0.8 may be diffuse only 60 per cent of the time.
`ProbabilityCalibration` is fitted by centred isotonic regression of the
truth on the raw output, in quantile bins: pool adjacent violators, then
one knot at the centre of each pooled run, joined linearly.  Unlike plain
isotonic regression, whose flat runs give many raw values one calibrated
value, the map is strictly increasing, so it keeps the network's ranking
of pixels -- and hence of detection ratios, which average many faint
pixels.  It is stored in the model card and applied by
`~astropy_radiounet.RadioUNetSegmenter` to every prediction, so that a
probability of 0.5 means what it says.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["ProbabilityCalibration"]


def _pool_adjacent_violators(values, weights):
    """
    Weighted least-squares non-decreasing fit to ``values``.

    Returns the value of each pooled run and the number of ``values`` in it.
    """
    means, totals, sizes = [], [], []
    for value, weight in zip(values, weights):
        means.append(float(value))
        totals.append(float(weight))
        sizes.append(1)
        # Ties are pooled too, so that no two runs share a value.
        while len(means) > 1 and means[-2] >= means[-1]:
            weight = totals[-2] + totals[-1]
            means[-2] = (means[-2] * totals[-2] + means[-1] * totals[-1]) / weight
            totals[-2] = weight
            sizes[-2] += sizes[-1]
            del means[-1], totals[-1], sizes[-1]
    return np.array(means), np.array(sizes)


def _centred_knots(raw, values, sizes, weights):
    """
    One knot per pooled run, at its weighted mean raw probability: strictly
    increasing, as runs have distinct values.  Beyond the first and last
    knots the map stays at their values: no data say more.
    """
    run = np.repeat(np.arange(len(values)), sizes)
    centre = np.bincount(run, weights=raw * weights) / np.bincount(run, weights=weights)
    return centre, np.asarray(values)


@dataclass
class ProbabilityCalibration:
    """
    Piecewise-linear, non-decreasing map from raw to calibrated probability.

    `fit` makes it strictly increasing between its first and last knots, so
    that it changes the scale of probabilities but not their order.

    Parameters
    ----------
    raw : list of float
        Increasing raw-probability knots.
    calibrated : list of float
        Calibrated probability at each knot (non-decreasing, in [0, 1]).

    Examples
    --------
    A model that is over-confident: of the pixels it scores 0.9, only 60 per
    cent are true.

    >>> import numpy as np
    >>> from astropy_radiounet.models.calibration import ProbabilityCalibration
    >>> rng = np.random.default_rng(0)
    >>> raw = rng.uniform(0, 1, 200_000)
    >>> truth = rng.uniform(0, 1, raw.size) < 0.2 + 0.4 * raw
    >>> calibration = ProbabilityCalibration.fit(truth, raw)
    >>> expected = 0.2 + 0.4 * np.array([0.05, 0.5, 0.95])
    >>> bool(np.abs(calibration([0.05, 0.5, 0.95]) - expected).max() < 0.02)
    True
    """

    raw: list
    calibrated: list

    def __post_init__(self):
        raw = np.asarray(self.raw, dtype=float)
        calibrated = np.asarray(self.calibrated, dtype=float)
        if (raw.ndim != 1 or raw.shape != calibrated.shape or raw.size < 2
                or np.any(np.diff(raw) <= 0) or np.any(np.diff(calibrated) < 0)
                or calibrated.min() < 0 or calibrated.max() > 1):
            msg = ("A probability calibration needs at least two increasing raw knots and "
                   "as many non-decreasing calibrated values in [0, 1]; the model card's "
                   "'calibration' entry is damaged - refit it with ProbabilityCalibration.fit.")
            raise ValueError(msg)
        self.raw = raw.tolist()
        self.calibrated = calibrated.tolist()

    @classmethod
    def fit(cls, truth, probability, *, n_bins=100):
        """
        Fit the calibration by centred isotonic regression in quantile bins.

        The truth fraction in each bin is made non-decreasing by pooling
        adjacent violators; each pooled run becomes one knot at its mean raw
        probability, and the knots are joined linearly; below the first and
        above the last knot the map keeps their values.

        Parameters
        ----------
        truth : array_like
            Truth mask (values above 0.5 are positive).
        probability : array_like
            Raw predicted probability, same shape.
        n_bins : int, optional
            Number of quantile bins of the raw probability (fewer when many
            values are equal).

        Returns
        -------
        calibration : `ProbabilityCalibration`
        """
        probability = np.asarray(probability, dtype=float).ravel()
        truth = np.asarray(truth, dtype=float).ravel() > 0.5
        good = np.isfinite(probability)
        probability, truth = probability[good], truth[good]
        if probability.size < 10 * n_bins:
            msg = (f"Fitting a calibration in {n_bins} bins needs at least {10 * n_bins} "
                   f"pixels; got {probability.size}.")
            raise ValueError(msg)
        edges = np.unique(np.quantile(probability, np.linspace(0, 1, n_bins + 1)))
        index = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0,
                        max(edges.size - 2, 0))
        counts = np.bincount(index, minlength=edges.size - 1)
        filled = counts > 0
        raw = (np.bincount(index, weights=probability, minlength=counts.size)[filled]
               / counts[filled])
        observed = (np.bincount(index, weights=truth, minlength=counts.size)[filled]
                    / counts[filled])
        values, sizes = _pool_adjacent_violators(observed, counts[filled])
        raw, calibrated = _centred_knots(raw, values, sizes, counts[filled])
        # Knots equal at the precision of the card are merged, so it reads back.
        raw, unique = np.unique([float(f"{v:.9g}") for v in raw], return_index=True)
        calibrated = calibrated[unique]
        if raw.size < 2:
            raw, calibrated = np.array([0.0, 1.0]), np.repeat(calibrated[:1], 2)
        return cls(raw.tolist(), np.clip(calibrated, 0.0, 1.0).tolist())

    def __call__(self, probability):
        """Calibrated probability (NaN stays NaN), float32."""
        probability = np.asarray(probability, dtype=np.float32)
        return np.asarray(np.interp(probability, self.raw, self.calibrated), dtype=np.float32)

    def to_dict(self):
        """JSON-serialisable form for the model card (nine significant digits)."""
        return {"method": "centred-isotonic", "raw": [float(f"{v:.9g}") for v in self.raw],
                "calibrated": [float(f"{v:.9g}") for v in self.calibrated]}

    @classmethod
    def from_dict(cls, values):
        """Read the model card's form (see `to_dict`)."""
        # 'isotonic' cards (plain isotonic fits) are read the same way: both
        # are stored as knots joined linearly.
        if not isinstance(values, dict):
            msg = (f"The model card's calibration must be an object with 'method', 'raw' "
                   f"and 'calibrated' entries, or null for none; got {values!r}.")
            raise ValueError(msg)
        if values.get("method") not in ("centred-isotonic", "isotonic"):
            msg = (f"Unknown probability calibration method {values.get('method')!r} in the "
                   f"model card; this version understands 'centred-isotonic' and "
                   f"'isotonic'.")
            raise ValueError(msg)
        missing = [key for key in ("raw", "calibrated") if key not in values]
        if missing:
            msg = (f"The model card's calibration has no {' or '.join(map(repr, missing))} "
                   f"knots; the entry is damaged - refit it with ProbabilityCalibration.fit, "
                   f"or write null for an uncalibrated model.")
            raise ValueError(msg)
        try:
            return cls(values["raw"], values["calibrated"])
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ValueError) and "damaged" in str(exc):
                raise
            msg = (f"The model card's calibration knots are not lists of numbers ({exc}); "
                   f"the entry is damaged - refit it with ProbabilityCalibration.fit.")
            raise ValueError(msg) from exc
