"""
Trained weights shipped with the package, one ``<backbone>.json`` model card
and one ``<backbone>.weights.h5`` file per backbone that has a default.

Nothing is downloaded at run time: a backbone whose card is not here has no
default weights.
"""

from pathlib import Path

__all__ = ["MODELS_DIR", "default_card_path"]

#: Directory holding the shipped model cards and weights.
MODELS_DIR = Path(__file__).parent


def default_card_path(backbone):
    """
    Path of the shipped model card for a backbone, or `None` if none ships.

    Examples
    --------
    >>> from astropy_radiounet.models import default_card_path
    >>> default_card_path('no_such_backbone') is None
    True
    """
    path = MODELS_DIR / f"{backbone}.json"
    return str(path) if path.is_file() else None
