"""Every training default, declared once: degradation, dataset and training parameters (read by the CLI).

Kept free of heavy imports so that the CLI can read the defaults without loading OpenCV or torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geotally.config.defaults import STOCK_MODEL
from geotally.config.limits import check_number
from geotally.errors import GeotallyError


# GSDs (m) a trained model is validated at (train --val-gsds, the trailer-type classifier's card).
VAL_GSDS = (0.15, 0.3, 0.5)


@dataclass(frozen=True)
class DegradeParams:
    """Ranges sampled per copy; every default is declared here once."""

    gsd_range: tuple[float, float] = (0.15, 0.6)  # target metres per pixel
    blur_px: tuple[float, float] = (0.3, 0.7)  # optical blur sigma, in target pixels
    noise: tuple[float, float] = (0.0, 3.0)  # Gaussian noise sigma, grey levels
    jpeg: tuple[int, int] = (60, 95)  # JPEG quality
    gain: tuple[float, float] = (0.85, 1.15)

    def validate(self) -> None:
        """One-line error for a value out of range (train --gsd-range)."""
        lo, hi = self.gsd_range
        for v in (lo, hi):
            check_number("--gsd-range", v, 0.02, 5.0, what="metres")
        if lo > hi:
            raise GeotallyError(f"--gsd-range takes MIN,MAX with MIN <= MAX, got {lo:g},{hi:g}")



@dataclass(frozen=True)
class DatasetParams:
    model_gsd: float = 0.25
    imgsz: int = 512
    copies: int = 3
    # Extra degraded copies (up to this many in all) that keep only tiles holding a large vehicle:
    # real trucks are rare (about 350 in the developer data against 10,000 cars), so without this
    # a few car-park frames outweigh every truck. 0: none.
    copies_large: int = 0
    overlap: int = 64
    empty_keep: float = 0.25  # share of tiles with no label that are kept, as negatives
    mask_score: float = 0.4  # unlabelled detections above this are masked, not learnt as background
    # The same for unlabelled large-vehicle detections; None: mask_score. Lower masks more of the
    # buses and trucks that labels leave out in depots and stations (the stock model scores them low).
    mask_score_large: float | None = None
    # Unlabelled detections at or above this become labels (pseudo-labels) instead; None: never.
    pseudo_score: float | None = None
    # The registered model whose unlabelled detections are masked or pseudo-labelled, run at its own
    # model GSD; None: the stock model at the image's own scale (which also orients the labels).
    pseudo_teacher: str | None = None
    # Keep only labels whose angle was measured (oriented truth, a matched or pseudo-labelled
    # detection), dropping those it was guessed for (an elongated box's long side, the gradient
    # of a squarish one): for a heading refit, where a label left out teaches nothing else
    # (run_training sets it whenever TrainParams.train_only is "angle").
    measured_angles_only: bool = False
    seed: int = 0
    degrade: DegradeParams = field(default_factory=DegradeParams)

    def validate(self) -> None:
        """One-line error for a value out of range (the train options that build the dataset)."""
        check_number("--model-gsd", self.model_gsd, 0.02, 5.0, what="metres")
        check_number("--imgsz", self.imgsz, 64, 4096, integer=True)
        check_number("--copies", self.copies, 1, 1000, integer=True)
        check_number("--copies-large", self.copies_large, 0, 1000, integer=True)
        for name, score in (("--pseudo-score", self.pseudo_score), ("--mask-score-large", self.mask_score_large)):
            if score is not None:
                check_number(name, score, 0.05, 1.0, what="a detection score")
        check_number("mask_score", self.mask_score, 0.0, 1.0)
        self.degrade.validate()



@dataclass(frozen=True)
class TrainParams:
    """Every training setting, recorded in the registry entry. Defaults fit a ~1 h CPU run."""

    base: str = STOCK_MODEL  # registry name or a local .pt to start from
    epochs: int = 10
    batch: int = 16
    imgsz: int = 512
    workers: int = 1
    degrees: float = 180.0  # rotations keep oriented labels oriented and teach every heading
    flipud: float = 0.5
    fliplr: float = 0.5
    scale: float = 0.25  # zoom jitter on top of the GSD copies
    mosaic: float = 1.0
    close_mosaic: int = 2
    lr0: float = 0.002
    warmup_epochs: float = 3.0  # Ultralytics' own default; a short fine-tune of a tuned model needs less
    optimizer: str = "AdamW"
    seed: int = 0
    device: str | None = None  # None: cuda:0 when there is one, else cpu
    # "angle": every weight but the head's angle branch is frozen (batch-norm statistics too), so
    # boxes, classes and scores stay the base model's and only its headings are refitted. None: all.
    train_only: str | None = None

    def validate(self) -> None:
        """One-line error for a value out of range (the train options of the fit itself)."""
        check_number("--epochs", self.epochs, 1, 100_000, integer=True)
        check_number("--batch", self.batch, 1, 4096, integer=True)
        check_number("--imgsz", self.imgsz, 64, 4096, integer=True)
        if not (isinstance(self.lr0, (int, float)) and 0 < self.lr0 <= 1):  # NaN fails too
            raise GeotallyError(f"--lr0 must be a learning rate above 0 and at most 1, got {self.lr0}")
        check_number("--warmup-epochs", self.warmup_epochs, 0, 100)
        if self.train_only not in (None, "angle"):
            raise GeotallyError(f"--train-only takes 'angle', got {self.train_only!r}")
