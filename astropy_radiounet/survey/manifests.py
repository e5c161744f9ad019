"""
Run manifests: the settings a resumable survey run was made with.

A survey run (`~astropy_radiounet.survey.classify_clusters`,
`~astropy_radiounet.survey.search_mosaics`) writes the settings that
determine its results into a JSON manifest in its output directory.  A
rerun with the same settings resumes; one with other settings is refused,
naming each setting that differs, rather than mixing results of both.
"""

import hashlib
import json
import time
from pathlib import Path

from ..utils.files import atomic_write

__all__ = ["check_run_manifest", "model_identity", "write_json_atomic"]


def model_identity(card):
    """What of a model card determines its probabilities, for a run manifest."""
    values = card.to_dict()
    keys = ("backbone", "config", "pixel_scale_arcsec", "beam", "normalisation",
            "noise_box_size", "calibration", "sha256")
    text = json.dumps({key: values[key] for key in keys}, sort_keys=True)
    return {"weights_sha256": card.sha256,
            "card_sha256": hashlib.sha256(text.encode()).hexdigest()}


def _flatten(values, prefix=""):
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_run_manifest(path, settings, *, results_exist, info=None):
    """
    Record a run's settings, or refuse a rerun whose settings differ.

    Parameters
    ----------
    path : path
        The manifest (JSON), in the run's output directory.
    settings : dict
        The settings that determine the results (JSON-serialisable; nested
        dictionaries are compared key by key).
    results_exist : bool
        Whether the output directory holds results already.
    info : dict, optional
        Recorded but not compared (model name, package version, ...).

    Raises
    ------
    ValueError
        If the manifest records other settings, or if results exist without
        a manifest (their settings are unknown).
    """
    from .. import __version__

    path = Path(path)
    current = json.loads(json.dumps(settings))
    fix = (f"Use a new output directory, or delete {str(path.parent)!r} to start again.")
    if path.is_file():
        earlier = json.loads(path.read_text())["settings"]
        old, new = _flatten(earlier), _flatten(current)
        differing = [f"{key} was {old.get(key)!r} and is now {new.get(key)!r}"
                     for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]
        if differing:
            msg = (f"The output directory {str(path.parent)!r} holds results of a run with "
                   f"other settings ({'; '.join(differing)}); resuming would mix results "
                   f"of both.  {fix}")
            raise ValueError(msg)
        return
    if results_exist:
        msg = (f"The output directory {str(path.parent)!r} holds results but no run "
               f"manifest ({path.name}), so the settings they were made with are unknown "
               f"and resuming could mix results.  {fix}")
        raise ValueError(msg)
    manifest = {"settings": current, "version": __version__,
                "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(info or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, manifest)


def write_json_atomic(path, values):
    """Write a JSON file whole or not at all (see `~astropy_radiounet.utils.atomic_write`)."""
    with atomic_write(path) as temporary:
        temporary.write_text(json.dumps(values, indent=1))
