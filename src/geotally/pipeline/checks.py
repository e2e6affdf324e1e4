"""Everything about a count that can be checked before the scene is read or a tile runs.

Each check raises a one-line GeotallyError that names the option and says what to fix.
"""

from __future__ import annotations

import os

from geotally.config import CountConfig
from geotally.errors import GeotallyError, check_file
from geotally.models.registry import DEFAULT_MODEL, get_spec
from geotally.store.outputs import check_out_dir
from geotally.config.thresholds import conf_thresholds
from geotally.zones.assign import OUTSIDE
from geotally.zones.load import Zones


def model_conf(model: str | None, weights) -> dict | None:
    """The registered model's own per-class thresholds (None for local weights: the defaults)."""
    return get_spec(model or DEFAULT_MODEL).conf if weights is None else None


def check_run_options(cfg: CountConfig, out=None) -> None:
    """Every option of a count that can be checked without the scene, in one place, before any work:
    the config's own checks (the same for the API and the CLI), then what needs the model registry,
    the output folder or an installed extra."""
    cfg.validate()
    check_input_files(cfg)
    run_thresholds(cfg)  # the registered model's own thresholds, when no --conf is given
    if cfg.dask:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise GeotallyError("--dask needs Dask's distributed scheduler: pip install 'geotally[dask]'")
    if out is not None:
        check_out_dir(out)
    if cfg.basemap:
        from geotally.report.html import basemap_origin

        basemap_origin(cfg.basemap)


# Each input file option with the name its errors give it (as the readers name it).
INPUT_FILES = {"zones": "zones file", "border": "border file", "roads": "roads file", "calibration": "calibration file",
               "weights": "--weights file"}


def input_files(cfg: CountConfig) -> dict[str, str | os.PathLike]:
    """The input files the options name, by the name their errors give them (a calibration given as
    an object, not a file, is none)."""
    return {what: getattr(cfg, option) for option, what in INPUT_FILES.items()
            if isinstance(getattr(cfg, option), (str, os.PathLike))}


def check_input_files(cfg: CountConfig) -> None:
    """Every input file the options name is a readable file (not missing, a folder or a symbolic-link
    loop), checked before any work: a folder for --zones used to pass until the end of the run."""
    for what, path in input_files(cfg).items():
        check_file(path, what)


def run_thresholds(cfg: CountConfig) -> dict[str, float]:
    """The per-class score thresholds a run uses: its --conf, else the registered model's own."""
    return conf_thresholds(cfg.conf if cfg.conf is not None else model_conf(cfg.model, cfg.weights))


def check_claim(claim: dict[str, float], zone_set: Zones | None) -> None:
    """A claim must name zones of this run (or ALL): else it could only be 'not found' (its class is
    checked with the config)."""
    known = set(zone_set.names.tolist()) if zone_set is not None else set()
    unknown = [z for z in claim if z not in known | {"ALL", OUTSIDE}]
    if unknown:
        have = ", ".join(sorted(known)) or "none (give --zones or --border)"
        alike = [z for z in sorted(known | {"ALL"}) if z.casefold() == str(unknown[0]).strip().casefold()]
        hint = f" (did you mean {alike[0]!r}? names are matched exactly)" if alike else ""
        raise GeotallyError(f"--claim names zone {unknown[0]!r}, which is not a zone of this run{hint}; zones: {have}, "
                            f"ALL, {OUTSIDE}")
