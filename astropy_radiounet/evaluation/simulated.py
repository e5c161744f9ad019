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
from ._comparison import markdown_table
from .metrics import best_threshold, classification_metrics, pixel_metrics, reliability, roc_auc

__all__ = ["evaluate_pixels", "recall_by_type_and_snr", "evaluate_clusters",
           "format_cluster_summary"]


def evaluate_pixels(weights, *, n_tiles=200, seed=12345, parallel=False, threshold=None,
                    progress_bar=False, sky=None):
    """
    Pixel metrics of a trained model on freshly simulated tiles it never saw.

    The tiles are made with the recipe stored in the model card, with a seed
    distinct from those of training and validation; ``sky`` replaces the
    recipe's sky, so that models trained on different skies can be
    measured on the same one (the same seed then gives the same fields
    when the recipes differ in nothing else that shapes them: tile size,
    grid, truth level and the other simulation keywords).

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
    sky : str, optional
        A named sky (`~astropy_radiounet.simulation.SKY_PRESETS`: ``'lotss'``,
        ``'v0.2'``) instead of the one the recipe records.

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
    _check_sky(sky)
    model, card = load_model(weights=weights)
    recipe = card.training.get("config")
    if recipe is None:
        msg = (f"The model card {card.name!r} records no training recipe, so its test data "
               f"cannot be simulated; evaluate it on your own labelled images instead.")
        raise ValueError(msg)
    if sky is not None:
        recipe = {**recipe, "field": _with_sky(recipe.get("field") or {}, sky)}
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


def _check_sky(sky):
    """Refuse a ``sky`` that is not None or a named sky."""
    from ..simulation import SKY_PRESETS

    if sky is not None and sky not in SKY_PRESETS:
        msg = (f"sky={sky!r} is not a named sky; use one of {sorted(SKY_PRESETS)} "
               f"(astropy_radiounet.simulation.SKY_PRESETS), or None for the recipe's own.")
        raise ValueError(msg)


def _with_sky(field, sky):
    """Simulation keywords ``field`` with the named ``sky`` instead of their own."""
    from ..simulation import SKY_PRESETS
    from ..training.config import SKY_VERSION_KEYWORDS

    _check_sky(sky)
    kept = {key: value for key, value in field.items() if key not in SKY_VERSION_KEYWORDS}
    return {**kept, **SKY_PRESETS[sky]}


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
    its centre and the package's full confuser population; each model runs on
    the whole image through `~astropy_radiounet.RadioUNetSegmenter`, exactly as
    on a survey image, and several models run on the same fields.  In the
    same fields, the detection ratio is also measured on the map of the
    classical baseline (`~astropy_radiounet.segmentation.ClassicalSegmenter`)
    and on the truth mask itself (the ceiling that a perfect segmentation
    would reach).

    The class of a cluster follows what an observer can know: it is ``'DE'``
    when cluster diffuse emission (halo, relic, mini-halo or bridge; with
    the default single cluster per field, its own) covers at least
    ``min_beams`` beams of the model above ``detection_snr`` times the local
    noise at the model's resolution inside the aperture,
    ``'NDE'`` when it has none, and ``'faint'`` when it has some but too
    faint to be seen.  Faint clusters are left out of the classification
    metrics, as the uncertain class of a visual classification is.  With
    several models, the classes, the truth mask and the confuser area are
    those at the first model's resolution (its card's pixels and beam), for
    all of them.

    A cluster hosts a radio galaxy when the footprint of one
    (`~astropy_radiounet.simulation.SimulatedField.radio_galaxy_footprints`)
    reaches into its aperture: the central and tailed radio galaxies the
    simulation puts in clusters, or a field one seen through it.  How often
    the NDE clusters that host one are called DE at a model's own threshold
    is their false-positive rate.  Not all of it is the model's mistake:
    the aperture of an NDE cluster can hold diffuse emission that is not
    the cluster's (a cosmic-web filament, a neighbour's relic), enough for
    the truth mask to pass the same threshold.  The rate on the other NDE
    clusters, where the truth mask stays below it, is what the model adds
    to a perfect segmentation; with and without a radio galaxy it says
    whether radio galaxies are what the model takes for diffuse emission.

    Parameters
    ----------
    weights : path, `~astropy_radiounet.models.ModelCard` or list of them
        The model, or several models (a list) measured on the same fields.
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
        types put in), ``classification``, ``detectable_beams``,
        ``radio_galaxy_fraction`` (of the aperture in radio-galaxy
        footprints), ``hosts_radio_galaxy``, ``ratio`` (the model; with
        several models ``ratio_<label>`` for each, labelled as in
        ``summary['models']``), ``ratio_baseline``, ``ratio_truth`` and
        ``coverage``.
    summary : dict
        ``n_de``, ``n_nde``, ``n_faint``, ``n_nde_hosts`` (NDE clusters
        hosting a radio galaxy) and ``models``, the labels of the models
        (``['model']`` for a single model, not in a list; otherwise
        ``'default'``, a card's file name, ...); for each label,
        ``'baseline'`` and ``'truth'``: the ROC AUC, the
        balanced-accuracy-maximising threshold on these fields and the
        `classification_metrics` there, and (except for the truth)
        ``auc_over_truth``, the AUC over the truth's; for each model also
        ``card_threshold`` (the card's ``detection_ratio_threshold``, `None`
        if it has none),
        ``fp_threshold`` (that threshold or, without one, the
        balanced-accuracy one), ``fp_rate_hosts``, the fraction of the
        NDE clusters hosting a radio galaxy with R above ``fp_threshold``,
        ``fp_rate_hosts_truth``, that of the truth mask on them,
        ``fp_rate_hosts_clear`` and ``fp_rate_others_clear``, the model's on
        the NDE clusters with and without a radio galaxy whose truth mask
        stays below ``fp_threshold``, each with ``<name>_counts``, the
        numbers ``(flagged, clusters)`` it is made of;
        ``confuser_fp_<label>`` and ``confuser_fp_baseline``, the fraction of
        the confuser area (compact sources and radio galaxies above
        ``detection_snr`` at the model's resolution, outside the truth mask)
        marked diffuse.
    """
    from tqdm.auto import tqdm

    from ..simulation import simulate_field
    from ._comparison import load_segmenters

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
    segmenters = load_segmenters(weights, tile_shape=tile_shape, reserved=_RESERVED_LABELS)
    if not isinstance(weights, (list, tuple)):
        segmenters = {"model": segmenters.popitem()[1]}
    columns = {label: "ratio" if label == "model" else f"ratio_{label}"
               for label in segmenters}
    card = next(iter(segmenters.values())).card
    mask_snr = (card.training.get("config") or {}).get("mask_snr", 0.5)
    classical = None
    if baseline:
        from ..segmentation.classical import ClassicalSegmenter

        classical = ClassicalSegmenter(card=card)
    rows = []
    confusers = dict.fromkeys(("area", *segmenters, "baseline"), 0)
    seeds = np.random.SeedSequence(seed).spawn(n_fields)
    for child in tqdm(seeds, desc="cluster fields", disable=not progress_bar):
        field = simulate_field(shape, seed=child, cluster_at_center=True,
                               **{"diffuse_probability": diffuse_probability,
                                  **(field_kwargs or {})})
        models, maps = _cluster_field_maps(field, segmenters, classical, mask_snr,
                                           detection_snr)
        cluster = field.clusters[0]
        confuser = maps.pop("confuser")
        ratios = _aperture_ratios({**models, **maps}, cluster, field.wcs, factor)
        beam_pixels = beam_area_pixels(card.beam, field.wcs)
        beams = ratios["own"][0] * ratios["own"][1] / beam_pixels
        injected = str(cluster["diffuse"])
        cls = "NDE" if not injected else ("DE" if beams >= min_beams else "faint")
        first = next(iter(models))
        rows.append({"z": float(cluster["z"]),
                     "M500": u.Quantity(cluster["M500"], u.Msun).value,
                     "injected": injected, "classification": cls, "detectable_beams": beams,
                     "radio_galaxy_fraction": ratios["radio_galaxies"][0],
                     "hosts_radio_galaxy": ratios["radio_galaxies"][0] > 0,
                     **{columns[label]: ratios[label][0] for label in models},
                     "ratio_baseline": ratios.get("baseline", (np.nan,))[0],
                     "ratio_truth": ratios["truth"][0], "coverage": ratios[first][2]})
        confusers["area"] += int(confuser.sum())
        for label, segmenter in segmenters.items():
            confusers[label] += int(np.sum(models[label][confuser] > segmenter.threshold))
        if classical is not None:
            confusers["baseline"] += int(np.sum(maps["baseline"][confuser] > 0.5))
    table = QTable(rows=rows)
    table["M500"].unit = u.Msun
    summary = _cluster_summary(table, columns, has_baseline=classical is not None)
    for label, segmenter in segmenters.items():
        summary[label].update(_host_false_positives(table, columns[label], summary[label],
                                                    segmenter.card))
    area = max(confusers["area"], 1)
    for label in (*segmenters, *(("baseline",) if classical is not None else ())):
        summary[f"confuser_fp_{label}"] = confusers[label] / area
    return table, summary


#: Names that model labels of `evaluate_clusters` may not take (its other columns).
_RESERVED_LABELS = ("model", "baseline", "truth", "own", "radio_galaxies")


def _cluster_field_maps(field, segmenters, classical, mask_snr, detection_snr):
    """
    The models' probability maps, and the baseline, truth, confuser and
    radio-galaxy maps of one simulated field, on its grid (the truth at the
    first model's resolution).
    """
    from ..image.resampling import to_input_grid
    from ..segmentation.model_input import on_model_grid, prepare_model_input
    from ..training.pairs import simulated_plane, truth_level

    card = next(iter(segmenters.values())).card
    plane = simulated_plane(field)
    model_input = prepare_model_input(plane, card)
    noise = model_input.noise()

    def tapered_snr(values):
        other = simulated_plane(field, values)
        image = on_model_grid(other, model_input.card, model_input.factor)
        return image.read()[0] / noise

    def on_input_grid(values):
        return to_input_grid(values, model_input.factor, field.image.shape,
                             out=np.empty(field.image.shape, dtype=np.float32))

    labels = [LABELS[name] for name in CLUSTER_DIFFUSE_LABELS]
    own = np.where(np.isin(field.labels, labels), field.diffuse_sky, 0.0)
    truth_snr = tapered_snr(field.diffuse_sky)
    level = truth_level(mask_snr, card, model_input.card)  # one surface brightness at any beam
    maps = {"truth": on_input_grid(truth_snr > level),
            "own": on_input_grid(tapered_snr(own) > detection_snr) > 0.5,
            "radio_galaxies": field.radio_galaxy_footprints() > 0}
    confuser_snr = tapered_snr(field.sky - field.diffuse_sky)
    maps["confuser"] = on_input_grid((confuser_snr > detection_snr)
                                     & (truth_snr <= level)) > 0.5
    if classical is not None:
        maps["baseline"] = classical.predict_probability(plane)
    models = {label: segmenter.predict_probability(plane)
              for label, segmenter in segmenters.items()}
    return models, maps


def _aperture_ratios(maps, cluster, wcs, factor):
    """``{name: (ratio, n_pixels, coverage)}`` of each map in ``factor`` R500 around a cluster."""
    from ..clusters.detection_ratio import DetectionRatio

    result = {}
    for name, values in maps.items():
        stats = DetectionRatio.from_r500(values.astype(np.float32),
                                         (cluster["x"], cluster["y"]), cluster["R500"],
                                         cluster["z"], wcs=wcs, factor=factor)
        result[name] = (float(stats.ratio[0]), float(stats.n_pixels[0]),
                        float(stats.coverage[0]))
    return result


def _cluster_summary(table, columns, *, has_baseline):
    """Classification metrics of each score column (``{name: column}``), DE against NDE."""
    classes = np.asarray(table["classification"])
    keep = classes != "faint"
    labels = classes[keep] == "DE"
    summary = {"n_de": int(labels.sum()), "n_nde": int((~labels).sum()),
               "n_faint": int((~keep).sum()),
               "n_nde_hosts": int(np.sum((classes == "NDE")
                                         & np.asarray(table["hosts_radio_galaxy"]))),
               "models": list(columns)}
    columns = {**columns, "truth": "ratio_truth"}
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
    truth_auc = summary["truth"]["auc"]
    for name in columns:
        if name != "truth":
            summary[name]["auc_over_truth"] = (summary[name]["auc"] / truth_auc
                                               if truth_auc > 0 else float("nan"))
    return summary


def _host_false_positives(table, column, metrics, card):
    """
    The false-positive rates of a model on the NDE clusters at its card's
    threshold on R (or, without one, the balanced-accuracy one).

    ``fp_rate_hosts`` is that of the NDE clusters hosting a radio galaxy;
    ``fp_rate_hosts_truth`` that of the truth mask on them at the same
    threshold, the clusters whose aperture holds enough diffuse emission
    not their own (a filament, a neighbour's relic) for a perfect
    segmentation to flag them too; ``fp_rate_hosts_clear`` and
    ``fp_rate_others_clear`` the model's on the rest, the NDE clusters with
    and without a radio galaxy where a flag can only be the model's mistake.
    Each rate comes with the counts it is made of, ``(flagged, clusters)``,
    under the same name with ``_counts`` appended.
    """
    threshold = card.detection_ratio_threshold
    fp_threshold = metrics.get("threshold", np.nan) if threshold is None else threshold
    nde = np.asarray(table["classification"]) == "NDE"
    hosts = nde & np.asarray(table["hosts_radio_galaxy"], dtype=bool)
    flagged = np.asarray(table[column], dtype=float) > fp_threshold
    truth_flagged = np.asarray(table["ratio_truth"], dtype=float) > fp_threshold
    result = {"card_threshold": threshold, "fp_threshold": float(fp_threshold)}
    for name, values, where in (("fp_rate_hosts", flagged, hosts),
                                ("fp_rate_hosts_truth", truth_flagged, hosts),
                                ("fp_rate_hosts_clear", flagged, hosts & ~truth_flagged),
                                ("fp_rate_others_clear", flagged,
                                 nde & ~hosts & ~truth_flagged)):
        counts = (int(values[where].sum()), int(where.sum()))
        result[name] = counts[0] / counts[1] if counts[1] else float("nan")
        result[f"{name}_counts"] = counts
    return result


def format_cluster_summary(summary):
    """
    The cluster-level summary of `evaluate_clusters` as a Markdown table.

    Columns are the models, the classical baseline (when measured) and the
    truth mask; rows are the ROC AUC, the threshold on R and the metrics
    there, the fraction of the confuser area marked diffuse and, for the
    models, their AUC over the truth's and the false-positive rates on NDE
    clusters at the card's threshold on R (marked ``*`` where the card has
    none and the balanced-accuracy threshold is used instead), with the
    numbers flagged and measured: on those hosting a radio galaxy, the
    truth mask's on them at the same threshold, and on those with and
    without a radio galaxy whose truth mask stays below it.
    """
    models = summary.get("models", ["model"])
    methods = [name for name in (*models, "baseline", "truth") if name in summary]
    rows = []
    for title, key, fmt in (("ROC AUC", "auc", ".3f"), ("threshold on R", "threshold", ".4g"),
                            ("accuracy", "accuracy", ".3f"), ("precision", "precision", ".3f"),
                            ("recall", "recall", ".3f"),
                            ("AUC / AUC of the truth", "auc_over_truth", ".3f")):
        rows.append([title, *(_cell(summary[name].get(key), fmt) for name in methods)])
    rows.append(["confuser area marked diffuse",
                 *(_cell(summary.get(f"confuser_fp_{name}"), ".4f") for name in methods)])
    rows.append(["card's threshold on R", *(
        _cell(summary[name].get("fp_threshold"), ".4g")
        + ("*" if name in models and summary[name].get("card_threshold") is None else "")
        for name in methods)])
    for title, key in (
            (f"FP rate, NDE hosting a radio galaxy ({summary.get('n_nde_hosts', 0)})",
             "fp_rate_hosts"),
            ("  truth mask at that threshold (diffuse emission not the cluster's)",
             "fp_rate_hosts_truth"),
            ("FP rate, NDE hosting a radio galaxy, truth mask below it",
             "fp_rate_hosts_clear"),
            ("FP rate, NDE hosting none, truth mask below it", "fp_rate_others_clear")):
        rows.append([title, *(_rate_cell(summary[name], key) for name in methods)])
    return markdown_table(["metric", *methods], rows)


def _rate_cell(metrics, key):
    """A false-positive rate with its counts, ``0.082 (5/61)``, or ``-`` where there is none."""
    flagged, total = metrics.get(f"{key}_counts", (0, 0))
    if not total:
        return "-"
    return f"{metrics[key]:.3f} ({flagged}/{total})"


def _cell(value, fmt):
    """A number formatted, or ``-`` where there is none."""
    return "-" if value is None else format(value, fmt)
