"""The plugin object: registers geotally's Processing provider (also in qgis_process, without a GUI)."""

from qgis.core import QgsApplication


class GeotallyPlugin:
    """Adds and removes the geotally Processing provider."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):
        from .provider import GeotallyProvider

        self.provider = GeotallyProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
