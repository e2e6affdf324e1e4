"""Pixel to map to WGS84, and footprints measured in metres."""
