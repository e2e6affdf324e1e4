"""train: fine-tune the vehicle detector (or the trailer-type classifier) on labelled imagery."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from geotally.cli.base import app, err, out
from geotally.cli.options import Quiet, parse_floats
from geotally.cli.output import say_to
from geotally.config.training import VAL_GSDS, DatasetParams, DegradeParams, TrainParams
from geotally.errors import GeotallyError


def _gsd_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise GeotallyError(f"--gsd-range takes MIN,MAX metres like 0.15,0.6, got {text!r}") from None
    return lo, hi


@app.command("train")
def train_cmd(
    data: List[Path] = typer.Argument(..., metavar="DATA", help="Labelled folders: DOTA (images/ + labelTxt/), YOLO or YOLO-OBB "
                                                "(images/ + labels/ + classes.names), or GeoTIFFs with NAME_truth.geojson."),
    name: str = typer.Option(..., "--name", help="Name to register the model under (then: count --model NAME)."),
    out_dir: Path = typer.Option(Path("train-runs"), "--out", help="Working folder; run the same command again to resume."),
    exclude: List[str] = typer.Option([], "--exclude", metavar="GLOB", help="Glob on image names never to train on (a validation split)."),
    exclude_list: List[str] = typer.Option([], "--exclude-list", metavar="FILE", help="File of image names never to train on."),
    synth: int = typer.Option(0, "--synth", help="Add this many synthetic crossings with exact oriented truth."),
    model_gsd: float = typer.Option(DatasetParams.model_gsd, "--model-gsd", help="Metres per pixel the model sees."),
    gsd_range: str = typer.Option(",".join(str(v) for v in DegradeParams.gsd_range), "--gsd-range",
                                  help="Satellite GSDs (m) to degrade training copies to, MIN,MAX."),
    copies: int = typer.Option(DatasetParams.copies, "--copies", help="Degraded copies per image."),
    copies_large: int = typer.Option(DatasetParams.copies_large, "--copies-large",
                                     help="Copies in all of images with a large vehicle; the extra ones keep only tiles holding one."),
    imgsz: int = typer.Option(DatasetParams.imgsz, "--imgsz", help="Training tile size, pixels."),
    pseudo_score: Optional[float] = typer.Option(DatasetParams.pseudo_score, "--pseudo-score",
                                                 help="Teach unlabelled detections of the stock model (at the image's "
                                                      "own scale) scoring at least this as vehicles, rather than masking "
                                                      "them or teaching them as background (labels that leave vehicles out)."),
    mask_score_large: Optional[float] = typer.Option(DatasetParams.mask_score_large, "--mask-score-large",
                                                     help="Mask unlabelled large-vehicle detections from this score "
                                                          f"(default: as other vehicles, {DatasetParams.mask_score})."),
    pseudo_teacher: Optional[str] = typer.Option(DatasetParams.pseudo_teacher, "--pseudo-teacher", metavar="MODEL",
                                                 help="Registered model (run at its own model GSD) whose unlabelled "
                                                      "detections are masked or taught (--pseudo-score), instead of the "
                                                      "stock model's at the image's scale; labels are still oriented by the stock model."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=f"Training epochs (default: {TrainParams.epochs}; the trailer-type classifier's own with --task trailer-type)."),
    batch: int = typer.Option(TrainParams.batch, "--batch", help="Images per training batch."),
    lr0: float = typer.Option(TrainParams.lr0, "--lr0", help="Initial learning rate."),
    warmup_epochs: float = typer.Option(TrainParams.warmup_epochs, "--warmup-epochs",
                                        help="Epochs of learning-rate warm-up (less for a short fine-tune of a tuned model)."),
    base: str = typer.Option(TrainParams.base, "--base", help="Registry model or .pt to fine-tune."),
    train_only: Optional[str] = typer.Option(TrainParams.train_only, "--train-only", metavar="angle",
                                             help="angle: refit only the heading branch of --base, every other weight "
                                                  "frozen, on labels whose angle was measured (those it would be "
                                                  "guessed for are left out)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, 0 (first GPU)...; default: GPU when present."),
    val: List[Path] = typer.Option([], "--val", metavar="DIR", help="Held-out labelled folder to validate on (recall)."),
    val_exhaustive: List[Path] = typer.Option([], "--val-exhaustive", metavar="DIR",
                                              help="Held-out folder whose labels are exhaustive (recall, precision, count error)."),
    val_gsds: Optional[str] = typer.Option(None, "--val-gsds", help=f"GSDs (m) to validate at (default: {','.join(f'{g:g}' for g in VAL_GSDS)})."),
    task: str = typer.Option("obb", "--task", help="obb: the vehicle detector; trailer-type: the trailer-type classifier (DATA: a types.csv of labelled real crops)."),
    images: Optional[Path] = typer.Option(None, "--images", help="With --task trailer-type: the folder the types.csv file paths are under (e.g. ../shared/data)."),
    quiet: Quiet = False,
) -> None:
    """Fine-tune an oriented (OBB) vehicle detector on labelled overhead imagery, degraded to satellite GSDs
    (or, with --task trailer-type, train the trailer-type classifier on synthetic and real crops).

    Writes the checkpoint, its ONNX export and a registry entry, and registers the model in the
    cache so that 'count --model NAME' uses it. Interrupted runs resume from the last epoch."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from geotally.models.local import register
    from geotally.training.run import run_training

    if task not in ("obb", "trailer-type"):
        raise GeotallyError(f"--task must be obb or trailer-type, got {task!r}")
    if task == "trailer-type":
        from geotally.training.trailer import TrailerTrainParams, run_trailer_training

        if len(data) != 1 or data[0].suffix.lower() != ".csv" or not data[0].is_file():
            raise GeotallyError("--task trailer-type takes one DATA: a types.csv of labelled crops "
                                "(see benchmarks/trailer_labels/README.md)")
        if images is None or not images.is_dir():
            raise GeotallyError("--task trailer-type needs --images DIR, the folder its file paths are under")
        tp = TrailerTrainParams(epochs=epochs if epochs is not None else TrailerTrainParams.epochs,
                                gsd_range=_gsd_range(gsd_range))
        entry = run_trailer_training(data[0], images, out_dir, name, tp, log=say_to(quiet))
        out.print(f"{name}: {entry} (copy it and its .onnx into src/geotally/models/weights to ship it)")
        return
    if images is not None:
        raise GeotallyError("--images is for --task trailer-type")

    if val_gsds is not None and not (val or val_exhaustive):
        raise GeotallyError("--val-gsds has no effect without --val or --val-exhaustive; give a held-out folder too")
    lo, hi = _gsd_range(gsd_range)
    say = say_to(quiet)
    ds = DatasetParams(model_gsd=model_gsd, imgsz=imgsz, copies=copies, copies_large=copies_large,
                       pseudo_score=pseudo_score, pseudo_teacher=pseudo_teacher, mask_score_large=mask_score_large,
                       degrade=DegradeParams(gsd_range=(lo, hi)))
    tp = TrainParams(base=base, epochs=TrainParams.epochs if epochs is None else epochs, batch=batch, imgsz=imgsz, device=device, warmup_epochs=warmup_epochs,
                     train_only=train_only, lr0=lr0)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, disable=quiet)
    tasks: dict = {}

    def step(kind: str):
        def on(done: int, total: int) -> None:
            if not tasks:  # shown from the first step on: an error before it is one line, with no bar
                progress.start()
            if kind not in tasks:
                tasks[kind] = progress.add_task(kind, total=total)
            progress.update(tasks[kind], completed=done, total=total)
        return on

    try:
        trained = run_training([str(d) for d in data], out_dir, name, excludes=exclude, exclude_lists=exclude_list,
                               synth=synth, dataset=ds, params=tp, say=say, on_prepare=step("preparing images"),
                               on_epoch=step("training epochs"))
    finally:
        if tasks:
            progress.stop()
    folder = register(trained.folder)
    if val or val_exhaustive:
        from geotally.training.fit import write_entry
        from geotally.training.sources import read_source
        from geotally.training.validate import validate

        items = [it for d in [*val, *val_exhaustive] for it in read_source(d)]
        say(f"validating on {len(items)} held-out images")
        gsds = list(parse_floats(val_gsds, "--val-gsds")) if val_gsds else list(VAL_GSDS)
        rows = validate(name, items, gsds, {str(d) for d in val_exhaustive})
        trained.entry["validation"] = {"folders": [str(d) for d in [*val, *val_exhaustive]], "rows": rows}
        write_entry(trained.folder, trained.entry)
        folder = register(trained.folder)
        for r in rows:
            extra = (f", precision {r['precision']}, count error {r['count_error']:+.1%}"
                     if r.get("precision") is not None else "")
            out.print(f"{r['gsd_m']} m {r['class']}: recall {r['recall']} ({r['found']}/{r['labelled']}){extra}")
    out.print(f"{name}: registered at {folder} (sha256 {trained.entry['sha256'][:12]}); "
              f"count with --model {name}")
