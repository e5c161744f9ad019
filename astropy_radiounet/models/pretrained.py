"""
Trained weights shipped with the package, one ``<backbone>.json`` model card
and one ``<backbone>.weights.h5`` file per backbone that has a default.

Nothing is downloaded at run time: a backbone whose card is not here has no
default weights.
"""

from pathlib import Path

from ..backbones import get_backbone

__all__ = ["MODELS_DIR", "default_card_path", "default_weights"]

#: Directory holding the shipped model cards and weights.
MODELS_DIR = Path(__file__).parent


def default_card_path(backbone):
    """
    Path of the shipped model card for a backbone, or `None` if none ships.

    Examples
    --------
    >>> from astropy_radiounet.models.pretrained import default_card_path
    >>> default_card_path('no_such_backbone') is None
    True
    """
    path = MODELS_DIR / f"{backbone}.json"
    return str(path) if path.is_file() else None


def default_weights(backbone):
    """
    The default model card of a backbone: the one its plugin names
    (`~astropy_radiounet.backbones.BackboneSpec.default_weights`), else the one
    shipped in this package for it, else `None`.

    Examples
    --------
    >>> from astropy_radiounet.models.pretrained import default_weights
    >>> default_weights('unet').endswith('unet.json')
    True
    """
    spec = get_backbone(backbone)
    return spec.default_weights or default_card_path(backbone)
