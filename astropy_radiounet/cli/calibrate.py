"""``radiounet calibrate``: refit a model's probability calibration."""

import sys

from .options import CommandError, add_parallel_options, add_weights_option, local_parallel

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``calibrate`` command."""
    parser = subparsers.add_parser(
        "calibrate", help="fit a model's probability calibration on simulated tiles",
        description="Fit the centred isotonic map from a model's raw output to calibrated "
                    "probability on freshly simulated tiles made with the recipe in its "
                    "card, and store it in the card (rewritten in place).")
    add_weights_option(parser, required=True,
                       help="model card (.json) or .weights.h5 to calibrate")
    parser.add_argument("--n-tiles", type=int, default=300, help="tiles (default 300)")
    parser.add_argument("--seed", type=int, default=4242, help="seed of the tiles")
    add_parallel_options(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Run ``radiounet calibrate``."""
    from ..training.fit import calibrate

    try:
        card = calibrate(args.weights, n_tiles=args.n_tiles, seed=args.seed,
                         parallel=local_parallel(args), progress_bar=True)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"calibration written to {card.path}; the card's metrics and detection-ratio "
          f"threshold predate it: remeasure them (benchmarks/model_quality.py)",
          file=sys.stderr)
    return 0
