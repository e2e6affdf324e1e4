"""Take docs/qgis.png: QGIS (Debian's, under Xvfb) with the demo's project.qgs open, zoomed to the
border crossing, the Processing toolbox showing the geotally provider. Run inside QGIS with --code:

    geotally demo --out /tmp/demo -q
    python scripts/build_qgis_plugin.py --out /tmp/plugin   # then unzip into a profile's python/plugins
    QGIS_CUSTOM_CONFIG_PATH=/tmp/profile xvfb-run -a -s "-screen 0 1500x950x24" \
        qgis --nologo --noversioncheck --project /tmp/demo/project.qgs --code qgis_plugin/docs_screenshot.py

It writes /tmp/qgis.png (quantised to 256 colours for docs/qgis.png) and quits.
"""
from qgis.core import QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QDockWidget
from qgis.utils import iface


def zoom():
    for d in iface.mainWindow().findChildren(QDockWidget):
        if d.objectName() in ("ProcessingToolbox",):
            d.show()
        if d.objectName() in ("Browser", "Browser2", "LayerStyling"):
            d.hide()
    iface.mainWindow().resize(1500, 950)
    root = QgsProject.instance().layerTreeRoot()
    for name in ("detections", "queues"):
        root.findLayer(QgsProject.instance().mapLayersByName(name)[0].id()).setExpanded(True)
    b = QgsProject.instance().mapLayersByName("border")[0].extent().center()
    c = iface.mapCanvas()
    c.setCenter(b)
    c.zoomScale(1500)
    c.setCenter(b.__class__(b.x(), b.y() - 90))
    c.refresh()
    QTimer.singleShot(12000, shoot)

def shoot():
    iface.mainWindow().grab().save("/tmp/qgis.png")
    QTimer.singleShot(500, lambda: QApplication.instance().exit(0))

QTimer.singleShot(15000, zoom)
