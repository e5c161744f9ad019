"""
How good is a model?  Measured on simulated data it never saw.

* Pixel level (`evaluate_pixels`): IoU, Dice, precision and recall of the
  thresholded probability against the truth mask, on fresh tiles made with
  the recipe recorded in the model card.
* Cluster level (`evaluate_clusters`): the detection ratio R inside 2.2 R500
  around simulated clusters with (DE) and without (NDE) diffuse emission;
  NDE fields still hold the confusers (radio galaxies, compact-source
  over-densities).  The ROC AUC, and the accuracy, precision and recall at
  the threshold that maximises the balanced accuracy, summarise how well R separates the
  two classes.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable

from ..image.beams import beam_area_pixels
from ..simulation.diffuse import LABELS
from ..training.config import TrainingConfig, check_field_keywords
from ..training.pairs import make_training_pairs
from ..utils.validation import PositiveInteger, PositiveNumber, Probability
from .metrics import best_threshold, classification_metrics, pixel_metrics, reliability, roc_auc

__all__ = ["evaluate_pixels", "recall_by_type_and_snr", "evaluate_clusters",
           "format_cluster_summary"]


def evaluate_pixels(weights, *, n_tiles=200, seed=12345, parallel=False, threshold=None,
                    progress_bar=False):
    """
    Pixel metrics of a trained model on freshly simulated tiles it never saw.

    The tiles are made with the recipe stored in the model card, with a seed
    distinct from those of training and validation.

    Parameters
    ----------
    weights : path or `~astropy_radiounet.models.ModelCard`
        The model (``'default'`` for the shipped one).
    n_tiles : int, optional
        Number of test tiles.
    seed : int, optional
        Seed of the test tiles.
    parallel : bool, int or 'current-scheduler', optional
        Where the tiles are simulated (see
        `~astropy_radiounet.training.make_training_pairs`); serial by default.
    threshold : float, optional
        Probability threshold, in [0, 1); the card's by default.
    progress_bar : bool, optional
        Show the simulation's progress.

    Returns
    -------
    metrics : dict
        `pixel_metrics` plus ``calibration_error`` (see `reliability`),
        recall by source type and signal-to-noise (see
        `recall_by_type_and_snr`), the same metrics of the classical
        baseline (`~astropy_radiounet.segmentation.ClassicalSegmenter`) on the
        same tiles (keys prefixed ``baseline_``) and ``n_tiles``.
    """
    from ..models.card import load_model

    n_tiles = PositiveInteger().validate(n_tiles, "n_tiles")
    threshold = Probability(optional=True).validate(threshold, "threshold")
    model, card = load_model(weights=weights)
    recipe = card.training.get("config")
    if recipe is None:
        msg = (f"The model card {card.name!r} records no training recipe, so its test data "
               f"cannot be simulated; evaluate it on your own labelled images instead.")
        raise ValueError(msg)
    config = TrainingConfig(**recipe)
    x, y, labels, snr, classical = make_training_pairs(
        config, n_tiles, seed=seed, parallel=parallel, progress_bar=progress_bar,
        details=True)
    probability = card.calibrate(model.predict(x, batch_size=config.batch_size, verbose=0))
    threshold = card.threshold if threshold is None else threshold
    metrics = pixel_metrics(y, probability, threshold=threshold)
    metrics["calibration_error"] = reliability(y, probability)[1]
    metrics.update(recall_by_type_and_snr(probability[..., 0] > threshold, labels, snr,
                                          mask_snr=config.mask_snr))
    baseline = pixel_metrics(y[..., 0], classical)
    baseline.update(recall_by_type_and_snr(classical > 0.5, labels, snr,
                                           mask_snr=config.mask_snr))
    metrics.update({f"baseline_{key}": value for key, value in baseline.items()
                    if not key.startswith("n_") and key != "positive_fraction"})
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
    from ..simulation import LABELS

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


#: Labels of the diffuse emission that belongs to clusters (not filaments).
CLUSTER_DIFFUSE_LABELS = ("halo", "relic", "mini_halo", "bridge")


def evaluate_clusters(weights, *, n_fields=60, seed=777, shape=(1024, 1024), factor=2.2,
                      diffuse_probability=0.5, detection_snr=3.0, min_beams=1.0,
                      baseline=True, field_kwargs=None,
                      tile_shape=(768, 768), progress_bar=False):
    """
    Detection ratios around simulated clusters with and without diffuse emission.

    Each field is a LoTSS-like image (1.5" pixels, 6" beam) with a cluster at
    its centre and the package's full confuser population; the model runs on
    the whole image through `~astropy_radiounet.RadioUNetSegmenter`, exactly as
    on a survey image.  In the same fields, the detection ratio is also
    measured on the map of the classical baseline
    (`~astropy_radiounet.segmentation.ClassicalSegmenter`) and on the truth mask
    itself (the ceiling that a perfect segmentation would reach).

    The class of a cluster follows what an observer can know: it is ``'DE'``
    when cluster diffuse emission (halo, relic, mini-halo or bridge; with
    the default single cluster per field, its own) covers at least
    ``min_beams`` beams of the model above ``detection_snr`` times the local
    noise at the model's resolution inside the aperture,
    ``'NDE'`` when it has none, and ``'faint'`` when it has some but too
    faint to be seen.  Faint clusters are left out of the classification
    metrics, as the uncertain class of a visual classification is.

    Parameters
    ----------
    weights : path or `~astropy_radiounet.models.ModelCard`
        The model.
    n_fields : int, optional
        Number of cluster fields.
    seed : int, optional
        Seed of the fields.
    shape : tuple of int, optional
        Field shape in 1.5" pixels.
    factor : float, optional
        Aperture radius in units of R500.
    diffuse_probability : float, optional
        Probability that the central cluster hosts diffuse emission (0.5
        gives a sample balanced between injected and not).
    detection_snr : float, optional
        Signal-to-noise at the model's resolution above which diffuse
        emission counts as detectable.
    min_beams : float, optional
        Area, in model beams, of detectable emission that makes a cluster DE.
    baseline : bool, optional
        Also measure the classical baseline.
    field_kwargs : dict, optional
        Further keywords of `~astropy_radiounet.simulation.simulate_field`.
    tile_shape : tuple of int, optional
        Tiles of the segmenter.
    progress_bar : bool, optional
        Show progress over the fields.

    Returns
    -------
    table : `~astropy.table.QTable`
        One row per cluster: ``z``, ``M500``, ``injected`` (the diffuse
        types put in), ``classification``, ``detectable_beams``, ``ratio``
        (the model), ``ratio_baseline``, ``ratio_truth`` and ``coverage``.
    summary : dict
        ``n_de``, ``n_nde``, ``n_faint``; for each of ``'model'``,
        ``'baseline'`` and ``'truth'``: the ROC AUC, the balanced-accuracy-maximising
        threshold on these fields and the `classification_metrics` there;
        ``confuser_fp_model`` and ``confuser_fp_baseline``, the fraction of
        the confuser area (compact sources and radio galaxies above
        ``detection_snr`` at the model's resolution, outside the truth mask)
        marked diffuse.
    """
    from tqdm.auto import tqdm

    from ..segmentation.segmenter import RadioUNetSegmenter
    from ..simulation import simulate_field

    n_fields = PositiveInteger().validate(n_fields, "n_fields")
    for name, value in (("factor", factor), ("detection_snr", detection_snr),
                        ("min_beams", min_beams)):
        PositiveNumber().validate(value, name)
    if not (isinstance(diffuse_probability, (int, float)) and not isinstance(
            diffuse_probability, bool) and 0 <= diffuse_probability <= 1):
        msg = (f"diffuse_probability must be a probability in [0, 1]; got "
               f"{diffuse_probability!r}.")
        raise ValueError(msg)
    check_field_keywords(field_kwargs or {}, name="field_kwargs",
                         reserved=("shape", "seed", "cluster_at_center"),
                         setter="evaluate_clusters (a cluster at the centre of each field)")
    segmenter = RadioUNetSegmenter(weights=weights, tile_shape=tile_shape)
    card = segmenter.card
    mask_snr = (card.training.get("config") or {}).get("mask_snr", 0.5)
    classical = None
    if baseline:
        from ..segmentation.classical import ClassicalSegmenter

        classical = ClassicalSegmenter(card=card)
    rows = []
    confusers = {"area": 0, "model": 0, "baseline": 0}
    seeds = np.random.SeedSequence(seed).spawn(n_fields)
    for child in tqdm(seeds, desc="cluster fields", disable=not progress_bar):
        field = simulate_field(shape, seed=child, cluster_at_center=True,
                               **{"diffuse_probability": diffuse_probability,
                                  **(field_kwargs or {})})
        maps = _cluster_field_maps(field, segmenter, classical, mask_snr, detection_snr)
        cluster = field.clusters[0]
        ratios = _aperture_ratios(maps, cluster, field.wcs, factor)
        beam_pixels = beam_area_pixels(card.beam, field.wcs)
        beams = ratios["own"][0] * ratios["own"][1] / beam_pixels
        injected = str(cluster["diffuse"])
        cls = "NDE" if not injected else ("DE" if beams >= min_beams else "faint")
        rows.append({"z": float(cluster["z"]),
                     "M500": u.Quantity(cluster["M500"], u.Msun).value,
                     "injected": injected, "classification": cls, "detectable_beams": beams,
                     "ratio": ratios["model"][0],
                     "ratio_baseline": ratios.get("baseline", (np.nan,))[0],
                     "ratio_truth": ratios["truth"][0], "coverage": ratios["model"][2]})
        confuser = maps["confuser"]
        confusers["area"] += int(confuser.sum())
        confusers["model"] += int(np.sum(maps["model"][confuser] > card.threshold))
        if classical is not None:
            confusers["baseline"] += int(np.sum(maps["baseline"][confuser] > 0.5))
    table = QTable(rows=rows)
    table["M500"].unit = u.Msun
    summary = _cluster_summary(table, has_baseline=classical is not None)
    area = max(confusers["area"], 1)
    summary["confuser_fp_model"] = confusers["model"] / area
    if classical is not None:
        summary["confuser_fp_baseline"] = confusers["baseline"] / area
    return table, summary


def _cluster_field_maps(field, segmenter, classical, mask_snr, detection_snr):
    """Model, baseline, truth and confuser maps of one simulated field, on its grid."""
    from ..image.resampling import to_input_grid
    from ..segmentation.model_input import on_model_grid, prepare_model_input
    from ..training.pairs import simulated_plane

    plane = simulated_plane(field)
    model_input = prepare_model_input(plane, segmenter.card)
    noise = model_input.noise()

    def tapered_snr(values):
        other = simulated_plane(field, values)
        image = on_model_grid(other, segmenter.card, model_input.factor)
        return image.read()[0] / noise

    def on_input_grid(values):
        if model_input.factor == 1.0:
            return values.astype(np.float32)
        out = np.empty(field.image.shape, dtype=np.float32)
        return to_input_grid(values.astype(np.float32), model_input.factor,
                             field.image.shape, out=out)

    labels = [LABELS[name] for name in CLUSTER_DIFFUSE_LABELS]
    own = np.where(np.isin(field.labels, labels), field.diffuse_sky, 0.0)
    truth_snr = tapered_snr(field.diffuse_sky)
    maps = {"model": segmenter.predict_probability(plane),
            "truth": on_input_grid(truth_snr > mask_snr),
            "own": on_input_grid(tapered_snr(own) > detection_snr) > 0.5}
    confuser_snr = tapered_snr(field.sky - field.diffuse_sky)
    maps["confuser"] = on_input_grid((confuser_snr > detection_snr)
                                     & (truth_snr <= mask_snr)) > 0.5
    if classical is not None:
        maps["baseline"] = classical.predict_probability(plane)
    return maps


def _aperture_ratios(maps, cluster, wcs, factor):
    """(ratio, n_pixels, coverage) of each map in ``factor`` R500 around a cluster."""
    from ..clusters.detection_ratio import DetectionRatio

    result = {}
    for name in ("model", "baseline", "truth", "own"):
        if name in maps:
            stats = DetectionRatio.from_r500(maps[name].astype(np.float32),
                                             (cluster["x"], cluster["y"]), cluster["R500"],
                                             cluster["z"], wcs=wcs, factor=factor)
            result[name] = (float(stats.ratio[0]), float(stats.n_pixels[0]),
                            float(stats.coverage[0]))
    return result


def _cluster_summary(table, *, has_baseline):
    """Classification metrics of each score column, DE against NDE."""
    classes = np.asarray(table["classification"])
    keep = classes != "faint"
    labels = classes[keep] == "DE"
    summary = {"n_de": int(labels.sum()), "n_nde": int((~labels).sum()),
               "n_faint": int((~keep).sum())}
    columns = {"model": "ratio", "truth": "ratio_truth"}
    if has_baseline:
        columns["baseline"] = "ratio_baseline"
    for name, column in columns.items():
        scores = np.asarray(table[column], dtype=float)[keep]
        if labels.all() or not labels.any():
            summary[name] = {"auc": float("nan")}
            continue
        threshold = best_threshold(scores, labels)
        summary[name] = {"auc": roc_auc(scores, labels),
                         **classification_metrics(scores, labels, threshold)}
    return summary


def format_cluster_summary(summary):
    """
    The cluster-level summary of `evaluate_clusters` as a Markdown table.

    Columns are the model, the classical baseline (when measured) and the
    truth mask; rows are the ROC AUC, the threshold on R and the metrics
    there, and the fraction of the confuser area marked diffuse.
    """
    methods = [name for name in ("model", "baseline", "truth") if name in summary]
    lines = ["| metric | " + " | ".join(methods) + " |",
             "|---|" + "---|" * len(methods)]
    rows = [("ROC AUC", "auc", ".3f"), ("threshold on R", "threshold", ".4g"),
            ("accuracy", "accuracy", ".3f"), ("precision", "precision", ".3f"),
            ("recall", "recall", ".3f")]
    for title, key, fmt in rows:
        values = [summary[name].get(key, float("nan")) for name in methods]
        lines.append(f"| {title} | " + " | ".join(format(v, fmt) for v in values) + " |")
    fp = [summary.get(f"confuser_fp_{name}") for name in methods]
    lines.append("| confuser area marked diffuse | "
                 + " | ".join("-" if v is None else f"{v:.4f}" for v in fp) + " |")
    return "\n".join(lines)
