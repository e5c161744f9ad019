"""``radiounet search``: blind search for diffuse emission over whole mosaics."""

import sys
from pathlib import Path

from .options import (CommandError, add_catalog_options, add_model_options,
                      add_n_pixels_option, add_output_dir_option, add_parallel_options,
                      add_progress_option, add_threshold_option, catalog_from_args,
                      check_files_exist, scale_out, segmenter_from_args)

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``search`` command."""
    parser = subparsers.add_parser(
        "search", help="blind search for diffuse emission over whole mosaics",
        description="Segment whole mosaics and catalogue the diffuse-emission candidates "
                    "(position, area, flux density, surface brightness, probability, nearest "
                    "catalogued cluster in R500). Resumable per mosaic.")
    parser.add_argument("images", nargs="+", metavar="MOSAIC", help="FITS mosaics")
    add_output_dir_option(parser, "radiounet-search")
    parser.add_argument("--catalog", default=None,
                        help="cluster catalogue, to give each candidate its nearest cluster")
    add_catalog_options(parser)
    add_threshold_option(parser)
    add_n_pixels_option(parser, "candidate")
    add_model_options(parser)
    add_parallel_options(parser, dask=True)
    add_progress_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Run ``radiounet search``; 1 when some mosaic failed."""
    from ..survey.search import search_mosaics

    check_files_exist(args.images)
    clusters = catalog_from_args(args) if args.catalog else None
    segmenter = segmenter_from_args(args, n_pixels=args.n_pixels, threshold=args.threshold)
    try:
        with scale_out(args) as parallel:
            table, summary = search_mosaics(args.images, segmenter, args.output_dir,
                                            clusters=clusters, parallel=parallel,
                                            progress_bar=not args.no_progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    for path, reason in summary["failed"].items():
        print(f"radiounet: {path}: {reason}", file=sys.stderr)
    print(f"{len(table)} candidates in {Path(args.output_dir) / 'candidates.ecsv'}: "
          f"{summary['done']} mosaics searched now, {summary['skipped']} before, "
          f"{len(summary['failed'])} failed ({summary['seconds']:.0f} s)", file=sys.stderr)
    return 1 if summary["failed"] else 0
