"""``radiounet backbones``: list the registered backbones."""

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``backbones`` command."""
    parser = subparsers.add_parser(
        "backbones", help="list the registered backbones",
        description="List the registered backbones, built-in and from plugins, and the "
                    "trained versions that ship for them (--weights takes their names).")
    parser.set_defaults(handler=run)
    return parser


def run(args):
    """Run ``radiounet backbones``."""
    from ..backbones import available_backbones
    from ..models.pretrained import DEFAULT_VERSIONS, default_weights, shipped_models

    for name, spec in sorted(available_backbones().items()):
        weights = "default weights shipped" if default_weights(name) else "no default weights"
        versions = shipped_models(name)
        if versions:
            names = ", ".join(f"{version} (default)" if version == DEFAULT_VERSIONS.get(name)
                              else version for version in versions)
            weights = f"shipped: {names}"
        print(f"{name:20s} {spec.description} [{weights}]")
    return 0
