"""Zones: loading, reprojection to the scene, and assignment of vehicles to them."""
