"""
The options and helpers that several ``radiounet`` commands share.

Each option is defined here once; a command module adds the ones it takes
with the ``add_*`` functions.  The helpers turn the parsed options into the
objects the library takes (a segmenter, a training config, a catalogue, a
dask client) and the library's complaints into `CommandError`.
"""

import argparse
import contextlib
from pathlib import Path

__all__ = ["CommandError", "WEIGHTS_HELP", "WORKERS_HELP", "add_output_dir_option",
           "add_model_options", "add_weights_option", "add_threshold_option",
           "add_n_pixels_option", "add_catalog_options", "add_field_options",
           "add_parallel_options", "add_progress_option", "add_overwrite_option",
           "key_values", "check_files_exist", "segmenter_from_args", "training_config",
           "catalog_from_args", "field_keywords", "local_parallel", "scale_out"]


class CommandError(Exception):
    """A problem to report to the user, without a traceback."""


WEIGHTS_HELP = ("'default', a shipped version by name ('v0.2'; see 'radiounet backbones'), or "
                "a model card (.json) or .weights.h5 file")

WORKERS_HELP = ("run on N local worker processes (default: none, run in this process); "
                "--processes N is an alias")


def add_output_dir_option(parser, default):
    """-o/--output-dir, with the command's default."""
    parser.add_argument("-o", "--output-dir", default=default,
                        help=f"output directory (default: {default})")


def add_weights_option(parser, *, required=False, help=WEIGHTS_HELP, several=False):
    """
    --weights: the model to run ('default' unless ``required``); with
    ``several``, one or more models (a list, ``['default']`` by default).
    """
    if several:
        parser.add_argument("--weights", nargs="+", metavar="MODEL", required=required,
                            default=None if required else ["default"],
                            help=f"{help}; several models are measured side by side")
        return
    parser.add_argument("--weights", required=required,
                        default=None if required else "default", help=help)


def add_model_options(parser):
    """--backbone and --weights, shared by the commands that run a model."""
    parser.add_argument("--backbone", default="unet", help="backbone name (default: unet)")
    add_weights_option(parser)


def add_threshold_option(parser):
    """--threshold: the probability threshold."""
    parser.add_argument("--threshold", type=float, default=None,
                        help="probability threshold (default: the model card's)")


def add_n_pixels_option(parser, what="segment"):
    """--n-pixels: the smallest ``what`` (segment, candidate) kept."""
    parser.add_argument("--n-pixels", type=int, default=None,
                        help=f"minimum {what} size in pixels (default: one model beam)")


def add_catalog_options(parser):
    """--column and --unit, shared by the commands that read a cluster catalogue."""
    parser.add_argument("--column", action="append", default=[], metavar="KEY=NAME",
                        help="map a catalogue column, e.g. --column m500=MSZ (keys: name, "
                             "ra, dec, z, m500, r500)")
    parser.add_argument("--unit", action="append", default=[], metavar="KEY=UNIT",
                        help="unit of a unit-less column, e.g. --unit 'm500=1e14 solMass'")


def add_field_options(parser):
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
    group.add_argument("--sky", choices=("lotss", "v0.2"), default="lotss",
                       help="'lotss' (default): striped residual noise, spokes around bright "
                            "sources, radio galaxies from the LoMorph population; 'v0.2': "
                            "the sky the v0.2 model was trained on (isotropic noise, rings)")


def _worker_count(text):
    """The value of --workers: a number of processes, 0 for this process only."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of processes (>= 0); got {text!r}")
    return value


def add_parallel_options(parser, *, dask=False):
    """
    --workers N (alias --processes N), and with ``dask`` also --scheduler.

    --workers means N local worker processes for every command: a process
    pool for the commands that simulate (``parallel=N``), a local dask
    cluster of N processes for those that run on dask (``dask=True``), which
    can use a running dask scheduler (--scheduler ADDRESS) instead.
    """
    group = parser.add_argument_group("parallel processing")
    if dask:
        group = group.add_mutually_exclusive_group()
    group.add_argument("--workers", "--processes", dest="workers", type=_worker_count,
                       default=None, metavar="N", help=WORKERS_HELP)
    if dask:
        group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                           help="run on the workers of this running dask scheduler "
                                "instead (e.g. tcp://host:8786)")


def add_progress_option(parser):
    """--no-progress."""
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def add_overwrite_option(parser, help="replace existing outputs"):
    """--overwrite."""
    parser.add_argument("--overwrite", action="store_true", help=help)


def key_values(items, option):
    """``{KEY: VALUE}`` of the KEY=VALUE items given to ``option``."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise CommandError(f"{option} {item!r} must be KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def check_files_exist(paths):
    """Refuse paths that are not files."""
    missing = [str(path) for path in paths if not Path(path).is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")


def segmenter_from_args(args, **options):
    """The segmenter of --backbone and --weights (and ``options``); bad ones are reported."""
    from ..segmentation.segmenter import RadioUNetSegmenter

    try:
        return RadioUNetSegmenter(backbone=args.backbone, weights=args.weights, **options)
    except (ValueError, TypeError, OSError) as exc:
        raise CommandError(str(exc)) from exc


def training_config(path):
    """The training config of a JSON file or model card, or the default one."""
    from ..training.config import TrainingConfig

    try:
        return TrainingConfig.read(path) if path else TrainingConfig()
    except (OSError, ValueError, TypeError) as exc:
        raise CommandError(f"cannot use the training config: {exc}") from exc


def catalog_from_args(args):
    """The cluster catalogue of --catalog, --column and --unit."""
    import astropy.units as u

    from ..clusters.catalogs import read_cluster_catalog

    columns = key_values(args.column, "--column")
    try:
        units = {key: u.Quantity(value) for key, value in
                 key_values(args.unit, "--unit").items()}
        return read_cluster_catalog(args.catalog, columns=columns, units=units)
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def field_keywords(args):
    """The keywords of the simulated sky and instrument (`add_field_options`)."""
    import astropy.units as u

    from ..simulation.config import SKY_PRESETS

    keywords = dict(pixel_scale=args.pixel_scale * u.arcsec, beam=args.beam * u.arcsec,
                    noise=args.noise * u.uJy / u.beam, artefacts=not args.no_artefacts,
                    blank_edges=args.blank_edges, **SKY_PRESETS[args.sky])
    if args.n_clusters is not None:
        keywords["n_clusters"] = args.n_clusters
    return keywords


def local_parallel(args):
    """The ``parallel=`` of --workers for local processes: `False` (this process) when not given."""
    return args.workers or False


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
def scale_out(args):
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
