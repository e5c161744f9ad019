"""
``radiounet segment IMAGE...``: segment FITS images.

Writes, for each image, into the output directory:

* ``<stem>_probability.fits``: the probability map, with the input's WCS;
* ``<stem>_segmentation.fits``: the segment labels, with the input's WCS;
* ``<stem>_segments.reg``: the segment outlines as a DS9 region file;
* ``<stem>_overlay.png``: the image with probability contours and outlines.
"""

import sys
import time
from pathlib import Path

from ..exceptions import OutputExistsError
from ..survey.products import (existing_products, image_stem, segmentation_products_state,
                               shared_stems)
from .options import (CommandError, add_model_options, add_n_pixels_option,
                      add_output_dir_option, add_overwrite_option, add_progress_option,
                      add_threshold_option, check_files_exist, segmenter_from_args)

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``segment`` command."""
    parser = subparsers.add_parser(
        "segment", help="segment diffuse emission in FITS images",
        description="Segment diffuse radio emission in FITS images and write, per image, the "
                    "probability map and segmentation (FITS with the input's WCS), a DS9 "
                    "region file of the segments and a PNG overlay.")
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="FITS images")
    parser.add_argument("--example", action="store_true",
                        help="segment the examples: the real LoTSS-DR1 field shipped with the "
                             "package, and a simulated cluster with a radio halo and radio "
                             "galaxies (written into the output directory first)")
    add_output_dir_option(parser, ".")
    add_threshold_option(parser)
    add_n_pixels_option(parser, "segment")
    add_model_options(parser)
    parser.add_argument("--tile-size", type=int, default=768,
                        help="tile size on the model grid, halo included (default: 768)")
    parser.add_argument("--batch-size", type=int, default=4, help="tiles per batch (default: 4)")
    add_overwrite_option(parser)
    add_progress_option(parser)
    parser.set_defaults(handler=run)
    return parser


def _images(args, output_dir):
    """
    (path, stem) of each image to segment; missing files and shared names are
    refused.  With ``--example`` the simulated example comes second, to be
    made by `_simulate_example` once the model has loaded.
    """
    paths = [Path(p) for p in args.images]
    check_files_exist(paths)
    if args.example:
        from ..data import SIMULATED_EXAMPLE_NAME, example_field_path

        paths[:0] = [example_field_path(), output_dir / SIMULATED_EXAMPLE_NAME]
    if not paths:
        raise CommandError("no images given: name FITS files, or use --example")
    shared = shared_stems(paths)
    if shared:
        names = sorted({image_stem(path) for group in shared for path in group})
        raise CommandError(f"several images share the name {names}: their "
                           f"outputs would overwrite each other; segment them separately")
    return [(path, image_stem(path)) for path in paths]


def _simulate_example(path):
    """Write the simulated example cluster as FITS, unless an earlier run did."""
    from ..data import simulated_cluster_example

    if not path.is_file():
        print(f"simulating the example cluster -> {path}", file=sys.stderr)
        simulated_cluster_example().hdulist()[:1].writeto(path)


def run(args):
    """Run ``radiounet segment``; 1 when some image failed."""
    from tqdm.auto import tqdm

    from ..data import SIMULATED_EXAMPLE_NAME
    from ..survey.products import write_segmentation_products

    output_dir = Path(args.output_dir)
    images = _images(args, output_dir)
    segmenter = segmenter_from_args(
        args, n_pixels=args.n_pixels, threshold=args.threshold,
        tile_shape=(args.tile_size, args.tile_size), batch_size=args.batch_size,
        progress_bar=not args.no_progress)
    output_dir.mkdir(parents=True, exist_ok=True)
    if not args.overwrite:
        # A rerun resumes: images whose products this model made are skipped,
        # those written in part are done again; another model's are kept safe.
        states = {stem: segmentation_products_state(output_dir, stem, segmenter)
                  for _, stem in images}
        other = [stem for stem, state in states.items() if state == "other"]
        if other:
            raise OutputExistsError(existing_products(output_dir, other))
        for path, stem in images:
            if states[stem] == "done":
                print(f"{path}: done before -> {output_dir / stem}_*", file=sys.stderr)
        images = [(path, stem) for path, stem in images if states[stem] != "done"]
    print(f"model: {segmenter.card.name}", file=sys.stderr)
    if args.example:
        _simulate_example(output_dir / SIMULATED_EXAMPLE_NAME)
    failed = 0
    for path, stem in tqdm(images, desc="images", unit="image",
                           disable=args.no_progress or len(images) < 2):
        start = time.perf_counter()
        try:
            n_segments = write_segmentation_products(segmenter, path, output_dir, stem)
        except (ValueError, TypeError, OSError) as exc:
            failed += 1
            print(f"radiounet: {path}: {exc}", file=sys.stderr)
            continue
        summary = f"{n_segments} segment{'s' if n_segments != 1 else ''}"
        print(f"{path}: {summary} ({time.perf_counter() - start:.1f} s) -> "
              f"{output_dir / stem}_*", file=sys.stderr)
    return 1 if failed else 0
