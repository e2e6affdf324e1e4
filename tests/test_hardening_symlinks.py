"""--out given as a symbolic link to a folder: the results go into the folder it points to, the
link stays as the user made it, and no staging folder or link is left anywhere. A link that points
nowhere is refused in one line with nothing created."""

from __future__ import annotations

import os

import pytest

from conftest import assert_user_error, noise_scene, run


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return noise_scene(tmp_path_factory.mktemp("links") / "scene.tif")


def _no_staging(*folders):
    for folder in folders:
        left = [p.name for p in folder.iterdir() if ".staging-" in p.name]
        assert not left, left


@pytest.mark.parametrize("relative", [False, True])
def test_out_as_a_symlink_to_a_folder_writes_there_and_keeps_the_link(relative, scene, tmp_path, monkeypatch, capsys):
    from geotally.store.outputs import check_manifest

    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "results"
    target.mkdir()
    (target / "notes.txt").write_text("the user's own file")
    (tmp_path / "work").mkdir()
    link = tmp_path / "work" / "res"
    link.symlink_to(os.path.relpath(target, link.parent) if relative else target, target_is_directory=True)
    pointed = os.readlink(link)
    for command in (["count", scene, "--out", link], ["count", scene, "--out", link], ["recount", link],
                    ["report", link]):
        code, _, err = run(monkeypatch, capsys, *command)
        assert code == 0, err
        assert link.is_symlink() and os.readlink(link) == pointed  # the link as the user made it
        assert target.is_dir() and not target.is_symlink()
        check_manifest(target)  # a whole, sealed results folder where the link points
        assert (target / "notes.txt").read_text() == "the user's own file"
        assert list(target.glob(".geotally-checkpoint-*.sqlite"))
        _no_staging(tmp_path / "work", tmp_path / "store")
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["res"]


def test_out_as_a_link_that_points_nowhere(scene, tmp_path, monkeypatch, capsys):
    link = tmp_path / "res"
    link.symlink_to(tmp_path / "missing", target_is_directory=True)
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", link)
    assert_user_error(code, err, "which does not exist")
    assert link.is_symlink() and not (tmp_path / "missing").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
