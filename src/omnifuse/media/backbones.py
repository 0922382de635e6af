"""Pretrained image and text backbones from Hugging Face ``transformers``, pooled to ``(B, D)``.

* :class:`ImageBackbone`: any ``AutoModel`` vision backbone (ResNet, ConvNeXt, ViT, ...).
  Input ``(B, 3, H, W)`` in [0, 1] (see :mod:`omnifuse.media.images`); the backbone's processor
  normalisation (its ``image_mean`` / ``image_std``) is applied inside. Output: the model's
  pooled output (ResNet-34: 512-d after average pooling), else the mean of its last hidden state.
* :class:`TextBackbone`: any BERT-style ``AutoModel`` with its ``AutoTokenizer``. Input: a list
  of strings, truncated and padded to ``max_tokens`` (150 by default, Wu et al. 2025); output:
  the [CLS] vector or the mean over real tokens, optionally unit-normalised.

Both are frozen by default (no gradients, always in eval mode), as Wu et al. 2025 keeps BERT
frozen; ``trainable=True`` fine-tunes the backbone with the model that owns it (BatchNorm
layers stay in eval mode so absent rows never shape batch statistics). Models load with
``local_files_only=True``: from a directory or the local Hugging Face cache. The extractors
(:mod:`omnifuse.media.extractors`) embed files with them; :mod:`omnifuse.encoders.pretrained`
makes them modality encoders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from omnifuse.errors import ConfigError, DataError
from omnifuse.media.hub import ModelSource, quiet_transformers, resolve_model

Pooling = Literal["cls", "mean"]
POOLINGS: tuple[str, ...] = ("cls", "mean")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_MAX_TOKENS = 150


def cls_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The first ([CLS]) token's vector: ``(B, T, D) -> (B, D)``."""
    return hidden[:, 0]


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real (non-padding) tokens: ``(B, T, D) -> (B, D)``."""
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def pool_image_output(output: Any) -> torch.Tensor:
    """A vision model's pooled output as ``(B, D)`` (spatial or token mean as fallback)."""
    pooled = getattr(output, "pooler_output", None)
    if pooled is not None:
        return pooled.flatten(1)
    hidden = output.last_hidden_state
    return hidden.mean(dim=(2, 3)) if hidden.dim() == 4 else hidden.mean(dim=1)


def _source(model: str | Path | ModelSource, allow_download: bool) -> ModelSource:
    return model if isinstance(model, ModelSource) else resolve_model(str(model), allow_download)


def _load(loader: Any, source: ModelSource, what: str) -> Any:
    try:
        with quiet_transformers():
            return loader.from_pretrained(str(source.directory), local_files_only=True)
    except (OSError, ValueError, KeyError, ImportError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"model '{source.name}' ({source.directory}): cannot load its {what} ({reason})") from exc


@contextmanager
def _usable(source: ModelSource, what: str) -> Iterator[None]:
    """Turn a failing trial forward pass (a model of another kind) into a ConfigError."""
    try:
        yield
    except (TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"model '{source.name}' does not work as {what} ({reason})") from exc


class _Frozen(nn.Module):
    """Shared freezing logic: frozen backbones never train; BatchNorm never uses batch stats."""

    backbone: nn.Module
    trainable: bool

    def _freeze(self) -> None:
        if not self.trainable:
            self.backbone.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> "_Frozen":
        super().train(mode)
        self.backbone.train(mode and self.trainable)
        for module in self.backbone.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self


class ImageBackbone(_Frozen):
    """A transformers vision backbone: ``(B, 3, H, W)`` in [0, 1] -> ``(B, output_dim)``.

    Args:
        backbone: a transformers vision model (e.g. ``ResNetModel``).
        image_mean, image_std: per-channel normalisation of its processor.
        image_size: the side of the square inputs (used to find ``output_dim``).
        trainable: fine-tune the backbone (default: frozen).
    """

    mean: torch.Tensor  # registered buffers
    std: torch.Tensor

    def __init__(
        self,
        backbone: nn.Module,
        image_mean: Sequence[float] = IMAGENET_MEAN,
        image_std: Sequence[float] = IMAGENET_STD,
        image_size: int = 224,
        trainable: bool = False,
    ) -> None:
        super().__init__()
        self.backbone, self.trainable, self.image_size = backbone, trainable, int(image_size)
        self.register_buffer("mean", torch.tensor(list(image_mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(image_std), dtype=torch.float32).view(1, -1, 1, 1))
        self._freeze()
        with torch.no_grad():
            self.output_dim = int(self(torch.zeros(1, 3, self.image_size, self.image_size)).shape[1])

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path | ModelSource,
        image_size: int | None = None,
        trainable: bool = False,
        allow_download: bool = False,
    ) -> "ImageBackbone":
        """Load from a directory or a cached hub id (``AutoModel`` + ``AutoImageProcessor``;
        ImageNet statistics when the model has no processor config). ``image_size`` defaults
        to the model config's ``image_size``, else 224."""
        from transformers import (
            AutoImageProcessor,
            AutoModel,
        )  # deferred: transformers is slow to import; only loading needs it

        source = _source(model, allow_download)
        backbone = _load(AutoModel, source, "weights")
        mean: tuple[float, ...] = IMAGENET_MEAN
        std: tuple[float, ...] = IMAGENET_STD
        if (source.directory / "preprocessor_config.json").is_file():
            processor = _load(AutoImageProcessor, source, "image processor")
            if getattr(processor, "do_normalize", True):
                mean = _triple(getattr(processor, "image_mean", None), IMAGENET_MEAN)
                std = _triple(getattr(processor, "image_std", None), IMAGENET_STD)
            else:
                mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        size = image_size or model_image_size(backbone)
        with _usable(source, "an image backbone"):
            return cls(backbone, mean, std, image_size=size, trainable=trainable)  # runs one forward pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` images in [0, 1] -> ``(B, output_dim)``."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise DataError(f"{type(self).__name__} expects (B, 3, H, W) images, got shape {tuple(x.shape)}")
        pixels = (x.float() - self.mean) / self.std
        return pool_image_output(self.backbone(pixel_values=pixels))


def _triple(value: Any, default: Sequence[float]) -> tuple[float, ...]:
    if value is None:
        return tuple(default)
    if isinstance(value, (int, float)):
        return (float(value),) * 3
    return tuple(float(v) for v in value)


def model_image_size(backbone: nn.Module, default: int = 224) -> int:
    """The input side a vision model was configured for (``config.image_size``), else 224."""
    size = getattr(getattr(backbone, "config", None), "image_size", None)
    if isinstance(size, (list, tuple)) and size:
        size = size[0]
    return int(size) if isinstance(size, int) and size > 0 else default


class TextBackbone(_Frozen):
    """A transformers text backbone: a list of strings -> ``(B, output_dim)``.

    Args:
        backbone: a BERT-style transformers model (``last_hidden_state`` of ``(B, T, D)``).
        tokenizer: its tokenizer.
        pooling: ``"cls"`` (the [CLS] vector) or ``"mean"`` (mean over real tokens).
        max_tokens: texts are truncated and padded to this many tokens.
        normalize: divide each output by its L2 norm (sentence-transformers models).
        trainable: fine-tune the backbone (default: frozen).
    """

    def __init__(
        self,
        backbone: nn.Module,
        tokenizer: Any,
        pooling: str = "mean",
        max_tokens: int = DEFAULT_MAX_TOKENS,
        normalize: bool = False,
        trainable: bool = False,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling '{pooling}' (valid: {', '.join(POOLINGS)})")
        limit = getattr(getattr(backbone, "config", None), "max_position_embeddings", None)
        if not isinstance(max_tokens, int) or max_tokens < 2 or (isinstance(limit, int) and max_tokens > limit):
            raise ConfigError(f"max_tokens must be an integer in [2, {limit or 'the model limit'}], got {max_tokens!r}")
        self.backbone, self.tokenizer, self.trainable = backbone, tokenizer, trainable
        self.pooling, self.max_tokens, self.normalize = pooling, max_tokens, normalize
        config: Any = backbone.config
        self.output_dim = int(config.hidden_size)
        self._freeze()

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path | ModelSource,
        pooling: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        normalize: bool | None = None,
        trainable: bool = False,
        allow_download: bool = False,
    ) -> "TextBackbone":
        """Load from a directory or a cached hub id (``AutoModel`` + ``AutoTokenizer``).

        ``pooling`` and ``normalize`` default to what a sentence-transformers model declares
        (``1_Pooling/config.json``, a ``Normalize`` module), else mean pooling, unnormalised.
        """
        from transformers import (
            AutoModel,
            AutoTokenizer,
        )  # deferred: transformers is slow to import; only loading needs it

        source = _source(model, allow_download)
        declared_pooling, declared_normalize = sentence_transformers_settings(source.directory)
        backbone = _load(AutoModel, source, "weights")
        tokenizer = _load(AutoTokenizer, source, "tokenizer")
        encoder = cls(
            backbone,
            tokenizer,
            pooling=pooling or declared_pooling or "mean",
            max_tokens=max_tokens,
            normalize=declared_normalize if normalize is None else normalize,
            trainable=trainable,
        )
        with _usable(source, "a text backbone"), torch.no_grad():
            encoder(["a test sentence"])
        return encoder

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids and attention mask, truncated and padded to ``max_tokens``."""
        encoded = self.tokenizer(
            [str(t) for t in texts], padding="max_length", truncation=True,
            max_length=self.max_tokens, return_tensors="pt",
        )  # fmt: skip
        device = next(self.backbone.parameters()).device
        return {k: v.to(device) for k, v in encoded.items()}

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> ``(B, output_dim)`` pooled vectors."""
        if isinstance(texts, str):
            raise DataError(f"{type(self).__name__} expects a list of texts, got one string")
        tokens = self.tokenize(texts)
        hidden = self.backbone(**tokens).last_hidden_state
        pooled = (cls_pool if self.pooling == "cls" else mean_pool)(hidden, tokens["attention_mask"])
        return nn.functional.normalize(pooled, dim=1) if self.normalize else pooled


def sentence_transformers_settings(directory: Path) -> tuple[str | None, bool]:
    """Pooling (``"cls"``/``"mean"``/None) and normalisation a sentence-transformers model
    directory declares (``modules.json``, ``1_Pooling/config.json``)."""
    pooling: str | None = None
    modules_file = directory / "modules.json"
    if not modules_file.is_file():
        return None, False
    try:
        modules = json.loads(modules_file.read_text())
        normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
        for module in modules:
            if str(module.get("type", "")).endswith("Pooling"):
                config = json.loads((directory / module.get("path", "") / "config.json").read_text())
                if config.get("pooling_mode_cls_token"):
                    pooling = "cls"
                elif config.get("pooling_mode_mean_tokens"):
                    pooling = "mean"
    except (OSError, ValueError, AttributeError):
        return None, False
    return pooling, normalize
