"""Pretrained image and text backbones (:mod:`omnifuse.media.backbones`) as modality encoders.

:class:`PretrainedImageEncoder` and :class:`PretrainedTextEncoder` are the frozen (or
fine-tuned) ``transformers`` backbones of the media layer, usable wherever an
:class:`~omnifuse.encoders.base.Encoder` is: ``(B, 3, H, W)`` images in [0, 1], or a list of
texts, to ``(B, output_dim)``. ``from_pretrained`` loads them from a directory or the local
Hugging Face cache.
"""

from __future__ import annotations

from omnifuse.encoders.base import Encoder
from omnifuse.media.backbones import ImageBackbone, TextBackbone


class PretrainedImageEncoder(ImageBackbone, Encoder):
    """A transformers vision backbone as a modality encoder: ``(B, 3, H, W)`` in [0, 1] -> ``(B, output_dim)``.

    Arguments as :class:`~omnifuse.media.backbones.ImageBackbone`.
    """


class PretrainedTextEncoder(TextBackbone, Encoder):
    """A transformers text backbone as a modality encoder: a list of strings -> ``(B, output_dim)``.

    Arguments as :class:`~omnifuse.media.backbones.TextBackbone`.
    """
