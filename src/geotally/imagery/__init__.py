"""Opening scenes, their ground sample distance, and reading tile windows."""
