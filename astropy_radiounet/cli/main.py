"""
The ``radiounet`` command: its parser and the dispatch to the command modules.

``radiounet segment`` segments FITS images; ``radiounet simulate`` makes
synthetic LoTSS-like data; ``radiounet train``, ``evaluate`` and
``calibrate`` train, measure and calibrate a model on simulated fields;
``radiounet classify`` and ``search`` run over survey mosaics;
``radiounet backbones`` lists the registered backbones.
"""

import argparse
import logging
import sys

from ..exceptions import OutputExistsError, OutputLockedError
from . import backbones, calibrate, classify, evaluate, search, segment, simulate, train
from .options import CommandError

__all__ = ["main", "build_parser", "COMMANDS"]

log = logging.getLogger("astropy_radiounet.cli")

#: The command modules, in the order of ``radiounet --help``; each adds its
#: command with ``add_parser(subparsers)`` and runs it with ``run(args)``.
COMMANDS = (segment, simulate, train, evaluate, calibrate, classify, search, backbones)


def build_parser():
    """The argument parser of the ``radiounet`` command."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="radiounet",
        description="Find faint diffuse radio emission in survey images with a U-Net.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress details (and show where an error was raised)")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def _exists_message(exc):
    """What the command line says of outputs that exist: its options, not keywords."""
    listed = ", ".join(exc.paths[:4]) + (", ..." if len(exc.paths) > 4 else "")
    return (f"outputs exist already ({listed}); use --overwrite to replace them or choose "
            f"another output directory")


def _os_error_message(exc):
    """An operating-system error as one line naming the file and the reason."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    if where:
        return f"cannot use {str(where)!r}: {reason}"
    return reason


def main(argv=None):
    """Run the ``radiounet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # astropy prints its warnings (ours included) with its own handler; passing
    # them on to the handler above would print each twice.
    logging.getLogger("astropy").propagate = False
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except OutputExistsError as exc:
        print(f"radiounet: error: {_exists_message(exc)}", file=sys.stderr)
        return 2
    except (CommandError, OutputLockedError) as exc:
        print(f"radiounet: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file system that refuses the outputs (read-only, full, a file where a
        # directory is needed): say which file and why, without a traceback.
        print(f"radiounet: error: {_os_error_message(exc)}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, MemoryError) as exc:
        # Bad input found deep in the library (a model card, a setting): its message
        # names the problem; -v shows where it was raised.
        if args.verbose:
            raise
        print(f"radiounet: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
