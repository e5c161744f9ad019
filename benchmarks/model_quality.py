"""
Quality of a trained model, measured on data it never saw, printed as tables.

* pixel level: IoU, Dice, precision, recall on freshly simulated tiles made
  with the recipe in the model card;
* cluster level: ROC AUC of the detection ratio in 2.2 R500 for simulated
  clusters with (DE) and without (NDE) diffuse emission, and accuracy,
  precision and recall at the threshold calibrated on a separate set of
  fields, for the model, the classical baseline (taper, compact sources
  masked, 3 sigma) and the truth mask (the ceiling), with the fraction of
  the confuser area each marks diffuse;
* a real LoTSS-DR1 field with no catalogued cluster (the example shipped with
  the package): the fraction of its area marked diffuse (ideally ~0).

Run::

    python benchmarks/model_quality.py                     # the shipped model
    python benchmarks/model_quality.py --weights my.json --n-fields 40
    python benchmarks/model_quality.py --weights my.json --write-card
    python benchmarks/model_quality.py --weights coarse.json --beam 45 --write-card

``--write-card`` stores what was measured in the model card (rewritten in
place): the metrics under ``test_pixels``, ``test_clusters`` and
``real_field_lotss_dr1_P205+55``, and the balanced-accuracy-maximising threshold on R
of the calibration fields as the card's ``detection_ratio_threshold``.

``--beam B`` simulates the cluster fields at a beam of B arcsec (pixels of a
quarter beam, the LoTSS 6" noise smoothed to B, the same sky as the 6"
fields), for a model meant for coarse surveys.
"""

import argparse
import time
import warnings

import numpy as np


def main():
    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.data import example_field_path
    from astropy_radiounet.evaluation.metrics import (best_threshold, classification_metrics,
                                                      roc_auc)
    from astropy_radiounet.evaluation.simulated import evaluate_clusters, evaluate_pixels
    from astropy_radiounet.models.card import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--n-tiles", type=int, default=300)
    parser.add_argument("--n-fields", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--calibration-seed", type=int, default=777)
    parser.add_argument("--beam", type=float, default=None,
                        help="beam of the cluster fields in arcsec (default: the LoTSS 6\")")
    parser.add_argument("--save-tables", metavar="PREFIX",
                        help="write the per-cluster tables to PREFIX_seed<N>.ecsv")
    parser.add_argument("--write-card", action="store_true",
                        help="store the measurements and the threshold in the model card")
    args = parser.parse_args()
    _, card = load_model(weights=args.weights)
    start = time.perf_counter()
    pixels = evaluate_pixels(args.weights, n_tiles=args.n_tiles, seed=args.seed,
                             parallel=2)
    print(f"\nModel: {card.name}\n\nPixel level, {args.n_tiles} fresh simulated tiles "
          f"(seed {args.seed})")
    print("| metric | value |\n|---|---|")
    for key, value in pixels.items():
        print(f"| {key} | {value:.4g} |")
    fields = _cluster_fields(args.beam)
    calibration, _ = evaluate_clusters(args.weights, n_fields=args.n_fields,
                                       seed=args.calibration_seed, progress_bar=True, **fields)
    table, summary = evaluate_clusters(args.weights, n_fields=args.n_fields,
                                       seed=args.seed + 1, progress_bar=True, **fields)
    if args.save_tables:
        calibration.write(f"{args.save_tables}_seed{args.calibration_seed}.ecsv",
                          overwrite=True)
        table.write(f"{args.save_tables}_seed{args.seed + 1}.ecsv", overwrite=True)
    columns = {"model": "ratio", "baseline": "ratio_baseline", "truth": "ratio_truth"}
    thresholds = {name: best_threshold(*_scores(calibration, column))
                  for name, column in columns.items()}
    print(f"\nCluster level: R in 2.2 R500, {args.n_fields} simulated cluster fields "
          f"at {args.beam or 6:g}\" "
          f"(seed {args.seed + 1}): {summary['n_de']} DE, {summary['n_nde']} NDE, "
          f"{summary['n_faint']} faint (left out); thresholds calibrated on "
          f"{args.n_fields} other fields (seed {args.calibration_seed}); "
          f"the model card's threshold is {card.detection_ratio_threshold}")
    print("| metric | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    results = {}
    for name, column in columns.items():
        scores, labels = _scores(table, column)
        results[name] = {"ROC AUC": roc_auc(scores, labels),
                         "threshold on R": thresholds[name],
                         **classification_metrics(scores, labels, thresholds[name]),
                         "median R, DE": np.median(scores[labels]),
                         "median R, NDE": np.median(scores[~labels])}
    for key in ("ROC AUC", "threshold on R", "accuracy", "precision", "recall", "tp", "fp",
                "fn", "tn", "median R, DE", "median R, NDE"):
        print(f"| {key} | " + " | ".join(f"{results[n][key]:.4g}" for n in columns) + " |")
    print(f"| confuser area marked diffuse | {summary['confuser_fp_model']:.4f} | "
          f"{summary['confuser_fp_baseline']:.4f} | - |")
    segmenter = RadioUNetSegmenter(weights=args.weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probability = segmenter.predict_probability(example_field_path())
    finite = probability[np.isfinite(probability)]
    print("\nReal LoTSS-DR1 field P205+55 (600 x 600, no catalogued cluster)")
    print("| metric | value |\n|---|---|")
    print(f"| area fraction with p > {segmenter.threshold:g} | "
          f"{np.mean(finite > segmenter.threshold):.4f} |")
    print(f"| mean probability | {finite.mean():.4f} |")
    print(f"| max probability | {finite.max():.3f} |")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    if args.write_card:
        _write_card(card, args, pixels, summary, results, {
            "area_fraction_above_threshold": np.mean(finite > segmenter.threshold),
            "mean_probability": finite.mean(), "max_probability": finite.max()})
    return thresholds


def _cluster_fields(beam):
    """The keywords of evaluate_clusters for fields of ``beam`` arcsec (None: 6")."""
    if beam is None:
        return {}
    import astropy.units as u

    from astropy_radiounet.evaluation.confusers import field_shapes
    from astropy_radiounet.simulation import keywords_at_beam

    return {"shape": field_shapes((1024, 1024), [beam])[0],
            "field_kwargs": keywords_at_beam(beam * u.arcsec)}


def _write_card(card, args, pixels, summary, results, real_field):
    """Store the measurements in the model card, rounded to four significant digits."""
    def rounded(values):
        return {key: float(f"{value:.4g}") for key, value in values.items()}

    if card.path is None:
        raise SystemExit("--write-card needs a model card file (--weights CARD.json)")
    card.detection_ratio_threshold = float(f"{results['model']['threshold on R']:.4g}")
    card.training["detection_ratio_threshold"] = (
        f"balanced-accuracy-maximising R of the calibrated model on {args.n_fields} "
        f"simulated cluster fields (the sky of 1024^2 1.5\" pixels at a {args.beam or 6:g}\" "
        f"beam, seed {args.calibration_seed}; DE = own "
        f"diffuse emission detectable over at least one beam of the model at 3 sigma): "
        f"benchmarks/model_quality.py")
    card.metrics["test_pixels"] = {**rounded(pixels), "seed": args.seed}
    card.metrics["test_clusters"] = {
        "n_fields": args.n_fields, "seed": args.seed + 1, "aperture": "2.2 R500",
        "thresholds_from": f"{args.n_fields} fields, seed {args.calibration_seed}",
        "n_de": summary["n_de"], "n_nde": summary["n_nde"], "n_faint": summary["n_faint"],
        **{name: rounded(values) for name, values in results.items()},
        "confuser_area_marked": float(f"{summary['confuser_fp_model']:.4g}"),
        "confuser_area_marked_baseline": float(f"{summary['confuser_fp_baseline']:.4g}")}
    card.metrics["real_field_lotss_dr1_P205+55"] = rounded(real_field)
    card.write(card.path)
    print(f"measurements written to {card.path}")


def _scores(table, column):
    """Scores and DE labels of the clusters that are not faint."""
    keep = np.asarray(table["classification"]) != "faint"
    return (np.asarray(table[column], dtype=float)[keep],
            np.asarray(table["classification"])[keep] == "DE")


if __name__ == "__main__":
    main()
