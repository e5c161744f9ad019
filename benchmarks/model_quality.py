"""
Quality of a trained model, measured on data it never saw, printed as tables.

* pixel level: IoU, Dice, precision, recall on freshly simulated tiles made
  with the recipe in the model card;
* cluster level: ROC AUC of the detection ratio in 2.2 R500 for simulated
  clusters with (DE) and without (NDE) diffuse emission, and accuracy,
  precision and recall at the card's detection-ratio threshold (or, without
  one, at the threshold calibrated on a separate set of fields);
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
    parser.add_argument("--n-fields", type=int, default=80)
    parser.add_argument("--seed", type=int, default=12345)
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
    threshold = card.detection_ratio_threshold
    source = "model card"
    if threshold is None:
        calibration, _ = evaluate_clusters(args.weights, n_fields=args.n_fields,
                                           seed=args.seed + 2)
        threshold = best_threshold(np.asarray(calibration["ratio"]),
                                   np.asarray(calibration["classification"]) == "DE")
        source = f"calibrated on {args.n_fields} other fields (seed {args.seed + 2})"
    table, _ = evaluate_clusters(args.weights, n_fields=args.n_fields, seed=args.seed + 1)
    labels = np.asarray(table["classification"]) == "DE"
    scores = np.asarray(table["ratio"])
    metrics = classification_metrics(scores, labels, threshold)
    print(f"\nCluster level: R in 2.2 R500, {args.n_fields} simulated cluster fields "
          f"(seed {args.seed + 1}; {labels.sum()} DE, {(~labels).sum()} NDE); "
          f"threshold R = {threshold:.4g} ({source})")
    print("| metric | value |\n|---|---|")
    print(f"| ROC AUC | {roc_auc(scores, labels):.3f} |")
    for key in ("accuracy", "precision", "recall", "tp", "fp", "fn", "tn"):
        print(f"| {key} | {metrics[key]:.4g} |")
    print(f"| median R, DE | {np.median(scores[labels]):.4g} |")
    print(f"| median R, NDE | {np.median(scores[~labels]):.4g} |")
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
    return threshold


if __name__ == "__main__":
    main()
