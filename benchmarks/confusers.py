"""
How much of the confusers a model marks as diffuse emission: the area of
radio galaxies of each kind (their footprints,
``SimulatedField.radio_galaxy_footprints``) and of the rest of the field
(noise, spokes and compact sources), on simulated LoTSS-like fields without
diffuse emission that the models never saw, and on the shipped real
LoTSS-DR1 field.  Several models side by side, on the same fields.

Run::

    python benchmarks/confusers.py --weights default /path/to/other.json
    python benchmarks/confusers.py --n-fields 4 --sky v0.2      # quick, v0.2's own sky
"""

import argparse
import warnings

import numpy as np

KINDS = ("FRI", "FRII", "indeterminate", "NAT", "WAT", "double-double", "small", "remnant")


def fields(n, seed, sky, shape):
    """Simulated fields without diffuse emission (clusters with radio galaxies kept)."""
    from astropy_radiounet.simulation import SKY_PRESETS, simulate_field

    for k in range(n):
        yield simulate_field(shape, seed=seed + k, n_clusters=2, diffuse_probability=0.0,
                             radio_galaxy_density=60.0, **SKY_PRESETS[sky])


def marked_areas(segmenter, field):
    """Pixels marked (probability above the card's threshold) per confuser kind."""
    from astropy_radiounet.image import read_image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probability = segmenter.predict_probability(read_image(field.hdulist()[0]))
    marked = np.nan_to_num(probability) > segmenter.threshold
    footprints = field.radio_galaxy_footprints()
    kinds = np.asarray(field.sources["kind"])
    counts = {}
    present = set(kinds[np.unique(footprints[footprints > 0]) - 1]) if footprints.any() else ()
    for kind in present:
        rows = np.flatnonzero(kinds == kind) + 1
        inside = np.isin(footprints, rows)
        counts[kind] = (int(marked[inside].sum()), int(inside.sum()))
    rest = (footprints == 0) & ~field.blank
    counts["rest of the field"] = (int(marked[rest].sum()), int(rest.sum()))
    return counts


def real_field_area(segmenter):
    from astropy_radiounet.data import example_field_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probability = segmenter.predict_probability(str(example_field_path()))
    valid = np.isfinite(probability)
    return float((probability[valid] > segmenter.threshold).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--weights", nargs="+", default=["default"])
    parser.add_argument("--n-fields", type=int, default=12)
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--seed", type=int, default=777_000)
    parser.add_argument("--sky", choices=("lotss", "v0.2"), default="lotss")
    args = parser.parse_args()

    from astropy_radiounet import RadioUNetSegmenter

    segmenters = {weights: RadioUNetSegmenter(weights=weights) for weights in args.weights}
    totals = {weights: {} for weights in args.weights}
    for field in fields(args.n_fields, args.seed, args.sky, (args.size, args.size)):
        for weights, segmenter in segmenters.items():
            for kind, (hit, area) in marked_areas(segmenter, field).items():
                old = totals[weights].get(kind, (0, 0))
                totals[weights][kind] = (old[0] + hit, old[1] + area)
    names = [segmenter.card.name for segmenter in segmenters.values()]
    print(f"\nArea marked as diffuse emission, per cent, on {args.n_fields} simulated "
          f"{args.size}² fields without diffuse emission ({args.sky} sky)\n")
    print("| confuser | pixels | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    rows = [kind for kind in (*KINDS, "rest of the field")
            if any(kind in totals[w] for w in args.weights)]
    for kind in rows:
        area = totals[args.weights[0]].get(kind, (0, 0))[1]
        cells = [f"{100 * totals[w][kind][0] / max(totals[w][kind][1], 1):.2f}"
                 for w in args.weights]
        print(f"| {kind} | {area} | " + " | ".join(cells) + " |")
    print("| real LoTSS-DR1 field (shipped example) | - | "
          + " | ".join(f"{100 * real_field_area(s):.2f}" for s in segmenters.values()) + " |")


if __name__ == "__main__":
    main()
