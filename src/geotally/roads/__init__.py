"""Road networks: reading road lines (GeoJSON, GeoPackage, Shapefile, OpenStreetMap), tying vehicles
to them (snap), counts per road, queues along roads, and routes. Kept import-free so the CLI can
read the defaults in ``geotally.config.params`` cheaply."""
