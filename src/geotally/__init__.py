"""geotally: count vehicles in georeferenced overhead imagery, per zone, with provenance."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("geotally")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

from geotally.api import CountConfig, CountResult, count, count_scenes  # noqa: E402
from geotally.errors import GeotallyError  # noqa: E402
from geotally.recount import recount  # noqa: E402

__all__ = ["count", "count_scenes", "recount", "CountConfig", "CountResult", "GeotallyError", "__version__"]
