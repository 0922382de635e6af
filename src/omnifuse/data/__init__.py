"""The data contract: modalities, samples, absence, splits, loaders and corruption.

Public API::

    from omnifuse.data import (ModalitySpec, MultimodalDataset, Labels, IrregularSeries,
                               LazyFiles, make_batch, load_dataset, make_lowquality,
                               DatasetSchema, check_compatible)
"""

from omnifuse.data.arrays import IrregularSeries, LazyFiles
from omnifuse.data.corrupt import (
    DropModality,
    DropPattern,
    FeatureDropout,
    GaussianNoise,
    SegmentMask,
    apply_corruptions,
    parse_corruption,
)
from omnifuse.data.simulate import SimConfig, SimModality, SimulationTruth, default_cohort, make_lowquality
from omnifuse.data.collate import BatchCollator, SeriesBatch, collate, make_batch
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels, labels_from_values
from omnifuse.data.schema import DatasetSchema, check_compatible
from omnifuse.data.spec import MODALITY_KINDS, ModalitySpec

__all__ = [
    "DropModality",
    "DropPattern",
    "FeatureDropout",
    "GaussianNoise",
    "SegmentMask",
    "SimConfig",
    "SimModality",
    "SimulationTruth",
    "apply_corruptions",
    "default_cohort",
    "make_lowquality",
    "parse_corruption",
    "MODALITY_KINDS",
    "BatchCollator",
    "DatasetSchema",
    "IrregularSeries",
    "Labels",
    "LazyFiles",
    "ModalitySpec",
    "MultimodalDataset",
    "SeriesBatch",
    "check_compatible",
    "collate",
    "labels_from_values",
    "make_batch",
]
