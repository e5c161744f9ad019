"""``radiounet train``: train a model on simulated fields."""

import sys

from .options import (CommandError, add_output_dir_option, add_overwrite_option,
                      add_parallel_options, add_progress_option, local_parallel, training_config)

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train", help="train a model on simulated fields",
        description="Train a backbone on simulated LoTSS-like fields and write a model "
                    "directory: weights, model card, config and training curves.")
    parser.add_argument("config", nargs="?", help="training config (JSON), or a model card "
                                                  "to retrain with its recorded recipe; the "
                                                  "default recipe when left out")
    add_output_dir_option(parser, "radiounet-model")
    add_parallel_options(parser)
    parser.add_argument("--cache-dir", default=None,
                        help="keep the simulated tiles here, keyed by the data recipe, so "
                             "that another run with the same data recipe reuses them")
    parser.add_argument("--training-set", default=None,
                        help="train on this training set (from 'radiounet simulate "
                             "training-set' with the same recipe) instead of simulating "
                             "the training pairs")
    parser.add_argument("--input-channels", nargs="+", default=None, metavar="CHANNEL",
                        help="the network's input channels, replacing the config's (e.g. "
                             "'image peak_snr': the image at the model's beam and the "
                             "full-resolution peak signal-to-noise ratio)")
    parser.add_argument("--warm-start", default=None, metavar="MODEL",
                        help="start from a trained model instead of random weights: "
                             "'default' (the shipped model) or a model card; its weights "
                             "are copied, new input channels start at zero")
    parser.add_argument("--print-config", action="store_true",
                        help="print the config (default recipe if none given) and stop")
    add_progress_option(parser)
    add_overwrite_option(parser, help="replace a model of the same name in the output "
                                      "directory")
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Run ``radiounet train``."""
    import json
    from dataclasses import asdict

    from ..training.fit import train

    config = training_config(args.config)
    try:
        if args.input_channels:
            config.input_channels = tuple(args.input_channels)
        if args.warm_start:
            config.warm_start = args.warm_start
        config.check()
    except (TypeError, ValueError) as exc:
        raise CommandError(f"cannot use the training config: {exc}") from exc
    if args.print_config:
        print(json.dumps(asdict(config), indent=2))
        return 0
    try:
        card_path = train(config, args.output_dir, parallel=local_parallel(args),
                          progress_bar=not args.no_progress, cache_dir=args.cache_dir,
                          training_set=args.training_set, overwrite=args.overwrite)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"model card: {card_path}", file=sys.stderr)
    return 0
