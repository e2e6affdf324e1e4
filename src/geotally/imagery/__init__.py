"""Opening scenes, their ground sample distance, and reading tile windows."""

from geotally.imagery.scene import Scene, open_scene
from geotally.imagery.windows import TileGrid, tile_grid

__all__ = ["Scene", "open_scene", "TileGrid", "tile_grid"]
