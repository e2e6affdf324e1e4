"""The CPU engine and its settings: ONNX Runtime's own options and OpenVINO against geotally's engine
as it runs today, and fp32 ONNX Runtime against int8 quantisations.

Options (``--part options``): real 1024 px tiles in batches of 4, as a count runs them. Per engine:
seconds to load (session made or model compiled), median seconds per batch over interleaved rounds
(every engine once per round, so a busy machine slows all of them alike), the largest difference of
its raw output from today's, and whether every tile decodes to exactly the same detections
(identical boxes, scores and classes), else how many differ. An engine is worth adopting only at
identical detections.

Quantised (``--part quantised``): median seconds per tile (batch 1, all cores, 10 runs after 2
warm-ups). Agreement: the same tiles decoded with geotally's decoder at the default score floor,
boxes matched to fp32 ones by centre (2 px): the share of fp32 detections each engine reproduces,
and how many it adds. The full accuracy table for an engine that wins comes from
`python -m benchmarks.accuracy --models ...` after registering its file.

    python -m benchmarks.inference_engines [--part options|quantised|all] [--rounds 5] [--tiles 8]
                                           [--model geotally-vehicles-v1] [--out bench-out/engines]
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


def ort_engine(path: Path, threads: int, *, level: str | None = None, intra: int | None = None, inter: int = 1,
               parallel: bool = False, spinning: bool = True, iobinding: bool = False):
    """An ONNX Runtime session with these options: (run(x) -> first output, seconds to make it)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = intra or threads
    opts.inter_op_num_threads = inter
    if level is not None:
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    if parallel:
        opts.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    t0 = time.perf_counter()
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - t0
    name, out = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    if not iobinding:
        return (lambda x: sess.run(None, {name: x})[0]), load

    def bound(x: np.ndarray) -> np.ndarray:
        b = sess.io_binding()
        b.bind_cpu_input(name, x)
        b.bind_output(out, "cpu")
        sess.run_with_iobinding(b)
        return b.copy_outputs_to_cpu()[0]

    return bound, load


def openvino_engine(path: Path, threads: int, *, hint: str = "LATENCY", precision: str | None = "f32",
                    batch: int | None = None, cache: bool = False):
    """An OpenVINO CPU model compiled from the ONNX file: (run(x) -> first output, seconds to compile).
    ``batch`` fixes the input shape (n, 3, 1024, 1024) before compiling; None keeps it dynamic.
    ``cache``: compiled once into a cache folder first, and the seconds are those of loading it again."""
    import tempfile

    import openvino as ov

    core = ov.Core()
    cfg = {"PERFORMANCE_HINT": hint, "INFERENCE_NUM_THREADS": threads}
    if precision:
        cfg["INFERENCE_PRECISION_HINT"] = precision
    if cache:
        core.set_property({"CACHE_DIR": tempfile.mkdtemp(prefix="geotally-ov-cache-")})
        core.compile_model(str(path), "CPU", cfg)  # fills the cache
    t0 = time.perf_counter()
    if batch:
        model = core.read_model(str(path))
        model.reshape([batch, 3, 1024, 1024])
        compiled = core.compile_model(model, "CPU", cfg)
    else:  # from the file: the path a compiled-model cache is keyed on
        compiled = core.compile_model(str(path), "CPU", cfg)
    load = time.perf_counter() - t0
    req = compiled.create_infer_request()
    return (lambda x: np.asarray(req.infer({0: x})[0])), load


def options_table(fp32: Path, n_tiles: int, rounds: int, batch: int = 4) -> None:
    """Engines and settings on the same batches, interleaved rounds; see the module docstring."""
    import os

    from geotally.models.backends import OnnxDetector, default_threads

    threads = default_threads()
    tiles = tiles_for_test(n_tiles)
    xs = [np.stack(tiles[i:i + batch]).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
          for i in range(0, len(tiles), batch)]
    makers = {
        "ONNX Runtime as geotally runs it on free cores (all graph optimisations, intra-op threads = cores, "
        "sequential, spin-waiting)": lambda: ort_engine(fp32, threads),
        "ONNX Runtime, no spin-waiting (geotally beside other work)": lambda: ort_engine(fp32, threads, spinning=False),
        "ONNX Runtime, graph optimisation basic": lambda: ort_engine(fp32, threads, level="ORT_ENABLE_BASIC"),
        "ONNX Runtime, graph optimisation extended": lambda: ort_engine(fp32, threads, level="ORT_ENABLE_EXTENDED"),
        "ONNX Runtime, graph optimisation off": lambda: ort_engine(fp32, threads, level="ORT_DISABLE_ALL"),
        "ONNX Runtime, 1 intra-op thread": lambda: ort_engine(fp32, threads, intra=1),
        f"ONNX Runtime, {2 * threads} intra-op threads": lambda: ort_engine(fp32, threads, intra=2 * threads),
        "ONNX Runtime, parallel execution, 2 inter-op threads":
            lambda: ort_engine(fp32, threads, parallel=True, inter=2),
        "ONNX Runtime, I/O binding": lambda: ort_engine(fp32, threads, iobinding=True),
    }
    try:
        import openvino as ov

        makers.update({
            "OpenVINO fp32, latency hint, dynamic shape": lambda: openvino_engine(fp32, threads),
            f"OpenVINO fp32, latency hint, batch fixed at {batch}": lambda: openvino_engine(fp32, threads, batch=batch),
            "OpenVINO fp32, throughput hint": lambda: openvino_engine(fp32, threads, hint="THROUGHPUT"),
            "OpenVINO, its default precision": lambda: openvino_engine(fp32, threads, precision=None),
            "OpenVINO fp32, throughput hint, compiled model cached (CACHE_DIR, second load)":
                lambda: openvino_engine(fp32, threads, hint="THROUGHPUT", cache=True),
        })
        ov_version = ov.__version__
    except ImportError:
        ov_version = None
        print("openvino not installed (pip install openvino): its rows are left out\n")
    import onnxruntime as ort

    ref_det = OnnxDetector(fp32, 0.1, 0.7, 1024, threads)
    engines, loads = {}, {}
    for label, make in makers.items():
        engines[label], loads[label] = make()
    ref_out = [engines[next(iter(engines))](x) for x in xs]
    ref_boxes = [[ref_det._decode(o, 1.0) for o in out] for out in ref_out]
    wall: dict[str, list[float]] = {k: [] for k in engines}
    cpu: dict[str, list[float]] = {k: [] for k in engines}
    agree: dict[str, tuple[float, int]] = {}
    for label, fn in engines.items():  # one warm-up run each, which is also the one compared
        outs = [fn(x) for x in xs if (x.shape[0] == batch or "fixed" not in label)]
        diff = max(float(np.abs(o - r).max()) for o, r in zip(outs, ref_out))
        differ, unmatched = 0, 0
        for out, ref in zip(outs, ref_boxes):
            for o, r in zip(out, ref):
                b = ref_det._decode(o, 1.0)
                same = (b.xywhr.shape == r.xywhr.shape and np.array_equal(b.xywhr, r.xywhr)
                        and np.array_equal(b.score, r.score) and np.array_equal(b.cls, r.cls))
                differ += not same
                unmatched += _unmatched(r, b)
        agree[label] = (diff, differ, unmatched)
    for _ in range(rounds):
        for label, fn in engines.items():
            t0, c0 = time.perf_counter(), time.process_time()
            for x in xs:
                if x.shape[0] == batch or "fixed" not in label:
                    fn(x)
            wall[label].append((time.perf_counter() - t0) / len(xs))
            cpu[label].append((time.process_time() - c0) / len(xs))
    load_avg = os.getloadavg()
    print(f"{len(tiles)} real 1024 px tiles in batches of {batch}, {rounds} interleaved rounds, {os.cpu_count()} cores, "
          f"onnxruntime {ort.__version__}, openvino {ov_version or 'absent'}; load average {load_avg[0]:.2f} "
          f"(1 min) at the end\n")
    n_ref = sum(len(b.score) for tile in ref_boxes for b in tile)
    print("| engine | load s | s per batch (median) | × first row | CPU s per batch | max output difference "
          f"| tiles with other detections | detections without a twin (of {n_ref}) |")
    print("|---|---|---|---|---|---|---|---|")
    base = statistics.median(wall[next(iter(engines))])
    for label in engines:
        t = statistics.median(wall[label])
        diff, differ, unmatched = agree[label]
        print(f"| {label} | {loads[label]:.2f} | {t:.3f} | {base / t:.2f} | {statistics.median(cpu[label]):.2f} "
              f"| {diff:.2g} | {'none (identical)' if not differ else f'{differ} of {len(tiles)}'} | {unmatched} |")
    print("\nA twin: a detection of the other engine of the same class whose centre is within 0.5 px and score "
          "within 0.01; counted both ways. Identical: every box, score and class equal to the bit.")


def _unmatched(a, b) -> int:
    """Detections of ``a`` or ``b`` (TileBoxes) with no twin in the other: same class, centre within 0.5 px,
    score within 0.01."""
    if not len(a.score) or not len(b.score):
        return len(a.score) + len(b.score)
    d = np.hypot(a.xywhr[:, None, 0] - b.xywhr[None, :, 0], a.xywhr[:, None, 1] - b.xywhr[None, :, 1])
    twin = (d <= 0.5) & (a.cls[:, None] == b.cls[None]) & (np.abs(a.score[:, None] - b.score[None]) <= 0.01)
    return int((~twin.any(axis=1)).sum() + (~twin.any(axis=0)).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("options", "quantised", "all"), default="all")
    ap.add_argument("--tiles", type=int, default=8, help="real tiles in the options table (batches of 4)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds in the options table")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default="bench-out/engines")
    args = ap.parse_args()
    from geotally.models.cache import ensure_model
    from geotally.models.registry import DEFAULT_MODEL, get_spec

    spec = get_spec(args.model or DEFAULT_MODEL)
    fp32 = ensure_model(spec)
    if fp32.suffix != ".onnx":
        sys.exit(f"{spec.name} is not an ONNX model")
    print(f"model {spec.name}\n")
    if args.part in ("options", "all"):
        options_table(fp32, args.tiles, args.rounds)
    if args.part in ("quantised", "all"):
        quantised_table(fp32, Path(args.out))


def quantised_table(fp32: Path, out: Path) -> None:
    """fp32 ONNX Runtime against int8 quantisations and OpenVINO, batch 1; see the module docstring."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    from geotally.models.backends import OnnxDetector

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
    print(f"\n{len(tiles)} real 1024 px tiles, batch 1, 2 cores\n")
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
