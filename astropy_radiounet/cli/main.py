"""
The ``radiounet`` command.

``radiounet segment IMAGE...`` writes, for each image, into the output
directory:

* ``<stem>_probability.fits``: the probability map, with the input's WCS;
* ``<stem>_segmentation.fits``: the segment labels, with the input's WCS;
* ``<stem>_segments.reg``: the segment outlines as a DS9 region file;
* ``<stem>_overlay.png``: the image with probability contours and outlines.

``radiounet simulate`` makes synthetic LoTSS-like data: one field
(``field``), a training set of (image, mask) pairs (``training-set``) or a
sample of cluster fields with its catalogue (``clusters``).

``radiounet train`` trains a model on simulated fields, ``radiounet
evaluate`` measures one on fresh simulated tiles and ``radiounet calibrate``
refits its probability calibration on them.

``radiounet classify`` measures the detection ratio around every cluster of a
catalogue on the survey mosaics covering it.

``radiounet search`` segments whole mosaics and catalogues the candidates.

``radiounet backbones`` lists the registered backbones.
"""

import argparse
import contextlib
import logging
import sys
import time
import warnings
from pathlib import Path

from ..exceptions import OutputExistsError
from ..utils.files import atomic_write

__all__ = ["main"]

log = logging.getLogger("astropy_radiounet.cli")

OUTPUT_SUFFIXES = ("_probability.fits", "_segmentation.fits", "_segments.reg", "_overlay.png")


class CommandError(Exception):
    """A problem to report to the user, without a traceback."""


WEIGHTS_HELP = "'default', or a model card (.json) or .weights.h5 file"


def _add_model_options(parser):
    """--backbone and --weights, shared by the commands that run a model."""
    parser.add_argument("--backbone", default="unet", help="backbone name (default: unet)")
    parser.add_argument("--weights", default="default", help=WEIGHTS_HELP)


def _add_catalog_options(parser):
    """--column and --unit, shared by the commands that read a cluster catalogue."""
    parser.add_argument("--column", action="append", default=[], metavar="KEY=NAME",
                        help="map a catalogue column, e.g. --column m500=MSZ (keys: name, "
                             "ra, dec, z, m500, r500)")
    parser.add_argument("--unit", action="append", default=[], metavar="KEY=UNIT",
                        help="unit of a unit-less column, e.g. --unit 'm500=1e14 solMass'")


def _add_segment_parser(subparsers):
    parser = subparsers.add_parser(
        "segment", help="segment diffuse emission in FITS images",
        description="Segment diffuse radio emission in FITS images and write, per image, the "
                    "probability map and segmentation (FITS with the input's WCS), a DS9 "
                    "region file of the segments and a PNG overlay.")
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="FITS images")
    parser.add_argument("--example", action="store_true",
                        help="segment the example field shipped with the package")
    parser.add_argument("-o", "--output-dir", default=".", help="output directory (default: .)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="probability threshold (default: the model card's)")
    parser.add_argument("--n-pixels", type=int, default=None,
                        help="minimum segment size in pixels (default: one model beam)")
    _add_model_options(parser)
    parser.add_argument("--tile-size", type=int, default=768,
                        help="tile size on the model grid, halo included (default: 768)")
    parser.add_argument("--batch-size", type=int, default=4, help="tiles per batch (default: 4)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(handler=_segment)


def _add_field_options(parser):
    """Options of the simulated sky and instrument shared by the simulate commands."""
    group = parser.add_argument_group("sky and instrument")
    group.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    group.add_argument("--pixel-scale", type=float, default=1.5,
                       help="pixel size in arcsec (default: 1.5, as LoTSS)")
    group.add_argument("--beam", type=float, default=6.0,
                       help="restoring beam FWHM in arcsec (default: 6, as LoTSS)")
    group.add_argument("--noise", type=float, default=70.0,
                       help="noise rms in uJy/beam (default: 70)")
    group.add_argument("--n-clusters", type=int, default=None,
                       help="galaxy clusters per field (default: 1 for a field; drawn "
                            "from 0, 1, 1, 2 for each training pair, so that negatives "
                            "are common)")
    group.add_argument("--no-artefacts", action="store_true",
                       help="leave out the imaging artefacts")
    group.add_argument("--blank-edges", action="store_true",
                       help="blank (NaN) the field edges as at a mosaic boundary")


def _add_simulate_parser(subparsers):
    parser = subparsers.add_parser(
        "simulate", help="make synthetic LoTSS-like fields, training sets or cluster samples",
        description="Simulate LoTSS-like radio fields with diffuse sources and their truth.")
    kinds = parser.add_subparsers(title="what to simulate", metavar="KIND")

    field = kinds.add_parser("field", help="one field: image, sky model, mask, catalogue")
    field.add_argument("prefix", help="output prefix, e.g. out/field1")
    field.add_argument("--shape", type=int, nargs=2, default=(1024, 1024), metavar=("NY", "NX"))
    field.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    _add_field_options(field)
    field.set_defaults(handler=_simulate_field)

    training = kinds.add_parser("training-set", help="(image, mask) pairs in .npz shards")
    training.add_argument("directory", help="output directory")
    training.add_argument("--n-pairs", type=int, required=True, help="number of pairs")
    training.add_argument("--tile-size", type=int, default=256, help="pair size (default 256)")
    training.add_argument("--processes", type=int, default=1, help="worker processes")
    training.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    training.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_field_options(training)
    training.set_defaults(handler=_simulate_training_set)

    clusters = kinds.add_parser("clusters", help="cluster-centred fields and their catalogue")
    clusters.add_argument("directory", help="output directory")
    clusters.add_argument("--n-fields", type=int, required=True, help="number of fields")
    clusters.add_argument("--shape", type=int, nargs=2, default=(512, 512),
                          metavar=("NY", "NX"))
    clusters.add_argument("--processes", type=int, default=1, help="worker processes")
    clusters.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    clusters.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_field_options(clusters)
    clusters.set_defaults(handler=_simulate_clusters)
    parser.set_defaults(handler=lambda args: _help(parser))


def _help(parser):
    parser.print_help()
    return 2


def _field_kwargs(args):
    import astropy.units as u

    keywords = dict(pixel_scale=args.pixel_scale * u.arcsec, beam=args.beam * u.arcsec,
                    noise=args.noise * u.uJy / u.beam, artefacts=not args.no_artefacts,
                    blank_edges=args.blank_edges)
    if args.n_clusters is not None:
        keywords["n_clusters"] = args.n_clusters
    return keywords


def _simulation_errors(function):
    """Report bad simulation options as command errors."""
    def wrapped(args):
        try:
            return function(args)
        except OutputExistsError:
            raise  # main() words it with the command's options
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc

    return wrapped


@_simulation_errors
def _simulate_field(args):
    import astropy.units as u

    from ..simulation import simulate_field

    Path(args.prefix).parent.mkdir(parents=True, exist_ok=True)
    field = simulate_field(tuple(args.shape), seed=args.seed, **_field_kwargs(args))
    paths = field.write(args.prefix, overwrite=args.overwrite)
    print(f"noise {field.noise_level.to(u.uJy / u.beam):.1f}, {len(field.clusters)} cluster(s), "
          f"mask covers {field.mask.mean():.1%} -> "
          f"{', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


@_simulation_errors
def _simulate_training_set(args):
    from ..simulation import write_training_set

    table = write_training_set(args.directory, args.n_pairs,
                               tile_shape=(args.tile_size, args.tile_size), seed=args.seed,
                               n_processes=args.processes, progress_bar=not args.no_progress,
                               overwrite=args.overwrite, **_field_kwargs(args))
    print(f"{len(table)} pairs -> {args.directory}", file=sys.stderr)
    return 0


@_simulation_errors
def _simulate_clusters(args):
    from ..simulation import write_cluster_sample

    catalogue = write_cluster_sample(args.directory, args.n_fields, shape=tuple(args.shape),
                                     seed=args.seed, n_processes=args.processes,
                                     progress_bar=not args.no_progress,
                                     overwrite=args.overwrite, **_field_kwargs(args))
    print(f"{len(catalogue)} cluster fields -> {args.directory}", file=sys.stderr)
    return 0


def _add_train_parsers(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model on simulated fields",
        description="Train a backbone on simulated LoTSS-like fields and write a model "
                    "directory: weights, model card, config and training curves.")
    parser.add_argument("config", nargs="?", help="training config (JSON), or a model card "
                                                  "to retrain with its recorded recipe; the "
                                                  "default recipe when left out")
    parser.add_argument("-o", "--output-dir", default="radiounet-model",
                        help="output directory (default: radiounet-model)")
    parser.add_argument("--processes", type=int, default=1,
                        help="processes simulating the training data (default: 1)")
    parser.add_argument("--cache-dir", default=None,
                        help="keep the simulated tiles here, keyed by the data recipe, so "
                             "that another run with the same data recipe reuses them")
    parser.add_argument("--print-config", action="store_true",
                        help="print the config (default recipe if none given) and stop")
    parser.add_argument("--no-progress", action="store_true", help="hide progress output")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a model of the same name in the output directory")
    parser.set_defaults(handler=_train)

    evaluate = subparsers.add_parser(
        "evaluate", help="measure a model on freshly simulated tiles",
        description="Pixel-level IoU, Dice, precision and recall of a model on simulated "
                    "tiles it never saw, made with the recipe in its model card.")
    evaluate.add_argument("--weights", default="default", help=WEIGHTS_HELP)
    evaluate.add_argument("--n-tiles", type=int, default=200, help="test tiles (default 200)")
    evaluate.add_argument("--seed", type=int, default=12345, help="seed of the test tiles")
    evaluate.add_argument("--processes", type=int, default=1, help="simulating processes")
    evaluate.add_argument("--threshold", type=float, default=None,
                          help="probability threshold (default: the model card's)")
    evaluate.add_argument("--n-fields", type=int, default=0,
                          help="also measure the detection ratio on this many simulated "
                               "cluster fields (DE and NDE) and print the ROC AUC")
    evaluate.set_defaults(handler=_evaluate)

    calibrate = subparsers.add_parser(
        "calibrate", help="fit a model's probability calibration on simulated tiles",
        description="Fit the centred isotonic map from a model's raw output to calibrated "
                    "probability on freshly simulated tiles made with the recipe in its "
                    "card, and store it in the card (rewritten in place).")
    calibrate.add_argument("--weights", required=True,
                           help="model card (.json) or .weights.h5 to calibrate")
    calibrate.add_argument("--n-tiles", type=int, default=300, help="tiles (default 300)")
    calibrate.add_argument("--seed", type=int, default=4242, help="seed of the tiles")
    calibrate.add_argument("--processes", type=int, default=1, help="simulating processes")
    calibrate.set_defaults(handler=_calibrate)


def _calibrate(args):
    from ..training.fit import calibrate

    try:
        card = calibrate(args.weights, n_tiles=args.n_tiles, seed=args.seed,
                         n_processes=args.processes, progress_bar=True)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"calibration written to {card.path}; the card's metrics and detection-ratio "
          f"threshold predate it: remeasure them (benchmarks/model_quality.py)",
          file=sys.stderr)
    return 0


def _train(args):
    import json
    from dataclasses import asdict

    from ..training.config import TrainingConfig
    from ..training.fit import train

    try:
        config = TrainingConfig.read(args.config) if args.config else TrainingConfig()
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError(f"cannot use the training config: {exc}") from exc
    if args.print_config:
        print(json.dumps(asdict(config), indent=2))
        return 0
    try:
        card_path = train(config, args.output_dir, n_processes=args.processes,
                          progress_bar=not args.no_progress, cache_dir=args.cache_dir,
                          overwrite=args.overwrite)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"model card: {card_path}", file=sys.stderr)
    return 0


def _print_metrics(title, metrics):
    width = max(len("metric"), *(len(name) for name in metrics))
    print(f"\n{title}\n| {'metric':{width}s} | {'value':>9s} |")
    print(f"|{'-' * (width + 2)}|{'-' * 11}|")
    for name, value in metrics.items():
        print(f"| {name:{width}s} | {value:9.4g} |")


def _evaluate(args):
    from ..evaluation.simulated import evaluate_clusters, evaluate_pixels, format_cluster_summary

    try:
        metrics = evaluate_pixels(args.weights, n_tiles=args.n_tiles, seed=args.seed,
                                  n_processes=args.processes, threshold=args.threshold)
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


def _add_classify_parser(subparsers):
    parser = subparsers.add_parser(
        "classify", help="classify catalogued clusters from survey mosaics",
        description="Measure the detection ratio in 2.2 R500 around every cluster of a "
                    "catalogue, on the mosaic that best covers it. Resumable: rerunning "
                    "with the same --output-dir skips clusters already done.")
    parser.add_argument("--catalog", required=True,
                        help="cluster catalogue (ECSV, FITS, VOTable, CSV)")
    parser.add_argument("--images", nargs="+", required=True, metavar="MOSAIC",
                        help="FITS mosaics")
    parser.add_argument("-o", "--output-dir", default="radiounet-classify",
                        help="output directory (default: radiounet-classify)")
    _add_catalog_options(parser)
    parser.add_argument("--factor", type=float, default=2.2,
                        help="aperture radius in units of R500 (default: 2.2)")
    parser.add_argument("--ratio-threshold", type=float, default=None,
                        help="detection-ratio threshold (default: the model card's)")
    _add_model_options(parser)
    parser.add_argument("--products", action="store_true",
                        help="write a probability cutout, overlay and region per cluster")
    _add_scale_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=_classify)


def _add_scale_options(parser):
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--workers", type=int, default=0,
                       help="start a local dask cluster with this many worker processes")
    scale.add_argument("--scheduler", default=None,
                       help="address of a running dask scheduler (e.g. tcp://host:8786)")


def _key_values(items, option):
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise CommandError(f"{option} {item!r} must be KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def _dask_client(args):
    """A dask.distributed client for --workers or --scheduler, or None."""
    if not (args.workers or args.scheduler):
        return None
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise CommandError("--workers and --scheduler need dask.distributed: "
                           "pip install 'astropy_radiounet[distributed]'") from exc
    if args.scheduler:
        try:
            return Client(args.scheduler, timeout="20s")
        except OSError as exc:
            raise CommandError(f"cannot reach the dask scheduler {args.scheduler}: {exc}") \
                from exc
    # One compute thread per worker process (dask sets OMP_NUM_THREADS=1; the
    # TensorFlow thread pools need their own variables), so N workers use N cores.
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None,
                           env={"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"})
    return Client(cluster)


@contextlib.contextmanager
def _scale_out(args):
    """The ``parallel=`` of --workers/--scheduler; the dask client lives for the block."""
    client = _dask_client(args)
    try:
        yield "current-scheduler" if client is not None else False
    finally:
        if client is not None:
            cluster = client.cluster  # the LocalCluster of --workers, None for --scheduler
            client.close()
            if cluster is not None:
                cluster.close()


def _classify(args):
    from ..survey.classify import SegmenterSettings, classify_clusters

    catalog = _catalog_from_args(args)
    missing = [path for path in args.images if not Path(path).is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    settings = SegmenterSettings(backbone=args.backbone, weights=args.weights)
    try:
        with _scale_out(args) as parallel:
            table, counts = classify_clusters(
                catalog, args.images, output_dir=args.output_dir, settings=settings,
                factor=args.factor, ratio_threshold=args.ratio_threshold,
                products=args.products, parallel=parallel, progress_bar=not args.no_progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"{len(table)} clusters in {Path(args.output_dir) / 'clusters_classified.ecsv'}: "
          f"{counts['done']} done now, {counts['skipped']} done before, "
          f"{counts['failed']} failed, {counts['off_footprint']} off the footprint, "
          f"{counts['no_redshift']} without redshift, {counts['no_size']} without R500 or "
          f"M500 ({counts['seconds']:.0f} s)", file=sys.stderr)
    return 0


def _add_search_parser(subparsers):
    parser = subparsers.add_parser(
        "search", help="blind search for diffuse emission over whole mosaics",
        description="Segment whole mosaics and catalogue the diffuse-emission candidates "
                    "(position, area, flux density, surface brightness, probability, nearest "
                    "catalogued cluster in R500). Resumable per mosaic.")
    parser.add_argument("images", nargs="+", metavar="MOSAIC", help="FITS mosaics")
    parser.add_argument("-o", "--output-dir", default="radiounet-search",
                        help="output directory (default: radiounet-search)")
    parser.add_argument("--catalog", default=None,
                        help="cluster catalogue, to give each candidate its nearest cluster")
    _add_catalog_options(parser)
    parser.add_argument("--threshold", type=float, default=None,
                        help="probability threshold (default: the model card's)")
    parser.add_argument("--n-pixels", type=int, default=None,
                        help="minimum candidate size in pixels (default: one model beam)")
    _add_model_options(parser)
    _add_scale_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(handler=_search)


def _catalog_from_args(args):
    import astropy.units as u

    from ..clusters.catalogs import read_cluster_catalog

    columns = _key_values(args.column, "--column")
    try:
        units = {key: u.Quantity(value) for key, value in
                 _key_values(args.unit, "--unit").items()}
        return read_cluster_catalog(args.catalog, columns=columns, units=units)
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def _search(args):
    from ..survey.search import search_mosaics
    from ..survey.classify import SegmenterSettings, segmenter_for

    missing = [path for path in args.images if not Path(path).is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    clusters = _catalog_from_args(args) if args.catalog else None
    settings = SegmenterSettings(backbone=args.backbone, weights=args.weights,
                                 threshold=args.threshold, n_pixels=args.n_pixels)
    try:
        segmenter_for(settings)  # a bad model or option is reported before any work
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    try:
        with _scale_out(args) as parallel:
            table, summary = search_mosaics(args.images, settings, args.output_dir,
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


def _add_backbones_parser(subparsers):
    parser = subparsers.add_parser("backbones", help="list the registered backbones")
    parser.set_defaults(handler=_backbones)


def build_parser():
    """The argument parser of the ``radiounet`` command."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="radiounet",
        description="Find faint diffuse radio emission in survey images with a U-Net.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_segment_parser(subparsers)
    _add_simulate_parser(subparsers)
    _add_train_parsers(subparsers)
    _add_classify_parser(subparsers)
    _add_search_parser(subparsers)
    _add_backbones_parser(subparsers)
    return parser


def _backbones(args):
    from ..backbones import available_backbones
    from ..models.pretrained import default_weights

    for name, spec in available_backbones().items():
        weights = "default weights shipped" if default_weights(name) else "no default weights"
        print(f"{name:20s} {spec.description} [{weights}]")
    return 0


def _image_paths(args):
    paths = [Path(p) for p in args.images]
    if args.example:
        from ..data import example_field_path

        paths.insert(0, example_field_path())
    if not paths:
        raise CommandError("no images given: name FITS files, or use --example")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    from ..survey.search import _shared_stems, image_stem

    shared = _shared_stems(paths)
    if shared:
        names = sorted({image_stem(path) for group in shared for path in group})
        raise CommandError(f"several images share the name {names}: their "
                           f"outputs would overwrite each other; segment them separately")
    return [(path, image_stem(path)) for path in paths]


def _outputs(output_dir, stem):
    return [output_dir / f"{stem}{suffix}" for suffix in OUTPUT_SUFFIXES]


def _segment(args):
    from tqdm.auto import tqdm

    from ..segmentation.segmenter import RadioUNetSegmenter

    images = _image_paths(args)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if not args.overwrite:
        existing = [p for _, stem in images for p in _outputs(output_dir, stem) if p.exists()]
        if existing:
            raise OutputExistsError(existing)
    try:
        segmenter = RadioUNetSegmenter(
            args.n_pixels, threshold=args.threshold, backbone=args.backbone,
            weights=args.weights, tile_shape=(args.tile_size, args.tile_size),
            batch_size=args.batch_size, progress_bar=not args.no_progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"model: {segmenter.card.name}", file=sys.stderr)
    failed = 0
    for path, stem in tqdm(images, desc="images", unit="image",
                           disable=args.no_progress or len(images) < 2):
        start = time.perf_counter()
        try:
            summary = segment_file(segmenter, path, output_dir, stem)
        except (ValueError, TypeError, OSError) as exc:
            failed += 1
            print(f"radiounet: {path}: {exc}", file=sys.stderr)
            continue
        print(f"{path}: {summary} ({time.perf_counter() - start:.1f} s) -> "
              f"{output_dir / stem}_*", file=sys.stderr)
    return 1 if failed else 0


def segment_file(segmenter, path, output_dir, stem):
    """
    Segment one FITS image and write the four outputs.

    Returns
    -------
    summary : str
        One line describing what was found.
    """
    import numpy as np
    from astropy.io import fits
    from photutils.utils import NoDetectionsWarning

    from ..image.read import read_image
    from ..segmentation.outlines import segment_regions
    from ..visualization import plot_overlay

    plane = read_image(path)
    probability = segmenter.predict_probability(plane)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoDetectionsWarning)
        segments = segmenter.segment(probability, wcs=plane.wcs, beam=plane.beam)
    header = plane.wcs.to_header() if plane.wcs is not None else fits.Header()
    header["ORIGIN"] = "astropy_radiounet"
    header["MODEL"] = segmenter.card.name[:68]  # the model that made the map
    header["THRESH"] = (segmenter.threshold, "probability threshold of the segments")
    probability_path, segmentation_path, regions_path, png_path = _outputs(output_dir, stem)
    _write_atomic(fits.PrimaryHDU(probability, header=header), probability_path)
    labels = np.zeros(plane.shape, dtype=np.int32) if segments is None else segments.data
    _write_atomic(fits.PrimaryHDU(labels.astype(np.int32), header=header), segmentation_path)
    if segments is None:
        regions_path.write_text("# Region file format: DS9\n# no segments found\n")
    else:
        segment_regions(segments, wcs=plane.wcs).write(regions_path, format="ds9",
                                                       overwrite=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_overlay(np.asarray(plane.data, dtype=np.float32), probability, wcs=plane.wcs,
                      segment_image=segments, threshold=segmenter.threshold,
                      title=f"{stem}: diffuse-emission probability")
    ax.figure.savefig(png_path, dpi=110, bbox_inches="tight")
    plt.close(ax.figure)
    n_segments = 0 if segments is None else segments.n_labels
    return f"{n_segments} segment{'s' if n_segments != 1 else ''}"


def _write_atomic(hdu, path):
    """Write a FITS file through a temporary name, so no partial file is left."""
    with atomic_write(path) as temporary:
        hdu.writeto(temporary, overwrite=True)


def _exists_message(exc):
    """What the command line says of outputs that exist: its options, not keywords."""
    listed = ", ".join(exc.paths[:4]) + (", ..." if len(exc.paths) > 4 else "")
    return (f"outputs exist already ({listed}); use --overwrite to replace them or choose "
            f"another output directory")


def main(argv=None):
    """Run the ``radiounet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except OutputExistsError as exc:
        print(f"radiounet: error: {_exists_message(exc)}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"radiounet: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
