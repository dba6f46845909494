"""framework/entrypoints.py finds the entry points importlib.metadata finds, in its order,
or lets importlib.metadata answer."""

from __future__ import annotations

import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from framework import entrypoints
from framework.plugins import ENTRY_POINT_GROUP


def reference(group: str, path: list[str]) -> list[tuple[str, str, str]]:
    dists = metadata.distributions(path=path)
    seen, out = set(), []
    for dist in dists:  # what entry_points() does, on a chosen path
        name = dist._normalized_name  # type: ignore[attr-defined]
        if name in seen:
            continue
        seen.add(name)
        out += [(ep.name, ep.value, ep.group) for ep in dist.entry_points if ep.group == group]
    return out


def ours(group: str, path: list[str]) -> list[tuple[str, str, str]] | None:
    found = entrypoints._read(group, path)
    return None if found is None else [(ep.name, ep.value, ep.group) for ep in found]


@pytest.mark.parametrize("group", [ENTRY_POINT_GROUP, "console_scripts", "pytest11"])
def test_the_installed_entry_points_are_importlib_metadatas(group: str) -> None:
    got = [(ep.name, ep.value, ep.group) for ep in entrypoints.entry_points(group)]
    assert got == [(ep.name, ep.value, ep.group) for ep in metadata.entry_points(group=group)]
    assert ours(group, sys.path) is not None  # this venv is read without importlib.metadata


def dist(root: Path, folder: str, text: str | None) -> None:
    (root / folder).mkdir(parents=True)
    (root / folder / "METADATA").write_text(f"Name: {folder.split('-')[0].split('.')[0]}\n")
    if text is not None:
        (root / folder / "entry_points.txt").write_text(text)


def test_first_distribution_of_a_name_wins_across_and_within_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "Alpha_Plugin-1.0.dist-info", "[raccord]\nalpha = alpha.one\n")
    dist(first, "beta.egg-info", "# comment\n[other]\nx = y\n\n[raccord]\n beta = beta.mod:Cls.inner [extra]\n")
    dist(first, "nothing-2.dist-info", None)
    dist(second, "alpha.plugin-2.0.dist-info", "[raccord]\nalpha = alpha.two\n")
    dist(second, "gamma-1.dist-info", "[raccord]\ngamma = gamma\n[raccord]\ngamma2 = gamma\n")
    (second / "gamma-0.9.egg-info").mkdir()
    (second / "gamma-0.9.egg-info" / "entry_points.txt").write_text("[raccord]\nold = gamma.old\n")
    path = [str(first), str(second), str(tmp_path / "missing")]
    assert ours(ENTRY_POINT_GROUP, path) == reference(ENTRY_POINT_GROUP, path)
    found = ours(ENTRY_POINT_GROUP, path) or []
    assert ("alpha", "alpha.one", ENTRY_POINT_GROUP) in found  # the first folder's Alpha_Plugin hides alpha.plugin
    assert ("beta", "beta.mod:Cls.inner [extra]", ENTRY_POINT_GROUP) in found


@pytest.mark.parametrize("layout", ["zip", "egg", "shouting", "no-equals"])
def test_what_it_does_not_read_goes_to_importlib_metadata(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "site"
    root.mkdir()
    if layout == "zip":
        with zipfile.ZipFile(tmp_path / "plugins.zip", "w") as archive:
            archive.writestr("z-1.dist-info/entry_points.txt", "[raccord]\nz = z\n")
        path = [str(root), str(tmp_path / "plugins.zip")]
    elif layout == "egg":
        (tmp_path / "old.egg").mkdir()
        path = [str(tmp_path / "old.egg")]
    elif layout == "shouting":
        dist(root, "Loud-1.DIST-INFO", "[raccord]\nloud = loud\n")
        path = [str(root)]
    else:
        dist(root, "odd-1.dist-info", "[raccord]\njust a module name\n")
        path = [str(root)]
    assert ours(ENTRY_POINT_GROUP, path) is None


def test_an_import_hook_providing_distributions_goes_to_importlib_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    class Finder:
        @staticmethod
        def find_distributions(*args: object, **kwargs: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    assert ours(ENTRY_POINT_GROUP, sys.path) is None
    # …and the answer is importlib.metadata's own.
    assert [ep.name for ep in entrypoints.entry_points(ENTRY_POINT_GROUP)] == [
        ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]


def test_load_follows_the_value(tmp_path: Path) -> None:
    assert entrypoints.EntryPoint("x", "framework.entrypoints", "raccord").load() is entrypoints
    assert entrypoints.EntryPoint("x", "framework.entrypoints : EntryPoint.load [extra]", "raccord").load() \
        is entrypoints.EntryPoint.load
    with pytest.raises(ValueError, match="not an entry point"):
        entrypoints.EntryPoint("x", "not valid!", "raccord").load()
