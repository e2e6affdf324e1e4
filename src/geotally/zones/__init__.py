"""Zones: loading, reprojection to the scene, and assignment of vehicles to them."""

from geotally.zones.load import Zones, load_zones
from geotally.zones.assign import OUTSIDE, assign_zones

__all__ = ["Zones", "load_zones", "assign_zones", "OUTSIDE"]
