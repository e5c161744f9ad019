"""
What models mark on the shipped real LoTSS-DR1 field (6" beam, no catalogued
cluster), and what the marked pixels hold: the image at each model's beam
over its local noise (the model's own ``'image'`` input before the
stretch), inside and outside the marked area.

A model that marks noise has marked pixels near S/N 0; one that marks faint
extended emission has them well above it, however that emission is to be
classified.  Printed per model: the area marked, and the median S/N at the
model's beam and the fraction above 1 inside and outside it.

Run::

    python benchmarks/real_field.py --weights v0.2 v0.3
"""

import argparse
import warnings

import numpy as np


def marked_snr(weights):
    """Area marked and the S/N at the model's beam inside and outside it."""
    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.data import example_field_path
    from astropy_radiounet.image.read import read_image
    from astropy_radiounet.image.resampling import to_input_grid
    from astropy_radiounet.segmentation import prepare_model_input

    segmenter = RadioUNetSegmenter(weights=weights)
    plane = read_image(str(example_field_path()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probability = segmenter.predict_probability(plane)
        model_input = prepare_model_input(plane, segmenter.card)  # as the segmenter does
    values, valid = model_input.image.read()
    snr = to_input_grid(np.where(valid, values / model_input.noise(), np.nan).astype(np.float32),
                        model_input.factor, plane.shape,
                        out=np.empty(plane.shape, dtype=np.float32))
    finite = np.isfinite(probability) & np.isfinite(snr)
    marked = finite & (probability > segmenter.threshold)
    unmarked = finite & ~marked

    def stats(where):
        if not where.any():
            return float("nan"), float("nan")
        return float(np.median(snr[where])), float(np.mean(snr[where] > 1))

    return model_input.card.name, float(marked.sum() / finite.sum()), stats(marked), \
        stats(unmarked)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", nargs="+", default=["v0.2", "default"])
    args = parser.parse_args()
    print("| model | area marked (%) | marked: median S/N, > 1 | unmarked: median S/N, > 1 |\n"
          "|---|---|---|---|")
    for weights in args.weights:
        name, area, (inside, inside_above), (outside, outside_above) = marked_snr(weights)
        print(f"| {weights} ({name}) | {100 * area:.2f} | {inside:.2f}, {inside_above:.2f} | "
              f"{outside:.2f}, {outside_above:.2f} |", flush=True)


if __name__ == "__main__":
    main()
