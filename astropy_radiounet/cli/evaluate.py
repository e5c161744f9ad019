"""``radiounet evaluate``: measure models on freshly simulated tiles and fields."""

import argparse
import math

from .options import (WEIGHTS_HELP, CommandError, add_parallel_options, add_progress_option,
                      add_threshold_option, add_weights_option, local_parallel)

__all__ = ["add_parser", "run"]


def _beam(text):
    """A value of --beams: a number of arcsec (checked in `run`)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a beam FWHM in arcsec, e.g. 20; got "
                                         f"{text!r}") from None


def add_parser(subparsers):
    """Add the ``evaluate`` command."""
    parser = subparsers.add_parser(
        "evaluate", help="measure models on freshly simulated tiles and fields",
        description="Pixel-level IoU, Dice, precision and recall of models on simulated "
                    "tiles they never saw, made with the recipe in each model card; with "
                    "--n-fields, the detection ratio around simulated clusters; with "
                    "--confuser-fields, the area of each kind of confuser marked as "
                    "diffuse emission at several input beams.  Several models (--weights "
                    "A B ...) are measured on the same fields and printed side by side.")
    add_weights_option(parser, several=True, help=WEIGHTS_HELP)
    parser.add_argument("--n-tiles", type=int, default=200,
                        help="test tiles per model (default 200; 0: no pixel-level metrics)")
    parser.add_argument("--sky", choices=("lotss", "v0.2"), default=None,
                        help="simulate the test tiles of every model on this sky instead of "
                             "the one its recipe records, to compare models trained on "
                             "different skies on the same tiles")
    parser.add_argument("--seed", type=int, default=12345,
                        help="seed of the test tiles (the cluster fields use seed + 1, the "
                             "confuser fields seed + 2)")
    add_parallel_options(parser)
    add_threshold_option(parser)
    parser.add_argument("--n-fields", type=int, default=0,
                        help="also measure the detection ratio on this many simulated "
                             "cluster fields (DE and NDE) and print the ROC AUC")
    parser.add_argument("--confuser-fields", type=int, default=0, metavar="N",
                        help="also measure the area marked diffuse on each kind of confuser "
                             "(radio galaxies, compact sources, artefacts, noise) in N "
                             "simulated fields without diffuse emission per beam (default 0: "
                             "skip)")
    parser.add_argument("--beams", type=_beam, nargs="+", default=[6.0, 20.0, 45.0, 60.0],
                        metavar="ARCSEC",
                        help="input beams of the confuser fields, FWHM in arcsec, pixels of a "
                             "quarter beam (default: 6 20 45 60)")
    parser.add_argument("--confuser-size", type=int, default=2048, metavar="PIXELS",
                        help="side of the confuser fields in 1.5 arcsec pixels, the same sky "
                             "at every beam (default 2048, 51.2 arcmin)")
    add_progress_option(parser)
    parser.set_defaults(handler=run)
    return parser


def _check_counts(args):
    """Refuse negative counts and beams that are not positive, naming the fix."""
    from ..evaluation.confusers import field_shapes

    for option, value, what in (("--n-tiles", args.n_tiles, "no pixel-level metrics"),
                                ("--n-fields", args.n_fields, "no cluster fields"),
                                ("--confuser-fields", args.confuser_fields,
                                 "no confuser fields")):
        if value < 0:
            raise CommandError(f"{option} must be 0 ({what}) or positive; got {value}")
    if not (args.n_tiles or args.n_fields or args.confuser_fields):
        raise CommandError("nothing to measure: give --n-tiles, --n-fields or "
                           "--confuser-fields a positive count")
    bad = [beam for beam in args.beams if not (math.isfinite(beam) and beam > 0)]
    if bad:
        raise CommandError(f"--beams must be positive beam sizes in arcsec, e.g. --beams 6 "
                           f"20 45 60; got {' '.join(f'{beam:g}' for beam in bad)}")
    if args.confuser_fields:
        try:
            field_shapes((args.confuser_size, args.confuser_size), args.beams)
        except ValueError:
            smallest = math.ceil(16 * max(args.beams) / 6)
            raise CommandError(f"--confuser-size {args.confuser_size} makes fields of fewer "
                               f"than 16 pixels at the {max(args.beams):g} arcsec beam; use "
                               f"--confuser-size {smallest} or more, or smaller --beams") \
                from None


def _pixel_level(args, progress):
    """The pixel-level metrics of each model, as one table."""
    from ..evaluation._comparison import markdown_table, model_labels
    from ..evaluation.simulated import evaluate_pixels

    results = [evaluate_pixels(weights, n_tiles=args.n_tiles, seed=args.seed,
                               parallel=local_parallel(args), threshold=args.threshold,
                               progress_bar=progress, sky=args.sky)
               for weights in args.weights]
    labels = model_labels(args.weights, [None] * len(args.weights))
    names = list(dict.fromkeys(name for metrics in results for name in metrics))
    rows = [[name, *("-" if name not in metrics else f"{metrics[name]:.4g}"
                     for metrics in results)] for name in names]
    sky = "training recipe" if args.sky is None else f"training recipe on the {args.sky!r} sky"
    print(f"\nPixel level, {args.n_tiles} simulated tiles (seed {args.seed}) of each model's "
          f"{sky}")
    print(markdown_table(["metric", *labels], rows))


def _cluster_level(args, progress):
    from ..evaluation.simulated import evaluate_clusters, format_cluster_summary

    _, summary = evaluate_clusters(list(args.weights), n_fields=args.n_fields,
                                   seed=args.seed + 1, progress_bar=progress)
    print(f"\nCluster level: detection ratio R in 2.2 R500 around the central cluster of "
          f"{args.n_fields} simulated fields (seed {args.seed + 1}): {summary['n_de']} DE, "
          f"{summary['n_nde']} NDE ({summary['n_nde_hosts']} hosting a radio galaxy), "
          f"{summary['n_faint']} with diffuse emission too faint to see (left out); "
          f"thresholds maximise the balanced accuracy on these fields, except the card's "
          f"threshold on R, at which the false-positive rate is measured.")
    for label in summary["models"]:
        if summary[label].get("card_threshold") is None:
            print(f"The card of {label} gives no detection-ratio threshold: its "
                  f"false-positive rate is at the balanced-accuracy threshold (*).")
    print(format_cluster_summary(summary))


def _confusers(args, progress):
    import astropy.units as u

    from ..evaluation.confusers import evaluate_confusers, format_confuser_table

    size = args.confuser_size
    table = evaluate_confusers(list(args.weights), n_fields=args.confuser_fields,
                               seed=args.seed + 2, beams=args.beams * u.arcsec,
                               shape=(size, size), progress_bar=progress)
    fields = f"{args.confuser_fields} simulated field{'s' if args.confuser_fields > 1 else ''}"
    print(f"\nArea marked diffuse, per cent of each confuser, on {fields} per beam without "
          f"diffuse emission (seed {args.seed + 2}; "
          f"{size * 1.5 / 60:.3g} arcmin on a side, pixels of a quarter beam; each model "
          f"at its own threshold)")
    print(format_confuser_table(table))


def run(args):
    """Run ``radiounet evaluate``."""
    _check_counts(args)
    progress = not args.no_progress
    try:
        if args.n_tiles:
            _pixel_level(args, progress)
        if args.n_fields:
            _cluster_level(args, progress)
        if args.confuser_fields:
            _confusers(args, progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    return 0
