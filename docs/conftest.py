"""Doctests of the documentation: run the .rst pages, not the build scripts."""

import matplotlib

matplotlib.use("Agg")

collect_ignore = ["conf.py", "_build", "scripts"]
