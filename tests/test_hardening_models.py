"""`models list` tells a damaged shipped model from a good one, as `count` does: a copy of the
shipped weights with one byte flipped shows as damaged."""

import dataclasses
import shutil

from conftest import run


def test_a_byte_flipped_shipped_model_is_listed_as_damaged(tmp_path, monkeypatch, capsys):
    from geotally.models import registry
    from geotally.models.sources import LocalFile

    spec = registry.get_spec(registry.DEFAULT_MODEL)
    src = next(s for s in spec.sources if isinstance(s, LocalFile))
    weights = tmp_path / "weights"
    weights.mkdir()
    copy = weights / registry.Path(src.path).name
    shutil.copyfile(src.path, copy)
    good = dataclasses.replace(spec, sources=(LocalFile(str(copy)),))
    monkeypatch.setattr(registry, "SHIPPED", weights)
    monkeypatch.setattr(registry, "all_specs", lambda: {spec.name: good})
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = run(monkeypatch, capsys, "models", "list")
    assert code == 0, err
    assert "shipped" in out and "damaged" not in out
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    code, out, err = run(monkeypatch, capsys, "models", "list")
    assert code == 0, err
    assert "damaged" in out and "shipped" not in out.split("damaged")[0].split("\n")[-1]
