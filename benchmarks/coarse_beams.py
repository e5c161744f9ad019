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

``--cluster-fields N`` also measures, at each beam, the cluster level of
``radiounet evaluate`` (`~astropy_radiounet.evaluation.simulated.evaluate_clusters`:
N fields with a cluster at the centre, half of them with diffuse emission,
the same sky as N 1024 x 1024 fields of 1.5" pixels, at the beam and its
noise): the ROC AUC of R in 2.2 R500 against the truth mask's, and the
false-positive rate at each card's threshold on R of the clusters without
diffuse emission that host a radio galaxy.  The truth is at the resolution
of the first model.

Run::

    python benchmarks/coarse_beams.py                        # v0.2 and the default
    python benchmarks/coarse_beams.py --weights v0.2 --n-fields 2 --beams 45
    python benchmarks/coarse_beams.py --weights v0.2 v0.3 coarse/unet-coarse.json \
        --beams 25 45 60 90 --n-fields 3 --size 1200 --cluster-fields 100
"""

import argparse
import warnings

import astropy.units as u
import numpy as np


def _fields(args, beam):
    """The fields without diffuse emission and those of one halo, at ``beam`` arcsec."""
    from astropy_radiounet.evaluation.confusers import confuser_fields, field_shapes
    from astropy_radiounet.simulation import keywords_at_beam
    from astropy_radiounet.simulation import simulate_field

    shape = (args.size, args.size)
    empty = list(confuser_fields(args.n_fields, seed=args.seed, beam=beam * u.arcsec,
                                 shape=shape))
    halo_only = {"halo": 1.0, "relic": 0.0, "mini_halo": 0.0, "bridge": 0.0, "filament": 0.0}
    halos = [simulate_field(field_shapes(shape, [beam])[0], seed=args.seed + 100 + k,
                            **keywords_at_beam(beam * u.arcsec), n_clusters=1,
                            cluster_at_center=True, diffuse_probability=1.0,
                            diffuse_rates=halo_only)
             for k in range(args.n_fields)]
    return empty, halos


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", nargs="+", default=["v0.2", "default"])
    parser.add_argument("--n-fields", type=int, default=4)
    parser.add_argument("--size", type=int, default=1600,
                        help="field side in 1.5 arcsec pixels (the same sky at every beam)")
    parser.add_argument("--beams", type=float, nargs="+", default=[20.0, 45.0, 60.0])
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--cluster-fields", type=int, default=0,
                        help="also the cluster level on this many fields per beam")
    args = parser.parse_args()
    if args.n_fields:
        _marked(args)
    if args.cluster_fields:
        _clusters(args)


def _clusters(args):
    """The cluster level of every model at each beam (evaluate_clusters)."""
    from astropy_radiounet.evaluation.confusers import field_shapes
    from astropy_radiounet.evaluation.simulated import evaluate_clusters, format_cluster_summary
    from astropy_radiounet.simulation import keywords_at_beam

    for beam in args.beams:
        keywords = keywords_at_beam(beam * u.arcsec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, summary = evaluate_clusters(
                list(args.weights), n_fields=args.cluster_fields, seed=args.seed + 7,
                shape=field_shapes((1024, 1024), [beam])[0], field_kwargs=keywords)
        print(f"\nClusters at {beam:g}\": {summary['n_de']} DE, {summary['n_nde']} NDE "
              f"({summary['n_nde_hosts']} hosting a radio galaxy), {summary['n_faint']} faint "
              f"(seed {args.seed + 7})\n")
        print(format_cluster_summary(summary), flush=True)


def _marked(args):
    """The no-diffuse area marked and the halo pixels found, per model, beam and card."""
    from astropy_radiounet import RadioUNetSegmenter
    from astropy_radiounet.segmentation import model_input
    from astropy_radiounet.training.pairs import simulated_plane

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
