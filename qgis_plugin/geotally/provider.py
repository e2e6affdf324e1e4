"""geotally's Processing provider: the algorithms, and the setting that names the geotally program."""

import os
import shutil

from qgis.core import QgsProcessingProvider

SETTING = "GEOTALLY_EXECUTABLE"


def executable() -> str:
    """The geotally program: the Processing setting, else $GEOTALLY_EXECUTABLE, else geotally on PATH."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        configured = ProcessingConfig.getSetting(SETTING)
    except ImportError:  # Processing's Python part is missing
        configured = None
    return configured or os.environ.get(SETTING) or shutil.which("geotally") or "geotally"


class GeotallyProvider(QgsProcessingProvider):
    """Count, recount, change and review-export, each a run of the installed geotally."""

    def id(self):
        return "geotally"

    def name(self):
        return "geotally"

    def longName(self):
        return "geotally: vehicle counts from imagery"

    def load(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting

            ProcessingConfig.addSetting(Setting(self.name(), SETTING, "geotally executable",
                                                os.environ.get(SETTING) or shutil.which("geotally") or "",
                                                valuetype=Setting.FILE))
            ProcessingConfig.readSettings()
        except ImportError:
            pass
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig

            ProcessingConfig.removeSetting(SETTING)
        except ImportError:
            pass

    def loadAlgorithms(self):
        from .algorithms import ALGORITHMS

        for alg in ALGORITHMS:
            self.addAlgorithm(alg())
