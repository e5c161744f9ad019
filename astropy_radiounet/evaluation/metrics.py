"""
Pixel and cluster metrics: IoU, Dice, precision, recall, reliability, ROC AUC and
thresholds.  A leaf module: it imports nothing else of the package, so training and
evaluation both use it.
"""

import numpy as np
from astropy.table import QTable

__all__ = ["pixel_metrics", "reliability", "roc_auc", "classification_metrics", "best_threshold"]


def pixel_metrics(truth, probability, *, threshold=0.5):
    """
    Pixel-level IoU, Dice, precision and recall of a thresholded probability.

    Parameters
    ----------
    truth : array_like
        Truth mask (values above 0.5 are positive).
    probability : array_like
        Predicted probability, same shape.
    threshold : float, optional
        Probability above which a pixel is predicted positive.

    Returns
    -------
    metrics : dict
        ``iou``, ``dice``, ``precision``, ``recall`` (NaN when undefined),
        ``positive_fraction`` and ``predicted_fraction``.
    """
    predicted = np.asarray(probability) > threshold
    truth = np.asarray(truth) > 0.5
    tp = float(np.sum(predicted & truth))
    fp = float(np.sum(predicted & ~truth))
    fn = float(np.sum(~predicted & truth))

    def ratio(a, b):
        return a / b if b else float("nan")

    return {"iou": ratio(tp, tp + fp + fn), "dice": ratio(2 * tp, 2 * tp + fp + fn),
            "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
            "positive_fraction": float(truth.mean()),
            "predicted_fraction": float(predicted.mean())}


def reliability(truth, probability, *, n_bins=10):
    """
    How well the probabilities are calibrated: the observed fraction of true
    pixels in bins of predicted probability (the data of a reliability
    diagram), and the expected calibration error.

    Parameters
    ----------
    truth : array_like
        Truth mask (values above 0.5 are positive).
    probability : array_like
        Predicted probability, same shape.
    n_bins : int, optional
        Number of equal-width probability bins.

    Returns
    -------
    table : `~astropy.table.QTable`
        Per bin: ``low``, ``high``, ``n_pixels``, ``mean_probability`` and
        ``observed_fraction`` (NaN for empty bins).
    ece : float
        Expected calibration error: the pixel-weighted mean of
        ``|observed_fraction - mean_probability|``.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy_radiounet.evaluation import reliability
    >>> probability = np.array([0.05, 0.05, 0.95, 0.95])
    >>> table, ece = reliability([0, 0, 1, 1], probability, n_bins=2)
    >>> table["observed_fraction"].tolist(), round(ece, 3)
    ([0.0, 1.0], 0.05)
    """
    truth = np.asarray(truth).ravel() > 0.5
    probability = np.asarray(probability, dtype=float).ravel()
    good = np.isfinite(probability)
    truth, probability = truth[good], probability[good]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(probability, edges[1:-1]), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    sums = np.bincount(index, weights=probability, minlength=n_bins)
    positives = np.bincount(index, weights=truth.astype(float), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_probability = sums / counts
        observed = positives / counts
    table = QTable({"low": edges[:-1], "high": edges[1:], "n_pixels": counts,
                    "mean_probability": mean_probability, "observed_fraction": observed})
    filled = counts > 0
    ece = float(np.sum(counts[filled] * np.abs(observed[filled] - mean_probability[filled]))
                / max(counts.sum(), 1))
    return table, ece


def roc_auc(scores, labels):
    """
    Area under the ROC curve: the probability that a random positive scores
    higher than a random negative (ties count half).

    Examples
    --------
    >>> from astropy_radiounet.evaluation import roc_auc
    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    positive, negative = scores[labels], scores[~labels]
    if not (positive.size and negative.size):
        return float("nan")
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (positive.size * negative.size))


def classification_metrics(scores, labels, threshold):
    """Accuracy, precision and recall of ``scores > threshold``."""
    predicted = np.asarray(scores, dtype=float) > threshold
    labels = np.asarray(labels, dtype=bool)
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    tn = int(np.sum(~predicted & ~labels))
    return {"threshold": float(threshold), "accuracy": (tp + tn) / labels.size,
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def best_threshold(scores, labels):
    """
    The threshold on ``scores`` that maximises the balanced accuracy.

    The balanced accuracy, the mean of the recall of each class (equivalently
    Youden's J = TPR - FPR), does not depend on how many clusters of each
    class the sample has, so a threshold chosen on simulated fields (four
    NDE clusters for each DE one) carries over to samples in other
    proportions; the plain accuracy would, on such a sample, favour calling
    everything NDE.  Candidates are midpoints between consecutive sorted
    scores; ties are broken towards the lower threshold (higher recall).

    Examples
    --------
    >>> from astropy_radiounet.evaluation import best_threshold
    >>> best_threshold([0.1, 0.2, 0.3, 0.5, 0.4], [0, 0, 1, 1, 1])
    0.25
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    values = np.unique(scores)
    candidates = np.concatenate([[values[0] - 1e-9], (values[1:] + values[:-1]) / 2])
    balanced = [0.5 * (np.mean(scores[labels] > t) + np.mean(scores[~labels] <= t))
                for t in candidates]
    return float(candidates[int(np.argmax(balanced))])
