"""The Processing algorithms: each builds a geotally command line, runs the installed geotally as a
separate process (QGIS's Python, GDAL and PROJ settings removed from its environment), turns the
"done/total tiles" of its progress bar into Processing progress, kills it when the user cancels,
and reports a failure as geotally's own one-line error."""

import os
import queue
import re
import shlex
import subprocess
import threading
from pathlib import Path

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessing,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from .provider import executable

TILES = re.compile(r"(\d+)/(\d+)\s+tiles")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Variables that point a Python or GDAL/PROJ at QGIS's own copies: geotally brings its own.
QGIS_ONLY = ("PYTHONPATH", "PYTHONHOME", "GDAL_DATA", "GDAL_DRIVER_PATH", "PROJ_LIB", "PROJ_DATA", "GDAL_PLUGINS",
             "QGIS_PREFIX_PATH", "QT_PLUGIN_PATH", "LD_LIBRARY_PATH")
# The formats geotally reads a layer's own file in; any other layer (a memory layer, a GeoPackage layer
# not named as its file, a filtered or "selected features only" layer) QGIS writes to a temporary
# GeoPackage for it, and the run's log names that file.
COMPATIBLE = ["gpkg", "shp", "geojson", "json", "fgb", "kml", "gml"]


def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in QGIS_ONLY}
    env.update(FORCE_COLOR="1", COLUMNS="160")  # the progress bar redraws through a pipe: progress to follow
    return env


def _reader(stream, lines: "queue.Queue[str | None]") -> None:
    buf = ""
    for chunk in iter(lambda: stream.read(256), ""):
        buf += chunk
        *done, buf = re.split(r"[\r\n]", buf)
        for line in done:
            lines.put(ANSI.sub("", line))
    lines.put(ANSI.sub("", buf))
    lines.put(None)


def run_geotally(args: list, feedback) -> str:
    """Run ``geotally ARGS``; its stdout when it succeeds, QgsProcessingException with its error line when
    it fails. Cancelling kills it (a count resumes from its checkpoint when run again)."""
    cmd = [executable(), *map(str, args)]
    feedback.pushCommandInfo(" ".join(shlex.quote(c) for c in cmd))
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())
    except OSError as exc:
        raise QgsProcessingException(f"cannot run geotally ({cmd[0]}): {exc.strerror or exc}; set its path in "
                                     "Processing > Options > Providers > geotally") from None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stderr, lines), daemon=True).start()
    out: list = []
    threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True).start()
    errors, ended = [], False
    while not ended:
        if feedback.isCanceled():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            proc.stdout.close()
            proc.stderr.close()
            feedback.reportError("geotally was cancelled", fatalError=False)
            return ""
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            ended = True
            continue
        m = TILES.search(line)
        if m and int(m.group(2)):
            feedback.setProgress(100.0 * int(m.group(1)) / int(m.group(2)))
        elif line.strip():
            errors.append(line.strip())
            if not line.startswith("geotally: error:"):  # the error itself is raised once, below
                feedback.pushInfo(line.strip())
    code = proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    if code != 0:
        said = [e for e in errors if e.startswith("geotally: error:")] or errors or [f"geotally exited with {code}"]
        raise QgsProcessingException(said[-1])
    text = out[0] if out else ""
    feedback.pushConsoleInfo(ANSI.sub("", text))
    return text


def _files(results: Path) -> dict:
    return {"OUTPUT": str(results), "PROJECT": str(results / "project.qgs"), "COUNTS": str(results / "counts.csv")}


def _load_results(results: Path, context) -> None:
    """Open the styled layers (their default style comes from their GeoPackage) when the run ends."""
    from qgis.core import QgsProcessingContext

    if context.project() is None:
        return
    for name in ("zones", "border", "queues", "detections", "roads", "route"):
        gpkg = results / ("zones.gpkg" if name in ("zones", "border") else f"{name}.gpkg")
        if gpkg.exists():
            context.addLayerToLoadOnCompletion(f"{gpkg}|layername={name}",
                                               QgsProcessingContext.LayerDetails(name, context.project(), name))
    if (results / "preview.tif").exists():
        context.addLayerToLoadOnCompletion(str(results / "preview.tif"),
                                           QgsProcessingContext.LayerDetails("scene (preview)", context.project()))


FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-o)(?![\w-])")


class GeotallyAlgorithm(QgsProcessingAlgorithm):
    """What the four algorithms share."""

    FORM: dict = {}  # option -> the parameter of the form that sets it

    def _run(self, args: list, feedback) -> str:
        """run_geotally, its error in the form's words: an option the form sets is named by the field's
        label beside it, any other is said to go in More options (geotally's messages name its CLI
        options, which a Processing user never typed)."""
        try:
            return run_geotally(args, feedback)
        except QgsProcessingException as exc:
            raise QgsProcessingException(self.in_form_terms(str(exc))) from None

    def in_form_terms(self, message: str) -> str:
        seen: set[str] = set()

        def named(m: "re.Match") -> str:
            flag = m.group(1)
            if flag in seen:
                return flag
            seen.add(flag)
            name = self.FORM.get(flag)
            definition = self.parameterDefinition(name) if name else None
            if definition is not None:
                return f"{flag} ('{definition.description()}')"
            return f"{flag} (in More options)" if self.parameterDefinition("EXTRA") is not None else flag
        return FLAG.sub(named, message)

    def group(self):
        return "geotally"

    def groupId(self):
        return "geotally"

    def createInstance(self):
        return type(self)()

    def _optional(self, args: list, parameters, context, pairs, feedback=None) -> None:
        """Add ``--option value`` for each (parameter, option) the user filled in; a vector input as
        the file geotally reads (see _vector)."""
        for name, option in pairs:
            value = (self._vector(parameters, name, context, feedback) if name in VECTORS
                     else self.parameterAsString(parameters, name, context))
            if value:
                args += [option, value]

    def _vector(self, parameters, name: str, context, feedback) -> str:
        """A vector input as a file geotally reads: a path given as text as it is (an OpenStreetMap
        extract, a zip archive and GeoParquet included), a layer's own file where geotally reads its
        format, else the layer (a memory layer, one GeoPackage layer of several, selected features
        only) written by QGIS to a temporary GeoPackage, which the log names."""
        raw = parameters.get(name)
        if raw is None or raw == "":
            return ""
        if isinstance(raw, str) and os.path.isfile(raw):
            return raw
        path = self.parameterAsCompatibleSourceLayerPath(parameters, name, context, COMPATIBLE, "gpkg", feedback)
        if not path:
            raise QgsProcessingException(f"{self.parameterDefinition(name).description()}: {raw} is not a vector "
                                         "layer or file geotally can read")
        if feedback is not None and not (isinstance(raw, str) and raw == path):
            feedback.pushInfo(f"{self.parameterDefinition(name).description()}: the layer as written for geotally "
                              f"to {path}")
        return path

    def _extra(self, args: list, parameters, context) -> None:
        """The user's "More options", refused where they repeat the form: geotally would take the later
        of two values unsaid (a second --out wrote the results where the form did not look)."""
        extra = self.parameterAsString(parameters, "EXTRA", context)
        if not extra:
            return
        try:
            words = shlex.split(extra)
        except ValueError as exc:
            raise QgsProcessingException(f"More options: {exc} in {extra!r}") from None
        given = {a for a in args if isinstance(a, str) and a.startswith("-")}
        for word in words:
            option = word.split("=", 1)[0]
            if option in ("--out", "-o") or option in given:
                field = "Results folder" if option in ("--out", "-o") else option
                raise QgsProcessingException(f"More options: {option} is set in the form already ({field}); "
                                             "give it once")
        args += words

    def _count_into(self, args: list, results: Path, parameters, context, feedback) -> dict:
        """Run ``args`` and the user's EXTRA options, then open the results folder's styled layers
        when the run ends; count and recount both end so."""
        self._extra(args, parameters, context)
        self._run(args, feedback)
        if feedback.isCanceled():
            if args[0] == "count":
                feedback.reportError("run it again into the same results folder to resume from the tiles it finished",
                                     fatalError=False)
            return {}
        _load_results(results, context)
        return _files(results)


VECTORS = ("ZONES", "BORDER", "ROADS")
ANALYSIS = (("ZONES", "--zones"), ("ZONE_FIELD", "--zone-field"), ("BORDER", "--border"), ("SIDES", "--sides"),
            ("ROADS", "--roads"), ("CONF", "--conf"), ("CLAIM", "--claim"))


def _analysis_parameters(alg) -> None:
    alg.addParameter(QgsProcessingParameterFeatureSource("ZONES", "Zones (polygons named by a field)",
                                                         [QgsProcessing.TypeVectorPolygon], optional=True))
    alg.addParameter(QgsProcessingParameterString("ZONE_FIELD", "Zone name field", optional=True))
    alg.addParameter(QgsProcessingParameterFeatureSource("BORDER", "Border line", [QgsProcessing.TypeVectorLine],
                                                         optional=True))
    alg.addParameter(QgsProcessingParameterString("SIDES", "Side names, left then right along the border (e.g. TR,IQ)",
                                                  optional=True))
    alg.addParameter(QgsProcessingParameterFeatureSource("ROADS", "Roads (lines or OpenStreetMap file)",
                                                         [QgsProcessing.TypeVectorLine], optional=True))
    alg.addParameter(QgsProcessingParameterString("CONF", "Minimum score (e.g. 0.25 or large_vehicle=0.1)", optional=True))
    alg.addParameter(QgsProcessingParameterString("CLAIM", "Claimed counts to test (e.g. TR=4530,IQ=7245)", optional=True))


class CountAlgorithm(GeotallyAlgorithm):
    """geotally count: a scene or a folder of scenes, with zones, border and sides, roads, dates, claims."""

    FORM = {**{option: name for name, option in ANALYSIS}, "--date": "DATE", "--model": "MODEL", "--out": "OUTPUT",
            "-o": "OUTPUT"}

    def name(self):
        return "count"

    def displayName(self):
        return "Count vehicles"

    def shortHelpString(self):
        return ("Counts vehicles in a scene (or every scene of a folder) with the installed geotally, per zone, "
                "side, road, queue and date. The results folder holds the styled GeoPackages, counts.csv, "
                "report.html and project.qgs. Other geotally count options go in 'More options'.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("INPUT", "Scene (GeoTIFF, JPEG 2000, ...)", optional=True))
        self.addParameter(QgsProcessingParameterFile("INPUT_FOLDER", "or a folder of scenes", optional=True,
                                                     behavior=QgsProcessingParameterFile.Folder))
        _analysis_parameters(self)
        self.addParameter(QgsProcessingParameterString("DATE", "Date of undated scenes (YYYY-MM-DD)", optional=True))
        self.addParameter(QgsProcessingParameterString("MODEL", "Model (default: geotally's)", optional=True))
        self.addParameter(QgsProcessingParameterString("EXTRA", "More options (as on the command line)", optional=True))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Results folder"))
        self.addOutput(QgsProcessingOutputFile("PROJECT", "QGIS project"))
        self.addOutput(QgsProcessingOutputFile("COUNTS", "counts.csv"))

    def processAlgorithm(self, parameters, context, feedback):
        scene, folder = (self.parameterAsFile(parameters, name, context) for name in ("INPUT", "INPUT_FOLDER"))
        if not (scene or folder):
            raise QgsProcessingException("give a scene or a folder of scenes")
        if scene and folder:
            raise QgsProcessingException("give a scene or a folder of scenes, not both")
        out = Path(self.parameterAsString(parameters, "OUTPUT", context))
        args = ["count", scene or folder, "--out", out]
        self._optional(args, parameters, context, (*ANALYSIS, ("DATE", "--date"), ("MODEL", "--model")), feedback)
        return self._count_into(args, out, parameters, context, feedback)


class RecountAlgorithm(GeotallyAlgorithm):
    """geotally recount: the analysis again with options changed, without detecting again."""

    FORM = {option: name for name, option in ANALYSIS}

    def name(self):
        return "recount"

    def displayName(self):
        return "Recount with other options"

    def shortHelpString(self):
        return "Runs the analysis of a finished count again with the options given changed; the folder is replaced."

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("RESULTS", "Results folder of a count",
                                                     behavior=QgsProcessingParameterFile.Folder))
        _analysis_parameters(self)
        self.addParameter(QgsProcessingParameterString("EXTRA", "More options (as on the command line)", optional=True))
        self.addOutput(QgsProcessingOutputFolder("OUTPUT", "Results folder"))
        self.addOutput(QgsProcessingOutputFile("PROJECT", "QGIS project"))
        self.addOutput(QgsProcessingOutputFile("COUNTS", "counts.csv"))

    def processAlgorithm(self, parameters, context, feedback):
        results = Path(self.parameterAsFile(parameters, "RESULTS", context))
        args = ["recount", results]
        self._optional(args, parameters, context, ANALYSIS, feedback)
        return self._count_into(args, results, parameters, context, feedback)


class ChangeAlgorithm(GeotallyAlgorithm):
    """geotally change: counts compared between dates (one multi-date folder, or two folders)."""

    FORM = {"--out": "OUTPUT", "-o": "OUTPUT", "--force": "FORCE"}

    def name(self):
        return "change"

    def displayName(self):
        return "Change between dates"

    def shortHelpString(self):
        return ("Compares counts between dates: one multi-date results folder, or two folders (earlier first). "
                "Writes the table of changes per zone and class.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("RESULTS", "Results folder (multi-date, or the earlier)",
                                                     behavior=QgsProcessingParameterFile.Folder))
        self.addParameter(QgsProcessingParameterFile("LATER", "Later results folder", optional=True,
                                                     behavior=QgsProcessingParameterFile.Folder))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "Table of changes", "CSV files (*.csv)"))
        self.addParameter(QgsProcessingParameterBoolean("FORCE", "Replace the table if it exists", defaultValue=True))

    def processAlgorithm(self, parameters, context, feedback):
        args = ["change", self.parameterAsFile(parameters, "RESULTS", context)]
        later = self.parameterAsFile(parameters, "LATER", context)
        if later:
            args.append(later)
        table = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        args += ["--out", table] + (["--force"] if self.parameterAsBool(parameters, "FORCE", context) else [])
        self._run(args, feedback)
        return {"OUTPUT": table}


class ReviewExportAlgorithm(GeotallyAlgorithm):
    """geotally review-export: reviewed labels as truth, training data, COCO and DOTA."""

    def name(self):
        return "review_export"

    def displayName(self):
        return "Export reviewed labels"

    def shortHelpString(self):
        return ("Exports the labels of a review (review.gpkg in a results folder) as truth.geojson for evaluate, "
                "training data, COCO and DOTA labelTxt.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("RESULTS", "Results folder with review.gpkg",
                                                     behavior=QgsProcessingParameterFile.Folder))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Export folder"))

    def processAlgorithm(self, parameters, context, feedback):
        out = self.parameterAsString(parameters, "OUTPUT", context)
        self._run(["review-export", self.parameterAsFile(parameters, "RESULTS", context), out], feedback)
        return {"OUTPUT": out}


ALGORITHMS = (CountAlgorithm, RecountAlgorithm, ChangeAlgorithm, ReviewExportAlgorithm)
