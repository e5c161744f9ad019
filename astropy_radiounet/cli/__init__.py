"""
The ``radiounet`` command.

Layout: `main` builds the parser from the command modules and turns errors
into messages and exit statuses; `options` defines each option shared by
several commands once, with the helpers that turn options into library
objects; ``segment``, ``simulate``, ``train``, ``evaluate``, ``calibrate``,
``classify``, ``search`` and ``backbones`` each hold one command
(``add_parser(subparsers)`` and ``run(args)``) and call the library only.
"""

from .main import main

__all__ = ["main"]
