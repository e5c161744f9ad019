"""
Trained models shipped with the package: for each backbone that has any, one
``<backbone>-<version>.json`` model card and its ``<backbone>-<version>.weights.h5``
file per version, and the version that is the backbone's default.

Nothing is downloaded at run time: a backbone whose card is not here has no
default weights.  Earlier versions stay loadable by name (``weights='v0.2'``)
so that results made with them can be reproduced.
"""

import re
from pathlib import Path

from ..backbones import get_backbone

__all__ = ["MODELS_DIR", "DEFAULT_VERSIONS", "is_version_name", "shipped_models",
           "shipped_card_path", "default_card_path", "default_weights"]

#: Directory holding the shipped model cards and weights.
MODELS_DIR = Path(__file__).parent

#: The shipped version that ``weights='default'`` means, per backbone.
DEFAULT_VERSIONS = {"unet": "v0.3"}

_VERSION = re.compile(r"v\d+(\.\d+)*")


def is_version_name(name):
    """
    Whether ``name`` has the form of a shipped version's name (``'v0.2'``).

    Examples
    --------
    >>> from astropy_radiounet.models.pretrained import is_version_name
    >>> is_version_name('v0.2'), is_version_name('unet.json')
    (True, False)
    """
    return bool(_VERSION.fullmatch(name))


def shipped_models(backbone):
    """
    The versions of a backbone's models shipped in this package.

    Parameters
    ----------
    backbone : str
        Backbone name.

    Returns
    -------
    models : dict
        Version name (``'v0.2'``, ...) to the path of its model card, oldest
        first; empty when none ships.

    Examples
    --------
    >>> from astropy_radiounet.models.pretrained import shipped_models
    >>> 'v0.2' in shipped_models('unet')
    True
    """
    found = {}
    for path in MODELS_DIR.glob(f"{backbone}-v*.json"):
        version = path.stem[len(backbone) + 1:]
        if is_version_name(version):
            found[version] = str(path)
    return dict(sorted(found.items(),
                       key=lambda item: tuple(int(n) for n in item[0][1:].split("."))))


def shipped_card_path(backbone, version):
    """
    Path of a shipped model card by version name, or `None` if that version
    does not ship.

    Examples
    --------
    >>> from astropy_radiounet.models.pretrained import shipped_card_path
    >>> shipped_card_path('unet', 'v0.2').endswith('unet-v0.2.json')
    True
    >>> shipped_card_path('unet', 'v9.9') is None
    True
    """
    return shipped_models(backbone).get(version)


def default_card_path(backbone):
    """
    Path of the shipped default model card of a backbone, or `None` if none ships.

    Examples
    --------
    >>> from astropy_radiounet.models.pretrained import default_card_path
    >>> default_card_path('no_such_backbone') is None
    True
    """
    version = DEFAULT_VERSIONS.get(backbone)
    return None if version is None else shipped_card_path(backbone, version)


def default_weights(backbone):
    """
    The default model card of a backbone: the one its plugin names
    (`~astropy_radiounet.backbones.BackboneSpec.default_weights`), else the
    default version shipped in this package for it, else `None`.

    Examples
    --------
    >>> from astropy_radiounet.models.pretrained import DEFAULT_VERSIONS, default_weights
    >>> default_weights('unet').endswith(f"unet-{DEFAULT_VERSIONS['unet']}.json")
    True
    """
    spec = get_backbone(backbone)
    return spec.default_weights or default_card_path(backbone)
