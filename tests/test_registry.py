import hashlib
from dataclasses import replace

import pytest

from geotally.errors import GeotallyError
from geotally.models.cache import ensure_model, model_path
from geotally.models.registry import DEFAULT_MODEL, REGISTRY
from geotally.models.spec import ModelSpec
from geotally.models.sources import UrlSource

GOOD = b"pretend these are model weights" * 100


def spec_for(tmp_path, *sources) -> ModelSpec:
    return ModelSpec(name="test-model", filename="m.pt", sha256=hashlib.sha256(GOOD).hexdigest(), native_gsd=0.25,
                     tile_size=1024, sources=tuple(sources), licence="test", description="test")


def file_source(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return UrlSource(p.as_uri())


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOTALLY_CACHE_DIR", str(tmp_path / "cache"))


def test_failing_source_falls_through_to_next(tmp_path):
    spec = spec_for(tmp_path, UrlSource((tmp_path / "missing.pt").as_uri()), file_source(tmp_path, "good.pt", GOOD))
    path = ensure_model(spec)
    assert path.read_bytes() == GOOD
    assert path == model_path(spec)


def test_checksum_mismatch_is_refused_and_next_source_used(tmp_path):
    spec = spec_for(tmp_path, file_source(tmp_path, "bad.pt", b"tampered"), file_source(tmp_path, "good.pt", GOOD))
    assert ensure_model(spec).read_bytes() == GOOD


def test_all_sources_bad_is_a_one_line_error_and_caches_nothing(tmp_path):
    spec = spec_for(tmp_path, file_source(tmp_path, "bad.pt", b"tampered"), UrlSource((tmp_path / "no").as_uri()))
    with pytest.raises(GeotallyError, match="sha256 mismatch") as err:
        ensure_model(spec)
    assert "\n" not in str(err.value)
    assert not model_path(spec).exists()
    assert not list(model_path(spec).parent.glob(".part-*"))


def test_offline_cache_hit_needs_no_source(tmp_path):
    spec = spec_for(tmp_path, file_source(tmp_path, "good.pt", GOOD))
    ensure_model(spec)
    offline = replace(spec, sources=(UrlSource((tmp_path / "gone").as_uri()),))
    assert ensure_model(offline).read_bytes() == GOOD


def test_tampered_cached_file_is_refused(tmp_path):
    spec = spec_for(tmp_path, file_source(tmp_path, "good.pt", GOOD))
    path = ensure_model(spec)
    path.write_bytes(GOOD + b"x")
    with pytest.raises(GeotallyError, match="fails its sha256"):
        ensure_model(spec)
    assert ensure_model(spec, force=True).read_bytes() == GOOD


def test_registry_entries_are_complete():
    assert DEFAULT_MODEL in REGISTRY
    from geotally.models.registry import SHIPPED
    from geotally.models.sources import LocalFile

    for spec in REGISTRY.values():
        assert len(spec.sha256) == 64 and spec.native_gsd > 0 and spec.tile_size > 0
        if any(isinstance(src, LocalFile) for src in spec.sources):  # shipped: the file is in the package
            assert (SHIPPED / spec.filename).exists() and spec.conf and spec.card["training"]
        else:  # downloaded: a second source when the first is unreachable
            assert len(spec.sources) >= 2
        assert {"large vehicle", "small vehicle"} <= set(spec.class_names.values())


def test_gpu_probe_agrees_with_torch_and_skips_torch_without_a_driver():
    """auto backend choice: the driver probe must agree with torch, and not import torch when there is no driver."""
    import subprocess
    import sys

    code = ("import sys; from geotally.models.gpu import cuda_available, _driver_devices; "
            "a = cuda_available(); print(a, _driver_devices(), 'torch' in sys.modules); "
            "import torch; print(torch.cuda.is_available())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    probe, devices, torch_loaded = out[0].split()
    assert probe == out[1].strip()  # same answer as torch itself
    if devices == "0":
        assert torch_loaded == "False"


def test_an_unchanged_cached_file_is_hashed_once_and_a_changed_one_again(tmp_path, monkeypatch):
    import os

    import geotally.models.cache as cache_mod

    spec = spec_for(tmp_path, file_source(tmp_path, "good.pt", GOOD))
    path = ensure_model(spec)
    hashed = []
    real = cache_mod.file_sha256
    monkeypatch.setattr(cache_mod, "file_sha256", lambda p: hashed.append(str(p)) or real(p))
    for _ in range(3):
        assert ensure_model(spec) == path
    assert hashed == []  # verified when fetched; unchanged since
    # Same size, other bytes, a new modification time: hashed again and refused.
    st = path.stat()
    path.write_bytes(GOOD[:-1] + b"!")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    with pytest.raises(GeotallyError, match="fails its sha256"):
        ensure_model(spec)
    assert hashed == [str(path)]
