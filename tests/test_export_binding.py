"""A cached ONNX export runs only while it is bound to its checkpoint: the export's metadata names the
checkpoint's sha256, the exporter, and the sha256 of its own graph and weights. Changing the weights and
rewriting the sidecar checksum (or naming another checkpoint) gets it exported again, never run."""

import json

import pytest

pytest.importorskip("ultralytics", reason="exports need the train extra (torch, Ultralytics)")
onnx = pytest.importorskip("onnx")

from conftest import run  # noqa: E402
from geotally.imagery.checksum import file_sha256  # noqa: E402
from geotally.models import ensure_model, get_spec  # noqa: E402
from geotally.models.export import SOURCE_KEY, export_binding, onnx_export  # noqa: E402


@pytest.fixture
def pt(tmp_path):
    p = tmp_path / "m.pt"
    p.write_bytes(ensure_model(get_spec("yolov8n-obb-dota")).read_bytes())
    return p


def _rewrite(path, change) -> None:
    """Edit an export with the onnx tools, keeping its metadata, and rewrite its sidecar to match."""
    model = onnx.load(str(path))
    change(model)
    onnx.save(model, str(path))
    path.with_suffix(".onnx.sha256").write_text(file_sha256(path) + "\n")


def _zero_weights(model) -> None:
    for init in model.graph.initializer:
        if init.raw_data:
            init.raw_data = bytes(len(init.raw_data))


def _other_source(model) -> None:
    for p in model.metadata_props:
        if p.key == SOURCE_KEY:
            p.value = "0" * 64


@pytest.mark.parametrize("tamper", [_zero_weights, _other_source], ids=["weights-changed", "another-checkpoint"])
def test_a_tampered_export_with_a_rewritten_sidecar_is_exported_again(pt, tamper):
    path, digest = onnx_export(pt, 256)
    assert export_binding(path)[SOURCE_KEY] == file_sha256(pt)
    _rewrite(path, tamper)
    assert export_binding(path) == {} or export_binding(path)[SOURCE_KEY] != file_sha256(pt)
    notes = []
    again, digest2 = onnx_export(pt, 256, say=notes.append)
    assert any("exporting again" in n for n in notes)
    assert export_binding(again)[SOURCE_KEY] == file_sha256(pt) and digest2 == file_sha256(again)


def test_the_run_records_the_export_it_ran(tmp_path, monkeypatch, capsys, border_scene):
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", border_scene["scene"], "--model", "yolov8n-obb-dota",
                       "--backend", "onnx", "--tile-size", "512", "--out", out, "-q")
    assert code == 0, err
    model = json.loads((out / "summary.json").read_text())["model"]
    assert model["run_file"].endswith("-512.onnx")
    assert model["run_file_sha256"] == file_sha256(model["run_file"]) != model["sha256"]
    assert export_binding(model["run_file"])[SOURCE_KEY] == model["sha256"]
