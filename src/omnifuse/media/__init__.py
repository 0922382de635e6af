"""Images and reports to embeddings: decoding (Pillow, DICOM), pretrained backbones through
Hugging Face ``transformers`` (offline by default), cached batched extraction, and embedding
files that drop into the generic folder format as ``embedding`` modalities.

>>> from omnifuse.media import ImageExtractor, extract, image_items, write_embeddings
>>> emb = extract(image_items("cxr/"), ImageExtractor("microsoft/resnet-34"))  # doctest: +SKIP
>>> write_embeddings(emb, "cohort/cxr.parquet")  # doctest: +SKIP
"""

from omnifuse.media.extract import Embeddings, extract
from omnifuse.media.extractors import ImageExtractor, TextExtractor
from omnifuse.media.hub import DEFAULT_IMAGE_MODEL, ModelSource, default_text_model, minilm_available, resolve_model
from omnifuse.media.images import IMAGE_SUFFIXES, decode_image, load_image
from omnifuse.media.output import check_output, read_embeddings, write_embeddings
from omnifuse.media.sources import MediaItem, image_items, text_items
from omnifuse.media.store import EmbeddingStore

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "IMAGE_SUFFIXES",
    "EmbeddingStore",
    "Embeddings",
    "ImageExtractor",
    "MediaItem",
    "ModelSource",
    "TextExtractor",
    "check_output",
    "decode_image",
    "default_text_model",
    "extract",
    "image_items",
    "load_image",
    "minilm_available",
    "read_embeddings",
    "resolve_model",
    "text_items",
    "write_embeddings",
]
