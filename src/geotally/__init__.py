"""geotally: count vehicles in georeferenced overhead imagery, per zone, with provenance.

``import geotally`` is light: the API's functions load the stages they use when they are called.
"""

from geotally._version import __version__
from geotally.api import calibrate, change, count, count_scenes, evaluate, recount, search, show  # noqa: E402
from geotally.config import CountConfig  # noqa: E402
from geotally.errors import GeotallyError  # noqa: E402

__all__ = ["count", "count_scenes", "recount", "show", "change", "evaluate", "calibrate", "search", "CountConfig",
           "CountResult", "GeotallyError", "__version__"]


def __getattr__(name: str):
    if name == "CountResult":  # the result type holds GeoDataFrames: loaded when asked for
        from geotally.pipeline.result import CountResult

        return CountResult
    raise AttributeError(f"module 'geotally' has no attribute {name!r}")
