"""``radiounet evaluate``: measure a model on freshly simulated tiles."""

from .options import (CommandError, add_parallel_options, add_threshold_option,
                      add_weights_option, local_parallel)

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``evaluate`` command."""
    parser = subparsers.add_parser(
        "evaluate", help="measure a model on freshly simulated tiles",
        description="Pixel-level IoU, Dice, precision and recall of a model on simulated "
                    "tiles it never saw, made with the recipe in its model card.")
    add_weights_option(parser)
    parser.add_argument("--n-tiles", type=int, default=200, help="test tiles (default 200)")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the test tiles")
    add_parallel_options(parser)
    add_threshold_option(parser)
    parser.add_argument("--n-fields", type=int, default=0,
                        help="also measure the detection ratio on this many simulated "
                             "cluster fields (DE and NDE) and print the ROC AUC")
    parser.set_defaults(handler=run)
    return parser


def _print_metrics(title, metrics):
    width = max(len("metric"), *(len(name) for name in metrics))
    print(f"\n{title}\n| {'metric':{width}s} | {'value':>9s} |")
    print(f"|{'-' * (width + 2)}|{'-' * 11}|")
    for name, value in metrics.items():
        print(f"| {name:{width}s} | {value:9.4g} |")


def run(args):
    """Run ``radiounet evaluate``."""
    from ..evaluation.simulated import evaluate_clusters, evaluate_pixels, format_cluster_summary

    if args.n_fields < 0:
        raise CommandError(f"--n-fields must be 0 (no cluster fields) or positive; got "
                           f"{args.n_fields}")
    try:
        metrics = evaluate_pixels(args.weights, n_tiles=args.n_tiles, seed=args.seed,
                                  parallel=local_parallel(args), threshold=args.threshold)
        _print_metrics(f"Pixel level, {args.n_tiles} simulated tiles (seed {args.seed})",
                       metrics)
        if args.n_fields:
            _, summary = evaluate_clusters(args.weights, n_fields=args.n_fields,
                                           seed=args.seed + 1, progress_bar=True)
            print(f"\nCluster level: detection ratio R in 2.2 R500 around the central "
                  f"cluster of {args.n_fields} simulated fields (seed {args.seed + 1}): "
                  f"{summary['n_de']} DE, {summary['n_nde']} NDE, {summary['n_faint']} "
                  f"with diffuse emission too faint to see (left out); thresholds "
                  f"maximise the balanced accuracy on these fields.")
            print(format_cluster_summary(summary))
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    return 0
