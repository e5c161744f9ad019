"""``radiounet classify``: classify catalogued clusters from survey mosaics."""

import sys
from pathlib import Path

import astropy.units as u

from .options import (CommandError, add_catalog_options, add_model_options,
                      add_output_dir_option, add_parallel_options, add_progress_option,
                      catalog_from_args, check_files_exist, scale_out, segmenter_from_args)

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``classify`` command."""
    parser = subparsers.add_parser(
        "classify", help="classify catalogued clusters from survey mosaics",
        description="Measure the detection ratio in 2.2 R500 around every cluster of a "
                    "catalogue, on the mosaic that best covers it. Resumable: rerunning "
                    "with the same --output-dir skips clusters already done.")
    parser.add_argument("--catalog", required=True,
                        help="cluster catalogue (ECSV, FITS, VOTable, CSV)")
    parser.add_argument("--images", nargs="+", required=True, metavar="MOSAIC",
                        help="FITS mosaics")
    add_output_dir_option(parser, "radiounet-classify")
    add_catalog_options(parser)
    parser.add_argument("--factor", type=float, default=2.2,
                        help="aperture radius in units of R500 (default: 2.2)")
    parser.add_argument("--ratio-threshold", type=float, default=None,
                        help="detection-ratio threshold (default: the model card's)")
    add_model_options(parser)
    parser.add_argument("--products", action="store_true",
                        help="write a probability cutout, overlay and region per cluster "
                             "(with --measure also the compact-subtracted cutout)")
    measure = parser.add_argument_group(
        "measurements", "physical numbers for every cluster (flux density, power, size, "
                        "profile) and upper limits for those without a detection")
    measure.add_argument("--measure", action="store_true",
                         help="measure the diffuse emission inside the segments overlapping "
                              "the aperture, compact sources subtracted; also writes "
                              "power_mass.png")
    measure.add_argument("--upper-limits", action="store_true",
                         help="inject mock halos into the clusters without a detection to "
                              "find the flux density detected half of the time")
    measure.add_argument("--flux-scale-error", type=float, default=0.1,
                         help="fractional flux-scale error (default: 0.1, LoTSS)")
    measure.add_argument("--alpha", type=float, default=-1.3,
                         help="spectral index of the k-correction to 150 MHz (default: -1.3)")
    measure.add_argument("--frequency", type=float, default=144.0, metavar="MHZ",
                         help="observed frequency of the mosaics in MHz (default: 144)")
    measure.add_argument("--limit-segmentations", type=int, default=10, metavar="N",
                         help="segmentations per upper limit (default: 10)")
    add_parallel_options(parser, dask=True)
    add_progress_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Run ``radiounet classify``."""
    from ..survey.classify import classify_clusters

    catalog = catalog_from_args(args)
    check_files_exist(args.images)
    segmenter = segmenter_from_args(args)
    try:
        with scale_out(args) as parallel:
            table, counts = classify_clusters(
                catalog, args.images, output_dir=args.output_dir, segmenter=segmenter,
                factor=args.factor, ratio_threshold=args.ratio_threshold,
                products=args.products, measure=args.measure,
                upper_limits=args.upper_limits, flux_scale_error=args.flux_scale_error,
                alpha=args.alpha, frequency=args.frequency * u.MHz,
                limit_segmentations=args.limit_segmentations, parallel=parallel,
                progress_bar=not args.no_progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"{len(table)} clusters in {Path(args.output_dir) / 'clusters_classified.ecsv'}: "
          f"{counts['done']} done now, {counts['skipped']} done before, "
          f"{counts['failed']} failed, {counts['off_footprint']} off the footprint, "
          f"{counts['no_redshift']} without redshift, {counts['no_size']} without R500 or "
          f"M500 ({counts['seconds']:.0f} s)", file=sys.stderr)
    if args.measure and len(table):
        print(f"measurements in the table; radio power against mass in "
              f"{Path(args.output_dir) / 'power_mass.png'}", file=sys.stderr)
    return 0
