# Licensed under a 3-clause BSD style license - see LICENSE.rst
"""
Sphinx configuration of the astropy_radiounet documentation.

Build with (warnings are errors, as in ``tox -e build_docs``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The build works offline.  Links to other projects' documentation
(intersphinx) need their inventories from the internet, and a failed fetch
is a warning, which ``-W`` turns into an error; so intersphinx is off unless
``RADIOUNET_DOCS_INTERSPHINX=1`` is set in the environment (or the build
runs on Read the Docs).
"""

import datetime
import os
from importlib import metadata

# The sphinx-astropy defaults: extensions (numpydoc, automodapi, doctestplus,
# matplotlib's plot directive, ...), the theme and the intersphinx URLs of
# python, numpy, scipy, matplotlib and astropy.
from sphinx_astropy.conf.v2 import *  # noqa: F401, F403
from sphinx_astropy.conf.v2 import intersphinx_mapping

# Quiet TensorFlow's start-up chatter when the plot directive imports Keras.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# -- Project information ---------------------------------------------------

_metadata = metadata.metadata("astropy_radiounet")
project = _metadata["Name"]
author = _metadata["Author"] or "The astropy_radiounet developers"
copyright = f"{datetime.date.today().year}, {author}"

release = metadata.version("astropy_radiounet")
# The short X.Y version.
version = ".".join(release.split(".")[:2])

# -- General configuration -------------------------------------------------

exclude_patterns = ["_build", "scripts", "**.ipynb_checkpoints"]

# Unresolved references to other projects' objects are expected while
# intersphinx is off; do not report each of them.
nitpicky = False

rst_epilog = """
.. _LoTSS: https://lofar-surveys.org/
.. _Stuardi et al. 2024: https://arxiv.org/abs/2408.10871
"""

# -- Links to other projects' documentation --------------------------------

_intersphinx_targets = dict(intersphinx_mapping)
_intersphinx_targets.update({
    "python": ("https://docs.python.org/3/", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "matplotlib": ("https://matplotlib.org/stable/", None),
    "astropy": ("https://docs.astropy.org/en/stable/", None),
    "photutils": ("https://photutils.readthedocs.io/en/stable/", None),
    "regions": ("https://astropy-regions.readthedocs.io/en/stable/", None),
    "radio_beam": ("https://radio-beam.readthedocs.io/en/latest/", None),
    "pluggy": ("https://pluggy.readthedocs.io/en/stable/", None),
    "dask": ("https://docs.dask.org/en/stable/", None),
})
# Keras (keras.io) publishes no Sphinx inventory, so it has no entry here.
# The local-only "pythonloc" entry of sphinx-astropy points to a file that
# is not always installed; leave it out.
_intersphinx_targets.pop("pythonloc", None)

_online = (os.environ.get("RADIOUNET_DOCS_INTERSPHINX", "").strip().lower()
           in ("1", "true", "yes") or os.environ.get("READTHEDOCS") == "True")
intersphinx_mapping = _intersphinx_targets if _online else {}

# -- API pages (sphinx-automodapi) -----------------------------------------

automodapi_toctreedirnm = "api"
automodsumm_inherited_members = False
numpydoc_show_class_members = False

# -- Figures (matplotlib plot directive) ------------------------------------

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.figsize": (7, 6.5), "savefig.bbox": "tight"}
plot_apply_rcparams = True

# -- HTML output -------------------------------------------------------------

_urls = dict(entry.split(", ", 1) for entry in _metadata.get_all("Project-URL") or [])

html_title = f"{project} v{release}"
htmlhelp_basename = project + "doc"
html_theme_options = {
    "collapse_navigation": True,
    "navigation_depth": 2,
    "show_nav_level": 2,
    "use_edit_page_button": False,
    "icon_links": [
        {
            "name": "GitHub",
            "url": _urls.get("Source",
                             "https://github.com/astropy-radiounet/astropy_radiounet"),
            "icon": "fa-brands fa-github",
        },
    ],
}
html_static_path = ["_static"]
