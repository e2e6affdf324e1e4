"""geotally's QGIS plugin: a Processing provider whose algorithms call the installed geotally program."""


def classFactory(iface):
    """QGIS's entry point: the plugin object for this QGIS session."""
    from .plugin import GeotallyPlugin

    return GeotallyPlugin(iface)
