"""Road networks: reading road lines (GeoJSON, GeoPackage, Shapefile, OpenStreetMap) and tying vehicles to them."""

from geotally.roads.load import Roads, load_roads
from geotally.roads.snap import RoadParams, RoadMatch, snap_to_roads

__all__ = ["Roads", "load_roads", "RoadParams", "RoadMatch", "snap_to_roads"]
