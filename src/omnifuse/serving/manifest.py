"""A bundle directory's manifest: the size and sha256 of every file, written after saving and
verified before anything is loaded (a changed, truncated or missing file is a one-line error)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omnifuse.errors import DataError
from omnifuse.serving.schema import FORMAT_VERSION, Manifest, read_json_model

#: The bundle's description (model, configs, schema) and its manifest.
INFO_FILE = "bundle.json"
MANIFEST_FILE = "manifest.json"


def write_manifest(directory: Path) -> None:
    """Write ``manifest.json`` with the sha256 and size of every other file in ``directory``."""
    files = {
        p.name: {"sha256": _sha256(p), "size": p.stat().st_size}
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST_FILE
    }
    text = json.dumps({"format_version": FORMAT_VERSION, "files": files}, indent=2)
    (directory / MANIFEST_FILE).write_text(text, encoding="utf-8")


def verify_manifest(directory: Path) -> set[str]:
    """Every file the manifest lists exists with its size and sha256 (extra files are ignored).

    Returns the names of the verified files.
    """
    manifest: Manifest = read_json_model(directory / MANIFEST_FILE, Manifest)
    if INFO_FILE not in manifest.files:
        raise DataError(f"{directory / MANIFEST_FILE}: does not list {INFO_FILE}")
    for name, entry in manifest.files.items():
        path = directory / name
        if Path(name).name != name or name in ("", ".", ".."):
            raise DataError(f"{directory / MANIFEST_FILE}: invalid file name {name!r}")
        if not path.is_file():
            raise DataError(f"{path}: missing (listed in {MANIFEST_FILE})")
        size = path.stat().st_size
        if size != entry.size:
            raise DataError(f"{path}: {size} bytes but {MANIFEST_FILE} says {entry.size} (changed or truncated)")
        if _sha256(path) != entry.sha256:
            raise DataError(f"{path}: sha256 does not match {MANIFEST_FILE} (file changed or corrupted)")
    return set(manifest.files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
