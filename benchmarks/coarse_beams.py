"""
What a model marks on images whose beam is wider than its own: the model
card scaled to the input's beam (``ModelCard.at_beam``, what the segmenter
does since version 0.3) against the card as it is, the image then seen
through the model's own grid, smoother than anything it was trained on
(what earlier versions did, with a ``ResolutionWarning``).

The fields are those of ``radiounet evaluate --confuser-fields``
(`~astropy_radiounet.evaluation.confusers.confuser_fields`: no diffuse
emission, two clusters with their radio galaxies, three times the usual
field radio galaxies, the LoTSS 6" noise smoothed to the beam), and for the
recall, fields of one cluster with a halo at their centre at the same beam
and noise.  Printed: the per cent of the no-diffuse fields marked, and of
the halo's pixels above 3 times the noise.

Run::

    python benchmarks/coarse_beams.py                        # v0.2 and the default
    python benchmarks/coarse_beams.py --weights v0.2 --n-fields 2 --beams 45
"""

import argparse
import warnings

import astropy.units as u
import numpy as np


def _fields(args, beam):
    """The fields without diffuse emission and those of one halo, at ``beam`` arcsec."""
    from astropy_radiounet.evaluation.confusers import (confuser_fields, field_shapes,
                                                        noise_at_beam)
    from astropy_radiounet.simulation import simulate_field

    shape = (args.size, args.size)
    empty = list(confuser_fields(args.n_fields, seed=args.seed, beam=beam * u.arcsec,
                                 shape=shape))
    halo_only = {"halo": 1.0, "relic": 0.0, "mini_halo": 0.0, "bridge": 0.0, "filament": 0.0}
    halos = [simulate_field(field_shapes(shape, [beam])[0], seed=args.seed + 100 + k,
                            beam=beam * u.arcsec, pixel_scale=beam / 4 * u.arcsec,
                            noise=noise_at_beam(beam * u.arcsec), n_clusters=1,
                            cluster_at_center=True, diffuse_probability=1.0,
                            diffuse_rates=halo_only)
             for k in range(args.n_fields)]
    return empty, halos


def main():
    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.segmentation import model_input
    from astropy_radiounet.training.pairs import simulated_plane

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", nargs="+", default=["v0.2", "default"])
    parser.add_argument("--n-fields", type=int, default=4)
    parser.add_argument("--size", type=int, default=1600,
                        help="field side in 1.5 arcsec pixels (the same sky at every beam)")
    parser.add_argument("--beams", type=float, nargs="+", default=[20.0, 45.0, 60.0])
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args()
    scaled = model_input.card_for_input
    modes = {"scaled to the beam": scaled, "model's own grid": lambda plane, card: card}
    print("| model | beam | card | no-diffuse fields marked (%) | halo pixels > 3 sigma "
          "marked (%) |\n|---|---|---|---|---|")
    fields = {beam: _fields(args, beam) for beam in args.beams}  # the same for every model
    for weights in args.weights:
        segmenter = RadioUNetSegmenter(weights=weights)
        for beam in args.beams:
            empty, halos = fields[beam]
            for mode, choose in modes.items():
                model_input.card_for_input = choose
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        marked = [np.nan_to_num(segmenter.predict_probability(
                            simulated_plane(field))) > segmenter.threshold for field in empty]
                        found, total = 0, 0
                        for field in halos:
                            truth = field.diffuse_sky > 3 * field.rms
                            hits = np.nan_to_num(segmenter.predict_probability(
                                simulated_plane(field))) > segmenter.threshold
                            found += int(hits[truth].sum())
                            total += int(truth.sum())
                finally:
                    model_input.card_for_input = scaled
                recall = f"{100 * found / total:.1f}" if total else "-"
                print(f"| {weights} | {beam:g}\" | {mode} | "
                      f"{100 * np.mean([m.mean() for m in marked]):.2f} | {recall} |", flush=True)


if __name__ == "__main__":
    main()
