"""geotally train: oriented labels from axis-aligned boxes, GSD degradation, the dataset, and a tiny run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from geotally.detect.boxes import xywhr_to_corners
from geotally.config.training import DatasetParams, DegradeParams
from geotally.training.dataset import TRAIN_IDS, build_dataset
from geotally.training.degrade import degrade, sample_gsd, to_model_scale
from geotally.training.orient import aabb_of, dominant_axis, fit_to_box, orient_labels
from geotally.training.sources import estimate_gsd, read_source

needs_ultralytics = pytest.mark.skipif(importlib.util.find_spec("ultralytics") is None,
                                       reason="training needs the [train] extra (Ultralytics, torch)")


def _boxes(n: int, rng) -> np.ndarray:
    """Random vehicle-like oriented boxes: length 4-18 px... (x, y, L, W, angle)."""
    length = rng.uniform(20, 60, n)
    return np.column_stack([rng.uniform(100, 400, n), rng.uniform(100, 400, n), length,
                            length / rng.uniform(2.0, 3.5, n), rng.uniform(-np.pi / 2, np.pi / 2, n)])


def _angle_err(a, b):
    d = np.abs(np.mod(a - b, np.pi))
    return np.degrees(np.minimum(d, np.pi - d))


def test_fit_to_box_recovers_length_and_width():
    rng = np.random.default_rng(0)
    b = _boxes(200, rng)
    b = b[np.abs(np.cos(2 * b[:, 4])) > 0.3]  # away from 45 degrees, where the solve is exact
    box = aabb_of(xywhr_to_corners(b))
    length, width = fit_to_box(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1], b[:, 4], np.full(len(b), 2.5))
    assert np.allclose(length, b[:, 2], rtol=1e-6) and np.allclose(width, b[:, 3], rtol=1e-6)


def test_matched_detections_give_labels_their_angle():
    rng = np.random.default_rng(1)
    truth = _boxes(30, rng)
    truth[:, 0] = np.arange(30) * 90 + 50  # apart, so each label matches its own detection
    corners = xywhr_to_corners(truth)
    quads = aabb_of(corners)
    quads = np.stack([quads[:, [0, 1]], quads[:, [2, 1]], quads[:, [2, 3]], quads[:, [0, 3]]], axis=1)
    dets = truth + np.column_stack([rng.normal(0, 1, (30, 2)), np.zeros((30, 2)), rng.normal(0, 0.03, 30)])
    o = orient_labels(quads, np.full(30, "large_vehicle", dtype=object), dets, np.zeros((600, 3000), np.uint8))
    assert (o.how == "matched").all()
    assert np.median(_angle_err(o.xywhr[:, 4], truth[:, 4])) < 3.0
    # The result's envelope is the label box (the label's extent is kept).
    assert np.abs(aabb_of(xywhr_to_corners(o.xywhr)) - aabb_of(quads)).max() < 2.0


def test_unmatched_boxes_elongated_keep_their_axis_and_squarish_use_the_pixels():
    img = np.full((200, 400), 90, np.uint8)
    rect = ((100.0, 100.0), (60.0, 22.0), 35.0)  # a bright vehicle at 35 degrees
    cv2.fillPoly(img, [cv2.boxPoints(rect).astype(np.int32)], 230)
    assert _angle_err(dominant_axis(img, np.array([60, 60, 140, 140])), np.radians(35)) < 5
    quads = np.array([[[50, 60], [150, 60], [150, 140], [50, 140]],  # squarish: the gradient decides
                      [[250, 90], [370, 90], [370, 110], [250, 110]]], float)  # elongated: along x
    o = orient_labels(quads, np.array(["large_vehicle"] * 2, dtype=object), np.zeros((0, 5)), img)
    assert o.how.tolist() == ["gradient", "elongated"]
    assert _angle_err(o.xywhr[0, 4], np.radians(35)) < 6
    assert o.xywhr[1, 4] == 0.0 and o.xywhr[1, 2] == 120 and o.xywhr[1, 3] == 20


def test_degrade_area_reduces_to_the_target_gsd():
    rng = np.random.default_rng(2)
    img = np.full((600, 800, 3), 120, np.uint8)
    img[200:260, 300:320] = 250  # a 6 x 2 m bright truck at 0.1 m
    out = degrade(img, 0.1, 0.5, DegradeParams(noise=(0, 0), gain=(1, 1)), rng)
    assert out.shape == (120, 160, 3)
    # The truck's brightness survives area reduction: its 12 x 4 pixel block is still bright.
    assert out[42:50, 61:63].mean() > 180 and abs(float(np.median(out)) - 120) < 10
    up = to_model_scale(out, 0.5, 0.25)
    assert up.shape == (240, 320, 3)
    g = [sample_gsd(0.12, DegradeParams(gsd_range=(0.15, 0.6)), rng) for _ in range(200)]
    assert 0.15 <= min(g) and max(g) <= 0.6 and sample_gsd(0.8, DegradeParams(), rng) == 0.8


def test_estimate_gsd_from_car_sizes():
    rng = np.random.default_rng(3)
    b = _boxes(20, rng)
    b[:, 2], b[:, 3] = 4.6 / 0.12, 1.8 / 0.12  # cars at 0.12 m
    gsd = estimate_gsd(xywhr_to_corners(b), np.full(20, "small_vehicle", dtype=object), 0.3)
    assert abs(gsd - 0.12) < 1e-6
    # Nothing of known size labelled (planes only): the default.
    assert estimate_gsd(xywhr_to_corners(b[:2]), np.full(2, "plane", dtype=object), 0.3) == 0.3


def _axis_boxes(b: np.ndarray) -> np.ndarray:
    """The axis-aligned boxes of oriented ones, as corner quads (how SIMD and KIT label)."""
    q = aabb_of(xywhr_to_corners(b))
    return np.stack([q[:, [0, 1]], q[:, [2, 1]], q[:, [2, 3]], q[:, [0, 3]]], axis=1)


def test_estimate_gsd_from_axis_aligned_buses_at_any_angle():
    """An image whose only labels are buses (SIMD has 50 such) gets its GSD from them, and a
    diagonal bus's axis-aligned box is not taken for a short bus."""
    b = np.column_stack([np.full(6, 300.0), np.full(6, 300.0), np.full(6, 12.0 / 0.22), np.full(6, 2.55 / 0.22),
                         np.radians([5, 30, 45, 50, 70, 88])])
    box = _axis_boxes(b)
    cls = np.full(6, "large_vehicle", dtype=object)
    gsd = estimate_gsd(box, cls, 0.12, np.full(6, "bus", dtype=object), axis_aligned=True)
    assert abs(gsd - 0.22) < 0.22 * 0.02
    # Alone, the bus at 45°: its box's long side would put it at 0.26 m; its box solved, 0.22 m.
    one = box[2:3]
    assert 12.0 / (one[0, 1, 0] - one[0, 0, 0]) > 0.25
    assert abs(estimate_gsd(one, cls[:1], 0.12, np.array(["bus"], dtype=object), True) - 0.22) < 0.22 * 0.02
    # Trucks (their labels mix pickups and lorries) count only where nothing else is labelled.
    names = np.array(["bus"] * 6 + ["truck"] * 10, dtype=object)
    trucks = np.column_stack([np.full(10, 300.0), np.full(10, 300.0), np.full(10, 7.3 / 0.4), np.full(10, 2.4 / 0.4),
                              np.zeros(10)])
    both = np.concatenate([box, _axis_boxes(trucks)])
    assert abs(estimate_gsd(both, np.full(16, "large_vehicle", dtype=object), 0.12, names, True) - 0.22) < 0.005
    only_trucks = estimate_gsd(_axis_boxes(trucks), np.full(10, "large_vehicle", dtype=object), 0.12,
                               np.full(10, "truck", dtype=object), True)
    assert abs(only_trucks - 0.4) < 0.01


def _yolo_folder(root: Path, rng, n_images: int = 3) -> tuple[Path, int]:
    """A YOLO folder of generated images with bright 'cars' and their axis-aligned boxes."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.names").write_text("car\ntruck\ncyclist\n")
    total = 0
    for k in range(n_images):
        img = np.full((400, 500, 3), 100, np.uint8)
        rows = []
        for j in range(8):
            x, y = 40 + 55 * j, 60 + 40 * (j % 3) + 80 * (k % 2)
            cv2.rectangle(img, (x, y), (x + 38, y + 16), (220, 220, 220), -1)
            rows.append(f"0 {(x + 19) / 500:.5f} {(y + 8) / 400:.5f} {38 / 500:.5f} {16 / 400:.5f}")
        rows.append("2 0.5 0.9 0.02 0.02")  # a cyclist: masked, not a vehicle, not background
        total += 8
        cv2.imwrite(str(root / "images" / f"img{k}.png"), img)
        (root / "labels" / f"img{k}.txt").write_text("\n".join(rows) + "\n")
    return root, total


def test_dataset_writes_clipped_normalised_oriented_labels(tmp_path):
    rng = np.random.default_rng(4)
    root, total = _yolo_folder(tmp_path / "yolo", rng)
    items = read_source(root)
    assert len(items) == 3 and all(it.axis_aligned for it in items)
    assert abs(items[0].gsd - 4.6 / 38) < 0.03 * 4.6 / 38  # from the car boxes
    p = DatasetParams(model_gsd=items[0].gsd, imgsz=256, copies=1, empty_keep=1.0,
                      degrade=DegradeParams(gsd_range=(items[0].gsd, items[0].gsd)))
    s = build_dataset(items, tmp_path / "ds", p, detect=None)
    labels = sorted((tmp_path / "ds" / "labels" / "train").glob("*.txt"))
    rows, centres = [], []
    for f in labels:
        stem, tx, ty = f.stem.rsplit("_", 2)
        for ln in f.read_text().splitlines():
            r = ln.split()
            rows.append(r)
            quad = np.array([float(v) for v in r[1:]]).reshape(4, 2)
            assert quad.min() >= 0 and quad.max() <= 1
            centres.append((stem.split("_c")[0], *(quad.mean(axis=0) * 256 + [int(tx), int(ty)])))
    assert rows and all(r[0] == str(TRAIN_IDS["small_vehicle"]) for r in rows)
    assert s.labels == {"small_vehicle": len(rows)}
    # Back in image pixels, every car is labelled in some tile, and every label sits on a car.
    for it in items:
        truth = it.corners[it.cls == "small_vehicle"].mean(axis=1)
        got = np.array([c[1:] for c in centres if c[0] == it.path.stem])
        d = np.hypot(truth[:, None, 0] - got[None, :, 0], truth[:, None, 1] - got[None, :, 1])
        assert d.min(axis=1).max() < 3.0 and d.min(axis=0).max() < 10.0
    imgs = list((tmp_path / "ds" / "images" / "train").glob("*.jpg"))
    assert len(imgs) == s.tiles and all(cv2.imread(str(f)).shape[:2] == (256, 256) for f in imgs)
    assert s.masked == 3 and s.orientation.get("elongated") == total
    assert "names:" in (tmp_path / "ds" / "data.yaml").read_text()


def test_pseudo_labels_teach_unlabelled_detections_and_mask_the_doubtful(tmp_path):
    from geotally.training.dataset import prepare

    rng = np.random.default_rng(6)
    root, _ = _yolo_folder(tmp_path / "yolo", rng, n_images=1)
    img = cv2.imread(str(root / "images" / "img0.png"))
    dark = [(60, 300), (200, 300), (340, 300)]  # three dark cars no label boxes
    for x, y in dark:
        cv2.rectangle(img, (x, y), (x + 38, y + 16), (30, 30, 30), -1)
    cv2.imwrite(str(root / "images" / "img0.png"), img)
    item = read_source(root)[0]
    n_labels = int((item.cls != "ignore").sum())
    # The teacher finds the three: a confident car, a confident truck, a doubtful car.
    found = np.array([[79, 308, 38, 16, 0, 0.8, 0], [219, 308, 38, 16, 0, 0.7, 1], [359, 308, 38, 16, 0, 0.45, 0]],
                     float)

    def teacher(path, gsd):
        return found

    out, corners, cls, how, masked = prepare(item, teacher, mask_score=0.4, pseudo_score=0.6)
    assert how["pseudo"] == 2 and len(corners) == n_labels + 2
    new = {tuple(np.round(c.mean(axis=0))): k for c, k in zip(corners[n_labels:], cls[n_labels:])}
    assert new == {(79.0, 308.0): "small_vehicle", (219.0, 308.0): "large_vehicle"}
    # The doubtful one is masked with the image's median grey; the taught ones keep their pixels.
    assert out[308, 359].tolist() == [100, 100, 100] and out[308, 79].tolist() == [30, 30, 30]
    assert masked == 1 + 1  # the doubtful car and the cyclist
    # Without pseudo-labels all three are masked (score >= 0.4) and none is taught.
    out0, corners0, _, how0, masked0 = prepare(item, teacher, mask_score=0.4)
    assert how0["pseudo"] == 0 and len(corners0) == n_labels and masked0 == 3 + 1
    assert out0[308, 79].tolist() == [100, 100, 100]
    # A pseudo-teacher: the orienting detector finds none of them, a second one finds all three;
    # the second one decides what is taught and masked, and the labels keep their orientation.
    out2, corners2, cls2, how2, masked2 = prepare(item, lambda p, g: np.zeros((0, 7)), mask_score=0.4,
                                                  pseudo_score=0.6, unlabelled=teacher)
    assert how2["pseudo"] == 2 and masked2 == 1 + 1
    assert {tuple(np.round(c.mean(axis=0))): k for c, k in zip(corners2[n_labels:], cls2[n_labels:])} == new
    assert np.allclose(corners2[:n_labels], corners[:n_labels]) and out2[308, 359].tolist() == [100, 100, 100]


def test_low_scoring_unlabelled_trucks_are_masked_only_clear_of_labels(tmp_path):
    from geotally.training.dataset import prepare
    from geotally.training.orient import aabb_of

    rng = np.random.default_rng(6)
    root, _ = _yolo_folder(tmp_path / "yolo", rng, n_images=1)
    img = cv2.imread(str(root / "images" / "img0.png"))
    cv2.rectangle(img, (200, 300), (300, 325), (30, 30, 30), -1)  # a bus no label boxes
    cv2.imwrite(str(root / "images" / "img0.png"), img)
    item = read_source(root)[0]
    car = aabb_of(item.corners[item.cls == "small_vehicle"][:1])[0]
    # Two doubtful large-vehicle boxes: one on the unlabelled bus, one reaching over a labelled car
    # (its centre outside the car's box, so no label covers it).
    over = [car[2] + 20, (car[1] + car[3]) / 2, 60, 16, 0, 0.2, 1]
    found = np.array([[250, 312, 100, 25, 0, 0.2, 1], over], float)
    base = prepare(item, lambda p, g: found, mask_score=0.4)
    low = prepare(item, lambda p, g: found, mask_score=0.4, mask_score_large=0.1)
    assert base[4] + 1 == low[4]  # one more masked: the bus, not the box over the car
    assert base[0][312, 250].tolist() == [30, 30, 30] and low[0][312, 250].tolist() == [100, 100, 100]
    cx, cy = int((car[0] + car[2]) / 2), int((car[1] + car[3]) / 2)
    assert low[0][cy, cx].tolist() == base[0][cy, cx].tolist()  # the labelled car keeps its pixels


def test_measured_angles_only_leaves_out_labels_whose_angle_was_guessed(tmp_path):
    from geotally.training.dataset import prepare

    root, _ = _yolo_folder(tmp_path / "yolo", np.random.default_rng(6), n_images=1)
    item = read_source(root)[0]
    cars = np.flatnonzero(item.cls == "small_vehicle")
    box = aabb_of(item.corners[cars[:3]])  # a detector matches three of the eight cars, at 10 degrees
    found = np.column_stack([(box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2, box[:, 2] - box[:, 0] - 4,
                             box[:, 3] - box[:, 1] - 6, np.full(3, np.radians(10)), np.full(3, 0.9), np.zeros(3)])
    all_, kept = (prepare(item, lambda p, g: found, mask_score=0.4, measured_angles_only=m) for m in (False, True))
    assert all_[3]["matched"] == 3 and all_[3]["elongated"] == 5 and len(all_[1]) == 8
    assert kept[3]["dropped_guessed_angle"] == 5 and len(kept[1]) == 3
    assert np.allclose(kept[1], all_[1][:3])  # the measured ones, oriented as before
    # Left out, not masked: the five keep their pixels, and the count of masked boxes is unchanged.
    assert kept[4] == all_[4] == 1 and np.array_equal(kept[0], all_[0])


@needs_ultralytics
@pytest.mark.slow
def test_train_only_angle_changes_the_angle_branch_and_nothing_else(tmp_path, monkeypatch):
    """A tiny run on oriented labels: every weight and batch-norm statistic but the head's angle
    branch is the base model's, and the angle branch has learnt."""
    import torch

    from geotally.models.cache import ensure_model
    from geotally.models.registry import REGISTRY
    from geotally.config.training import TrainParams
    from geotally.training.fit import train

    root, rng = tmp_path / "obb", np.random.default_rng(3)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "classes.names").write_text("car\n")
    for k in range(2):
        img = np.full((256, 256, 3), 90, np.uint8)
        xywhr = np.column_stack([rng.uniform(30, 226, 6), rng.uniform(30, 226, 6), np.full(6, 19.0), np.full(6, 8.0),
                                 rng.uniform(-np.pi / 2, np.pi / 2, 6)])
        quads = xywhr_to_corners(xywhr)
        rows = []
        for q in quads:
            cv2.fillPoly(img, [np.round(q).astype(np.int32)], (230, 230, 230))
            rows.append("0 " + " ".join(f"{v / 256:.5f}" for v in q.reshape(-1)))
        cv2.imwrite(str(root / "images" / f"o{k}.png"), img)
        (root / "labels" / f"o{k}.txt").write_text("\n".join(rows) + "\n")
    ds = build_dataset(read_source(root), tmp_path / "ds", DatasetParams(imgsz=128, copies=1, measured_angles_only=True))
    assert ds.labels.get("small_vehicle", 0) > 0  # oriented truth is measured: nothing left out
    base = ensure_model(REGISTRY["yolov8n-obb-dota"])
    last = train(ds.root / "data.yaml", tmp_path / "run" / "r",
                 TrainParams(base=str(base), epochs=1, batch=2, imgsz=128, train_only="angle", warmup_epochs=0,
                             lr0=0.05, device="cpu"))
    before = torch.load(base, map_location="cpu", weights_only=False)["model"].float().state_dict()
    after = torch.load(last, map_location="cpu", weights_only=False)["model"].float().state_dict()
    # Tolerance: the checkpoint is the half-precision EMA of the weights, which rounds a constant.
    changed = {k for k in before if not torch.allclose(before[k], after[k], rtol=1e-3, atol=1e-4)}
    assert changed and all(".cv4." in k for k in changed), sorted(changed)[:5]


@needs_ultralytics
@pytest.mark.slow
def test_extra_copies_keep_only_tiles_with_a_large_vehicle(tmp_path):
    rng = np.random.default_rng(5)
    root, _ = _yolo_folder(tmp_path / "yolo", rng, n_images=2)
    img = cv2.imread(str(root / "images" / "img0.png"))
    cv2.rectangle(img, (40, 300), (140, 330), (240, 240, 240), -1)  # a truck, bottom left of img0
    cv2.imwrite(str(root / "images" / "img0.png"), img)
    with open(root / "labels" / "img0.txt", "a") as f:
        f.write(f"1 {90 / 500:.5f} {315 / 400:.5f} {100 / 500:.5f} {30 / 400:.5f}\n")
    items = read_source(root)
    g = items[0].gsd
    p = DatasetParams(model_gsd=g, imgsz=128, overlap=0, copies=1, copies_large=3, empty_keep=1.0,
                      degrade=DegradeParams(gsd_range=(g, g)))
    build_dataset(items, tmp_path / "ds", p, detect=None)
    tiles = sorted((tmp_path / "ds" / "labels" / "train").glob("*.txt"))
    by_copy = {c: [f for f in tiles if f"_c{c}_" in f.name] for c in range(4)}
    large = str(TRAIN_IDS["large_vehicle"])
    # The first copy keeps every tile of both images; the two extra ones only img0's truck tiles.
    assert {f.name.split("_c")[0] for f in by_copy[0]} == {"img0", "img1"}
    assert len(by_copy[0]) > 10 and not by_copy[3]
    for c in (1, 2):
        assert by_copy[c] and all(f.name.startswith("img0_") for f in by_copy[c])
        assert all(any(r.split()[0] == large for r in f.read_text().splitlines()) for f in by_copy[c])
    # copies_large 0 (the default) adds nothing.
    build_dataset(items, tmp_path / "ds0", DatasetParams(model_gsd=g, imgsz=128, overlap=0, copies=1, empty_keep=1.0,
                                                         degrade=DegradeParams(gsd_range=(g, g))), detect=None)
    assert not [f for f in (tmp_path / "ds0" / "labels" / "train").glob("*_c1_*")]


def test_tiny_training_run_registers_a_usable_model(tmp_path, border_scene, monkeypatch):
    """Mechanics only (two images, one epoch): the model is trained, exported, registered and counts."""
    monkeypatch.setenv("GEOTALLY_CACHE_DIR", str(tmp_path / "cache"))
    from geotally.models.cache import cache_dir, ensure_model
    from geotally.models.registry import REGISTRY

    import os
    shared = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "geotally" / "models"
    stock = REGISTRY["yolov8n-obb-dota"]
    if (shared / stock.name / stock.filename).exists():  # reuse the machine's verified copy, no download
        (cache_dir() / "models" / stock.name).mkdir(parents=True)
        (cache_dir() / "models" / stock.name / stock.filename).write_bytes((shared / stock.name / stock.filename).read_bytes())
    ensure_model(stock)
    root, _ = _yolo_folder(tmp_path / "yolo", np.random.default_rng(5), n_images=2)
    env = dict(os.environ, GEOTALLY_CACHE_DIR=str(tmp_path / "cache"))
    held, _ = _yolo_folder(tmp_path / "held-out", np.random.default_rng(6), n_images=1)
    cmd = [sys.executable, "-m", "geotally.cli", "train", str(root), "--name", "tiny-test", "--out",
           str(tmp_path / "run"), "--epochs", "1", "--imgsz", "128", "--batch", "2", "--copies", "1",
           "--val-exhaustive", str(held), "--val-gsds", "0.3", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    entry = json.loads((tmp_path / "cache" / "models" / "tiny-test" / "entry.json").read_text())
    assert entry["training"]["images"] == 2 and entry["native_gsd_m"] == 0.25 and entry["file"].endswith(".onnx")
    (row,) = entry["validation"]["rows"]  # 8 cars in the held-out image, counted at 0.3 m
    assert row["class"] == "small_vehicle" and row["labelled"] == 8 and row["gsd_m"] == 0.3
    assert row["detected"] >= row["found"] and 0 <= row["recall"] <= 1 and "count_error" in row
    listed = subprocess.run([sys.executable, "-m", "geotally.cli", "models", "list"], capture_output=True,
                            text=True, env=env)
    assert "tiny-test" in listed.stdout
    # A second run resumes: the dataset is reused and training is already complete.
    again = subprocess.run(cmd[:-1], capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "reusing it" in again.stderr
    counted = subprocess.run([sys.executable, "-m", "geotally.cli", "count", border_scene["scene"], "--model",
                              "tiny-test", "--out", str(tmp_path / "res"), "--quiet"], capture_output=True, text=True,
                             env=env)
    assert counted.returncode == 0, counted.stderr
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["model"]["name"] == "tiny-test" and summary["model"]["sha256"] == entry["sha256"]


def test_a_heading_refit_keeps_the_thresholds_chosen_for_its_base(tmp_path):
    """--train-only angle leaves scores as they were, so the base's chosen thresholds carry over;
    a base known only by a checkpoint file is recognised by its sha256."""
    from geotally.models.registry import DEFAULT_MODEL, REGISTRY, SHIPPED
    from geotally.training.run import base_thresholds

    spec = REGISTRY[DEFAULT_MODEL]
    if not spec.conf or spec.checkpoint is None:
        pytest.skip("the default model ships no thresholds or no checkpoint")
    assert base_thresholds(DEFAULT_MODEL) == spec.conf
    assert base_thresholds(str(SHIPPED / spec.checkpoint)) == spec.conf
    other = tmp_path / "other.pt"
    other.write_bytes(b"not a registered checkpoint")
    assert base_thresholds(str(other)) is None and base_thresholds("yolov8n-obb-dota") is None
