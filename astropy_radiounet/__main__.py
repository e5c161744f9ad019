"""``python -m astropy_radiounet``: the ``radiounet`` command."""

import sys

from .cli import main

sys.exit(main())
