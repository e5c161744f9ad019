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
"""

import argparse
import time
import warnings

import numpy as np


def main():
    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.data import example_field_path
    from astropy_radiounet.evaluation import (best_threshold, classification_metrics,
                                              evaluate_clusters, evaluate_pixels, roc_auc)
    from astropy_radiounet.modelcard import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--n-tiles", type=int, default=300)
    parser.add_argument("--n-fields", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--calibration-seed", type=int, default=777)
    args = parser.parse_args()
    _, card = load_model(weights=args.weights)
    start = time.perf_counter()
    pixels = evaluate_pixels(args.weights, n_tiles=args.n_tiles, seed=args.seed,
                             n_processes=2)
    print(f"\nModel: {card.name}\n\nPixel level, {args.n_tiles} fresh simulated tiles "
          f"(seed {args.seed})")
    print("| metric | value |\n|---|---|")
    for key, value in pixels.items():
        print(f"| {key} | {value:.4g} |")
    calibration, _ = evaluate_clusters(args.weights, n_fields=args.n_fields,
                                       seed=args.calibration_seed, progress_bar=True)
    table, summary = evaluate_clusters(args.weights, n_fields=args.n_fields,
                                       seed=args.seed + 1, progress_bar=True)
    columns = {"model": "ratio", "baseline": "ratio_baseline", "truth": "ratio_truth"}
    thresholds = {name: best_threshold(*_scores(calibration, column))
                  for name, column in columns.items()}
    print(f"\nCluster level: R in 2.2 R500, {args.n_fields} simulated cluster fields "
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
    return thresholds


def _scores(table, column):
    """Scores and DE labels of the clusters that are not faint."""
    keep = np.asarray(table["classification"]) != "faint"
    return (np.asarray(table[column], dtype=float)[keep],
            np.asarray(table["classification"])[keep] == "DE")


if __name__ == "__main__":
    main()
