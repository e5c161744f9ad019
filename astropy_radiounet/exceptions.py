"""
The warnings and errors of astropy_radiounet.

Every warning the package issues is a `RadioUNetWarning` (itself an
`~astropy.utils.exceptions.AstropyUserWarning`), so a caller can silence or
raise exactly this package's warnings, or one kind of them, without touching
those of astropy or photutils.  Where nothing is found, the package follows
photutils and warns with `~photutils.utils.NoDetectionsWarning` instead.

Examples
--------
Turn the warnings about assumed image metadata into errors, to make sure a
survey run never guesses a unit or a beam:

>>> import warnings
>>> from astropy_radiounet.exceptions import MissingMetadataWarning
>>> warnings.simplefilter('error', MissingMetadataWarning)
>>> warnings.resetwarnings()
"""

from pathlib import Path

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["RadioUNetWarning", "MissingMetadataWarning", "BlankDataWarning",
           "ImplausibleDataWarning",
           "InputReplacedWarning", "ResolutionWarning", "CatalogWarning", "SkippedInputWarning",
           "PluginWarning", "OutputLockedError",
           "OutputExistsError"]


class RadioUNetWarning(AstropyUserWarning):
    """The base class of every warning of astropy_radiounet."""


class MissingMetadataWarning(RadioUNetWarning):
    """
    The input lacks metadata (unit, WCS, beam) and a value was assumed.

    The message says what was assumed and which keyword or header card
    gives the real value.
    """


class BlankDataWarning(RadioUNetWarning):
    """Some or all of the data to measure is blank (NaN, masked or off the image)."""


class ImplausibleDataWarning(RadioUNetWarning):
    """
    Pixel values that no radio image of the sky holds (such as 1e30 Jy/beam).

    They are usually corrupt pixels; the message says how many there are and
    where.  They are kept as data: mask them if they are not real.
    """


class InputReplacedWarning(RadioUNetWarning):
    """A keyword argument replaces metadata that the input carried itself."""


class ResolutionWarning(RadioUNetWarning):
    """The image's resolution does not match what the model was trained at."""


class CatalogWarning(RadioUNetWarning):
    """Catalogue rows that cannot be measured, or that changed since an earlier run."""


class SkippedInputWarning(RadioUNetWarning):
    """An input (for example a mosaic) could not be read and was left out of a run."""


class PluginWarning(RadioUNetWarning):
    """A backbone plugin could not be loaded or registered, and was skipped."""


class OutputExistsError(FileExistsError):
    """
    Outputs exist already and overwriting was not asked for.

    Parameters
    ----------
    paths : list of path
        The outputs that exist.
    fix : str, optional
        How to proceed, appended to the message; by default it names the
        ``overwrite=True`` keyword (the command line names ``--overwrite``
        and another output directory instead, from ``paths``).

    Attributes
    ----------
    paths : list of str
        The outputs that exist.

    Examples
    --------
    >>> from astropy_radiounet.exceptions import OutputExistsError
    >>> error = OutputExistsError(['run/unet.json'])
    >>> error.paths
    ['run/unet.json']
    >>> print(error)
    run/unet.json exists already; pass overwrite=True to replace it, or choose another output.
    """

    def __init__(self, paths, fix=None):
        self.paths = [str(path) for path in paths]
        listed = ", ".join(self.paths[:4]) + (", ..." if len(self.paths) > 4 else "")
        many = len(self.paths) > 1
        fix = fix or (f"pass overwrite=True to replace {'them' if many else 'it'}, or "
                      f"choose another output.")
        super().__init__(f"{listed} {'exist' if many else 'exists'} already; {fix}")


class OutputLockedError(RuntimeError):
    """
    Another run is writing to the same output directory.

    Two resumable runs (``classify``, ``search``) in one output directory
    would rewrite each other's tables; the second is refused.

    Attributes
    ----------
    lock : str
        The lock file, which names the run that holds it.
    """

    def __init__(self, lock, holder):
        self.lock = str(lock)
        super().__init__(
            f"Another run ({holder}) is writing to {str(Path(lock).parent)!r}; wait for it to "
            f"finish or use another output directory.  If no such run exists any more (its "
            f"machine was restarted, say), delete {self.lock!r}.")
