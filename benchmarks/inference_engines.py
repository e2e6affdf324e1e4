"""fp32 ONNX Runtime against int8 ONNX (dynamic and static quantisation) and OpenVINO, on one model.

Speed: median seconds per 1024 x 1024 tile (batch 1, all cores, 10 runs after 2 warm-ups) on real
tiles. Agreement: the same tiles decoded with geotally's decoder at the default score floor, boxes
matched to fp32 ones by centre (2 px): the share of fp32 detections each engine reproduces, and
how many it adds. The full accuracy table for an engine that wins comes from
`python -m benchmarks.accuracy --models ...` after registering its file.

    python -m benchmarks.inference_engines [--model geotally-vehicles-v1] [--out bench-out/engines]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.data import SIMD, simd_name_list


def tiles_for_test(n: int = 6) -> list[np.ndarray]:
    """Real 1024 px tiles: SIMD validation images at 0.25 m side by side (model scale), RGB."""
    names = simd_name_list("val")[: n * 4]
    out = []
    for k in range(n):
        canvas = np.zeros((1024, 1024, 3), np.uint8)
        for j, name in enumerate(names[k * 4:(k + 1) * 4]):
            img = cv2.imread(str(SIMD / "images" / f"{name}.jpg"))[..., ::-1]
            small = cv2.resize(img, (491, 368), interpolation=cv2.INTER_AREA)
            y, x = (j // 2) * 512, (j % 2) * 512
            canvas[y:y + 368, x:x + 491] = small
        out.append(canvas)
    return out


def timed(fn, x: np.ndarray, reps: int = 10) -> float:
    for _ in range(2):
        fn(x)
    secs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(x)
        secs.append(time.perf_counter() - t0)
    return statistics.median(secs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default="bench-out/engines")
    args = ap.parse_args()
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

    from geotally.models.backends import OnnxDetector
    from geotally.models.cache import ensure_model
    from geotally.models.registry import DEFAULT_MODEL, get_spec

    spec = get_spec(args.model or DEFAULT_MODEL)
    fp32 = ensure_model(spec)
    if fp32.suffix != ".onnx":
        sys.exit(f"{spec.name} is not an ONNX model")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tiles = tiles_for_test()
    x_all = [t.transpose(2, 0, 1)[None].astype(np.float32) / 255.0 for t in tiles]
    meta = {p.key: p.value for p in onnx.load(str(fp32), load_external_data=False).metadata_props}

    def keep_meta(path: Path) -> Path:
        m = onnx.load(str(path))
        del m.metadata_props[:]
        for k, v in meta.items():
            m.metadata_props.add(key=k, value=v)
        onnx.save(m, str(path))
        return path

    dyn = out / "int8-dynamic.onnx"
    quantize_dynamic(str(fp32), str(dyn), weight_type=QuantType.QUInt8)
    keep_meta(dyn)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(x_all)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"images": x}

    static = out / "int8-static.onnx"
    quantize_static(str(fp32), str(static), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    keep_meta(static)
    # The same with the detection head (model.22: box, class and angle branches) left in fp32,
    # the usual remedy when quantised scores collapse.
    head = [n.name for n in onnx.load(str(fp32)).graph.node if "/model.22/" in n.name]
    static_body = out / "int8-static-head-fp32.onnx"
    quantize_static(str(fp32), str(static_body), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=head)
    keep_meta(static_body)

    engines = {}
    for label, path in (("ONNX Runtime fp32", fp32), ("ONNX Runtime int8 dynamic", dyn),
                        ("ONNX Runtime int8 static (QDQ)", static),
                        ("ONNX Runtime int8 static, head in fp32", static_body)):
        det = OnnxDetector(path, 0.1, 0.7, 1024)
        engines[label] = (lambda d: lambda x: d.session.run(None, {d.input_name: x})[0])(det)
    try:
        import openvino as ov

        core = ov.Core()
        compiled = core.compile_model(str(fp32), "CPU")
        engines["OpenVINO fp32 (CPU plugin)"] = lambda x: compiled(x)[0]
    except ImportError:
        print("openvino not installed (pip install openvino): skipped")
    ref_det = OnnxDetector(fp32, 0.1, 0.7, 1024)
    ref = [ref_det._decode(engines["ONNX Runtime fp32"](x)[0], 1.0) for x in x_all]
    base_t = None
    print(f"model {spec.name}, {len(tiles)} real 1024 px tiles, 2 cores\n")
    print("| engine | s per tile | × fp32 | fp32 detections reproduced | extra detections |")
    print("|---|---|---|---|---|")
    for label, fn in engines.items():
        t = statistics.median(timed(fn, x) for x in x_all[:3])
        base_t = base_t or t
        found, extra, total = 0, 0, 0
        for x, r in zip(x_all, ref):
            b = ref_det._decode(np.asarray(fn(x))[0], 1.0)
            total += len(r.score)
            if len(b.score) and len(r.score):
                d = np.hypot(r.xywhr[:, None, 0] - b.xywhr[None, :, 0], r.xywhr[:, None, 1] - b.xywhr[None, :, 1])
                hit = d.min(axis=1) <= 2.0
                found += int(hit.sum())
                extra += int((d.min(axis=0) > 2.0).sum())
            else:
                extra += len(b.score)
        print(f"| {label} | {t:.3f} | {base_t / t:.2f} | {found / max(total, 1):.3f} ({found}/{total}) | {extra} |")
    print(f"\nquantised files in {out} (onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
