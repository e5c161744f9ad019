"""``python -m astropy_radiounet``: the ``radiounet`` command."""

import sys

from .cli.main import main

sys.exit(main())
