"""
How much of the confusers models mark as diffuse emission: the area of
radio galaxies of each kind, of compact sources, of artefacts and of the
rest of the field, on simulated LoTSS-like fields without diffuse emission
that the models never saw, at several input beams
(`astropy_radiounet.evaluation.confusers.evaluate_confusers`), and on the
shipped real LoTSS-DR1 field.  Several models side by side, on the same fields.

Run::

    python benchmarks/confusers.py --weights default /path/to/other.json
    python benchmarks/confusers.py --n-fields 4 --sky v0.2 --beams 6   # quick, v0.2's own sky
"""

import argparse
import warnings

import numpy as np


def real_field_area(segmenter):
    """Fraction of the shipped real LoTSS-DR1 field (6" beam) the model marks."""
    from astropy_radiounet.data import example_field_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probability = segmenter.predict_probability(str(example_field_path()))
    valid = np.isfinite(probability)
    return float((probability[valid] > segmenter.threshold).mean()), int(valid.sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--weights", nargs="+", default=["default"])
    parser.add_argument("--n-fields", type=int, default=4, help="fields per beam")
    parser.add_argument("--size", type=int, default=2048,
                        help="field side in 1.5 arcsec pixels (the same sky at every beam)")
    parser.add_argument("--beams", type=float, nargs="+", default=[6, 20, 45, 60],
                        help="input beams in arcsec (pixels of a quarter beam)")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--sky", choices=("lotss", "v0.2"), default="lotss")
    args = parser.parse_args()

    import astropy.units as u

    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.evaluation.confusers import evaluate_confusers, format_confuser_table
    from astropy_radiounet.simulation import SKY_PRESETS

    table = evaluate_confusers(args.weights, n_fields=args.n_fields, seed=args.seed,
                               beams=args.beams * u.arcsec, shape=(args.size, args.size),
                               field_kwargs=dict(SKY_PRESETS[args.sky]), progress_bar=True)
    real = [real_field_area(RadioUNetSegmenter(weights=weights)) for weights in args.weights]
    table.add_row([6.0 * u.arcsec, "real LoTSS-DR1 field (shipped example)", real[0][1],
                   *(fraction for fraction, _ in real)])
    print(f"\nArea marked as diffuse emission, per cent, on {args.n_fields} simulated fields "
          f"per beam without diffuse emission ({args.sky} sky; {args.size}² pixels of 1.5\" "
          f"at 6\", the same sky in pixels of a quarter beam at the others), and on the "
          f"real LoTSS-DR1 example field (last row)\n")
    print(format_confuser_table(table))


if __name__ == "__main__":
    main()
