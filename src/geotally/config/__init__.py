"""The light typed configuration: every option, default and value range, declared once and read by
the API and the CLI alike. Imports no algorithm code, so reading a default costs nothing."""

from geotally.config.count import CountConfig
from geotally.config.params import (QueueParams, RoadParams, RouteParams, SampleParams, SearchParams,
                                     StationaryParams, TrailerParams)

__all__ = ["CountConfig", "QueueParams", "RoadParams", "RouteParams", "SampleParams", "SearchParams",
           "StationaryParams", "TrailerParams"]
