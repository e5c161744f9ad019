"""``radiounet backbones``: list the registered backbones."""

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``backbones`` command."""
    parser = subparsers.add_parser(
        "backbones", help="list the registered backbones",
        description="List the registered backbones, built-in and from plugins, and whether "
                    "trained default weights ship for them.")
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Run ``radiounet backbones``."""
    from ..backbones import available_backbones
    from ..models.pretrained import default_weights

    for name, spec in sorted(available_backbones().items()):
        weights = "default weights shipped" if default_weights(name) else "no default weights"
        print(f"{name:20s} {spec.description} [{weights}]")
    return 0
