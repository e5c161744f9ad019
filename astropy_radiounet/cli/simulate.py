"""
``radiounet simulate KIND``: synthetic LoTSS-like data.

One field (``field``), the training pairs of a recipe (``training-set``) or
a sample of cluster-centred fields with its catalogue (``clusters``).
"""

import functools
import sys
from pathlib import Path

from ..exceptions import OutputExistsError
from .options import (CommandError, add_field_options, add_overwrite_option,
                      add_parallel_options, add_progress_option, field_keywords, local_parallel,
                      training_config)

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``simulate`` command and its kinds."""
    parser = subparsers.add_parser(
        "simulate", help="make synthetic LoTSS-like fields, training sets or cluster samples",
        description="Simulate LoTSS-like radio fields with diffuse sources and their truth.")
    parser.set_defaults(handler=run, simulate_help=parser.print_help)
    kinds = parser.add_subparsers(title="what to simulate", metavar="KIND", dest="kind")

    field = kinds.add_parser("field", help="one field: image, sky model, mask, catalogue")
    field.add_argument("prefix", help="output prefix, e.g. out/field1")
    field.add_argument("--shape", type=int, nargs=2, default=(1024, 1024), metavar=("NY", "NX"))
    add_overwrite_option(field)
    add_field_options(field)

    training = kinds.add_parser(
        "training-set", help="training pairs of a recipe, for 'radiounet train --training-set'",
        description="Simulate the (input, truth) pairs of a training recipe on the model's "
                    "grid, exactly as 'radiounet train' makes them, and write them as .npz "
                    "shards with a manifest.")
    training.add_argument("directory", help="output directory")
    training.add_argument("--n-pairs", type=int, required=True, help="number of pairs")
    training.add_argument("--config", default=None,
                          help="training config (JSON) or model card whose data recipe to "
                               "use (default: the default recipe)")
    training.add_argument("--seed", type=int, default=None,
                          help="seed of the pairs (default: the recipe's training seed, so "
                               "the set holds what 'radiounet train' would simulate)")
    add_parallel_options(training)
    add_overwrite_option(training)
    add_progress_option(training)

    clusters = kinds.add_parser("clusters", help="cluster-centred fields and their catalogue")
    clusters.add_argument("directory", help="output directory")
    clusters.add_argument("--n-fields", type=int, required=True, help="number of fields")
    clusters.add_argument("--shape", type=int, nargs=2, default=(512, 512),
                          metavar=("NY", "NX"))
    add_parallel_options(clusters)
    add_overwrite_option(clusters)
    add_progress_option(clusters)
    add_field_options(clusters)
    return parser


def _simulation_errors(function):
    """Report bad simulation options as command errors."""
    @functools.wraps(function)
    def wrapped(args):
        try:
            return function(args)
        except OutputExistsError:
            raise  # main() words it with the command's options
        except (ValueError, OSError, MemoryError) as exc:
            raise CommandError(str(exc)) from exc

    return wrapped


@_simulation_errors
def _field(args):
    import astropy.units as u

    from ..simulation import simulate_field

    Path(args.prefix).parent.mkdir(parents=True, exist_ok=True)
    field = simulate_field(tuple(args.shape), seed=args.seed, **field_keywords(args))
    paths = field.write(args.prefix, overwrite=args.overwrite)
    print(f"noise {field.noise_level.to(u.uJy / u.beam):.1f}, {len(field.clusters)} cluster(s), "
          f"mask covers {field.mask.mean():.1%} -> "
          f"{', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


@_simulation_errors
def _training_set(args):
    from ..training.pairs import write_training_set

    config = training_config(args.config)
    seed = config.seed if args.seed is None else args.seed
    manifest = write_training_set(args.directory, config, args.n_pairs, seed=seed,
                                  parallel=local_parallel(args),
                                  progress_bar=not args.no_progress, overwrite=args.overwrite)
    print(f"{manifest['n']} pairs of {config.tile_size}x{config.tile_size} model pixels "
          f"({config.pixel_scale_arcsec:g} arcsec, beam {config.beam_arcsec:g} arcsec) -> "
          f"{args.directory}", file=sys.stderr)
    return 0


@_simulation_errors
def _clusters(args):
    from ..simulation import write_cluster_sample

    catalogue = write_cluster_sample(args.directory, args.n_fields, shape=tuple(args.shape),
                                     seed=args.seed, parallel=local_parallel(args),
                                     progress_bar=not args.no_progress,
                                     overwrite=args.overwrite, **field_keywords(args))
    print(f"{len(catalogue)} cluster fields -> {args.directory}", file=sys.stderr)
    return 0


_KINDS = {"field": _field, "training-set": _training_set, "clusters": _clusters}


def run(args):
    """Run ``radiounet simulate KIND``; without a kind, print the help (status 2)."""
    if args.kind is None:
        args.simulate_help()
        return 2
    return _KINDS[args.kind](args)
