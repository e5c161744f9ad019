"""
How good is a model?  Measured on simulated data it never saw.

* Pixel level (`evaluate_pixels`): IoU, Dice, precision and recall of the
  thresholded probability against the truth mask, on fresh tiles made with
  the recipe recorded in the model card.
* Cluster level (`evaluate_clusters`): the detection ratio R inside 2.2 R500
  around simulated clusters with (DE) and without (NDE) diffuse emission;
  NDE fields still hold the confusers (radio galaxies, compact-source
  over-densities).  The ROC AUC, and the accuracy, precision and recall at
  the threshold that maximises accuracy, summarise how well R separates the
  two classes.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable

__all__ = ["pixel_metrics", "reliability", "recall_by_type_and_snr", "roc_auc",
           "best_threshold", "classification_metrics", "evaluate_pixels", "evaluate_clusters"]


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
    The threshold on ``scores`` that maximises the accuracy.

    Candidates are midpoints between consecutive sorted scores; ties are
    broken towards the lower threshold (higher recall).
    """
    values = np.unique(np.asarray(scores, dtype=float))
    candidates = np.concatenate([[values[0] - 1e-9], (values[1:] + values[:-1]) / 2])
    accuracies = [classification_metrics(scores, labels, t)["accuracy"] for t in candidates]
    return float(candidates[int(np.argmax(accuracies))])


def evaluate_pixels(weights, *, n_tiles=200, seed=12345, n_processes=1, threshold=None,
                    progress_bar=False):
    """
    Pixel metrics of a trained model on freshly simulated tiles it never saw.

    The tiles are made with the recipe stored in the model card, with a seed
    distinct from those of training and validation.

    Parameters
    ----------
    weights : path or `~astropy_radiounet.modelcard.ModelCard`
        The model (``'default'`` for the shipped one).
    n_tiles : int, optional
        Number of test tiles.
    seed : int, optional
        Seed of the test tiles.
    n_processes : int, optional
        Processes simulating the tiles.
    threshold : float, optional
        Probability threshold; the card's by default.
    progress_bar : bool, optional
        Show the simulation's progress.

    Returns
    -------
    metrics : dict
        `pixel_metrics` plus ``calibration_error`` (see `reliability`),
        recall by source type and signal-to-noise (see
        `recall_by_type_and_snr`) and ``n_tiles``.
    """
    from .modelcard import load_model
    from .training import TrainingConfig, make_training_pairs

    model, card = load_model(weights=weights)
    recipe = card.training.get("config")
    if recipe is None:
        msg = (f"The model card {card.name!r} records no training recipe, so its test data "
               f"cannot be simulated; evaluate it on your own labelled images instead.")
        raise ValueError(msg)
    config = TrainingConfig(**recipe)
    x, y, labels, snr = make_training_pairs(config, n_tiles, seed=seed, n_processes=n_processes,
                                            progress_bar=progress_bar, details=True)
    probability = model.predict(x, batch_size=config.batch_size, verbose=0)
    threshold = card.threshold if threshold is None else threshold
    metrics = pixel_metrics(y, probability, threshold=threshold)
    metrics["calibration_error"] = reliability(y, probability)[1]
    metrics.update(recall_by_type_and_snr(probability[..., 0] > threshold, labels, snr,
                                          mask_snr=config.mask_snr))
    metrics["n_tiles"] = n_tiles
    return metrics


def recall_by_type_and_snr(predicted, labels, snr, *, mask_snr,
                           snr_edges=(1.0, 2.0, 4.0)):
    """
    Recall of the true pixels split by source type and by signal-to-noise.

    Parameters
    ----------
    predicted : array_like of bool
        Predicted positive pixels.
    labels : array_like of int
        Source type of each true pixel (`~astropy_radiounet.simulation.LABELS`).
    snr : array_like
        Diffuse emission over the local noise at each pixel.
    mask_snr : float
        The truth threshold (the lowest signal-to-noise bin starts there).
    snr_edges : tuple of float, optional
        Further signal-to-noise bin edges.

    Returns
    -------
    recall : dict
        ``recall_<type>`` for each type present and ``recall_snr_<low>-<high>``
        for each bin (``n`` of true pixels in ``n_<key>``).
    """
    from .simulation import LABELS

    predicted = np.asarray(predicted, dtype=bool)
    labels = np.asarray(labels)
    snr = np.asarray(snr)
    truth = snr > mask_snr
    result = {}
    for name, code in LABELS.items():
        selected = truth & (labels == code)
        if selected.any():
            result[f"recall_{name}"] = float(predicted[selected].mean())
            result[f"n_{name}"] = int(selected.sum())
    edges = [mask_snr, *snr_edges, np.inf]
    for low, high in zip(edges[:-1], edges[1:]):
        selected = truth & (snr > low) & (snr <= high)
        key = f"snr_{low:g}-{high:g}"
        if selected.any():
            result[f"recall_{key}"] = float(predicted[selected].mean())
            result[f"n_{key}"] = int(selected.sum())
    return result


def evaluate_clusters(weights, *, n_fields=60, seed=777, shape=(1024, 1024), factor=2.2,
                      field_kwargs=None, tile_shape=(768, 768), progress_bar=False):
    """
    Detection ratios around simulated clusters with and without diffuse emission.

    Each field is a LoTSS-like image (1.5" pixels, 6" beam) with a cluster at
    its centre and the package's full confuser population; the model runs on
    the whole image through `~astropy_radiounet.RadioUNetSegmenter`, exactly as
    on a survey image.

    Parameters
    ----------
    weights : path or `~astropy_radiounet.modelcard.ModelCard`
        The model.
    n_fields : int, optional
        Number of cluster fields.
    seed : int, optional
        Seed of the fields.
    shape : tuple of int, optional
        Field shape in 1.5" pixels.
    factor : float, optional
        Aperture radius in units of R500.
    field_kwargs : dict, optional
        Further keywords of `~astropy_radiounet.simulation.simulate_field`.
    tile_shape : tuple of int, optional
        Tiles of the segmenter.
    progress_bar : bool, optional
        Show progress over the fields.

    Returns
    -------
    table : `~astropy.table.QTable`
        One row per cluster: ``z``, ``M500``, ``classification``, ``diffuse``,
        ``ratio`` and ``coverage``.
    summary : dict
        ``auc``, the accuracy-maximising ``threshold`` and the
        `classification_metrics` there, and the numbers of DE and NDE
        clusters.
    """
    from astropy.io import fits
    from tqdm.auto import tqdm

    from .segmentation import RadioUNetSegmenter
    from .simulation import simulate_field
    from .statistics import DetectionRatio

    segmenter = RadioUNetSegmenter(weights=weights, tile_shape=tile_shape)
    rows = []
    seeds = np.random.SeedSequence(seed).spawn(n_fields)
    for child in tqdm(seeds, desc="cluster fields", disable=not progress_bar):
        field = simulate_field(shape, seed=child, cluster_at_center=True,
                               **(field_kwargs or {}))
        hdu = fits.PrimaryHDU(field.image, header=field.header)
        probability = segmenter.predict_probability(hdu)
        cluster = field.clusters[0]
        stats = DetectionRatio.from_r500(probability, (cluster["x"], cluster["y"]),
                                         cluster["R500"], cluster["z"], wcs=field.wcs,
                                         factor=factor)
        rows.append({"z": float(cluster["z"]),
                     "M500": u.Quantity(cluster["M500"], u.Msun).value,
                     "classification": str(cluster["classification"]),
                     "diffuse": str(cluster["diffuse"]), "ratio": float(stats.ratio[0]),
                     "coverage": float(stats.coverage[0])})
    table = QTable(rows=rows)
    table["M500"].unit = u.Msun
    labels = np.asarray(table["classification"]) == "DE"
    scores = np.asarray(table["ratio"])
    threshold = best_threshold(scores, labels)
    summary = {"auc": roc_auc(scores, labels),
               **classification_metrics(scores, labels, threshold),
               "n_de": int(labels.sum()), "n_nde": int((~labels).sum())}
    return table, summary
