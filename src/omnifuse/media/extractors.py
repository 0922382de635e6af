"""Frozen feature extractors: what an item's bytes are, how it is prepared, how it is embedded.

An extractor resolves its model when it is built (a bad model id fails before any work) but
loads the weights only when something has to be computed, so a run served entirely from the
cache never loads (or imports) transformers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from omnifuse.errors import ConfigError, DataError
from omnifuse.media.backbones import POOLINGS, ImageBackbone, TextBackbone, sentence_transformers_settings
from omnifuse.media.hub import DEFAULT_IMAGE_MODEL, ModelSource, default_text_model, resolve_model
from omnifuse.media.images import DEFAULT_IMAGE_SIZE, load_image
from omnifuse.media.sources import MediaItem

#: Bumped whenever preprocessing changes, so old cached embeddings are not reused.
IMAGE_PIPELINE = "image-1"
TEXT_PIPELINE = "text-1"


class Extractor(Protocol):
    """What :func:`omnifuse.media.extract.extract` needs from an extractor."""

    kind: str
    source: ModelSource

    def settings(self) -> dict[str, Any]: ...
    def content(self, item: MediaItem) -> bytes: ...
    def prepare(self, item: MediaItem, content: bytes) -> Any: ...
    def embed(self, prepared: list[Any]) -> np.ndarray: ...


def _config(source: ModelSource) -> dict[str, Any]:
    try:
        return json.loads((source.directory / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"model '{source.name}': unreadable config.json ({exc})") from exc


class ImageExtractor:
    """Images -> pooled backbone features (Wu et al. 2025: ResNet-34, 512-d).

    Args:
        model: hub id (looked up in the local cache) or local directory; default
            :data:`~omnifuse.media.hub.DEFAULT_IMAGE_MODEL`.
        image_size: side of the square input; default the model's ``image_size``, else 224.
        allow_download: fetch a hub model missing from the local cache.
    """

    kind = "image"

    def __init__(
        self, model: str | Path | None = None, image_size: int | None = None, allow_download: bool = False
    ) -> None:
        self.source = resolve_model(str(model or DEFAULT_IMAGE_MODEL), allow_download)
        configured = _config(self.source).get("image_size")
        self.image_size = int(image_size or (configured if isinstance(configured, int) else DEFAULT_IMAGE_SIZE))
        if self.image_size < 8:
            raise ConfigError(f"image size must be at least 8 pixels, got {self.image_size}")
        self._encoder: Any = None

    def settings(self) -> dict[str, Any]:
        """Everything that changes an embedding (the cache key)."""
        return {"kind": self.kind, "model": self.source.fingerprint(), "image_size": self.image_size,
                "pipeline": IMAGE_PIPELINE}  # fmt: skip

    def content(self, item: MediaItem) -> bytes:
        """The bytes of the image file."""
        if not item.source:
            raise DataError("no image path")
        try:
            return Path(item.source).read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read the file ({exc.strerror or exc})") from exc

    def prepare(self, item: MediaItem, content: bytes) -> np.ndarray:
        """``(3, size, size)`` float32 in [0, 1]."""
        return load_image(content, item.source, self.image_size)

    @property
    def encoder(self) -> Any:
        """The :class:`~omnifuse.media.backbones.ImageBackbone` (loaded once)."""
        if self._encoder is None:
            self._encoder = ImageBackbone.from_pretrained(self.source, image_size=self.image_size)
        return self._encoder

    def embed(self, prepared: list[np.ndarray]) -> np.ndarray:
        """A batch of prepared images -> ``(B, D)`` float32."""
        with torch.no_grad():
            return self.encoder(torch.from_numpy(np.stack(prepared))).numpy().astype(np.float32)


class TextExtractor:
    """Texts -> pooled transformer features.

    Args:
        model: hub id or local directory; default the bundled all-MiniLM-L6-v2 (needs the
            ``text`` extra).
        pooling: ``"cls"`` or ``"mean"``; default what a sentence-transformers model
            declares, else ``"mean"``.
        max_tokens: truncation and padding length (150, Wu et al. 2025).
        normalize: unit-normalise the vectors; default: what the model declares.
        allow_download: fetch a hub model missing from the local cache.
    """

    kind = "text"

    def __init__(
        self,
        model: str | Path | None = None,
        pooling: str | None = None,
        max_tokens: int = 150,
        normalize: bool | None = None,
        allow_download: bool = False,
    ) -> None:
        self.source = default_text_model() if model is None else resolve_model(str(model), allow_download)
        declared_pooling, declared_normalize = sentence_transformers_settings(self.source.directory)
        self.pooling = pooling or declared_pooling or "mean"
        if self.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling '{self.pooling}' (valid: {', '.join(POOLINGS)})")
        self.normalize = declared_normalize if normalize is None else normalize
        limit = _config(self.source).get("max_position_embeddings")
        if max_tokens < 2 or (isinstance(limit, int) and max_tokens > limit):
            raise ConfigError(f"--max-tokens must be in [2, {limit}] for model '{self.source.name}', got {max_tokens}")
        self.max_tokens = int(max_tokens)
        self._encoder: Any = None

    def settings(self) -> dict[str, Any]:
        """Everything that changes an embedding (the cache key)."""
        return {"kind": self.kind, "model": self.source.fingerprint(), "pooling": self.pooling,
                "max_tokens": self.max_tokens, "normalize": self.normalize, "pipeline": TEXT_PIPELINE}  # fmt: skip

    def content(self, item: MediaItem) -> bytes:
        """The text, UTF-8 encoded."""
        return item.source.encode("utf-8")

    def prepare(self, item: MediaItem, content: bytes) -> str:
        """The text; an empty or blank one fails."""
        if not item.source.strip():
            raise DataError("empty text")
        return item.source

    @property
    def encoder(self) -> Any:
        """The :class:`~omnifuse.media.backbones.TextBackbone` (loaded once)."""
        if self._encoder is None:
            self._encoder = TextBackbone.from_pretrained(
                self.source, pooling=self.pooling, max_tokens=self.max_tokens, normalize=self.normalize
            )
        return self._encoder

    def embed(self, prepared: list[str]) -> np.ndarray:
        """A batch of texts -> ``(B, D)`` float32."""
        with torch.no_grad():
            return self.encoder(prepared).numpy().astype(np.float32)
