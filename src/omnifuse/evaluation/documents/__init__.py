"""The documents evaluation writes and the report, the CLI and the benchmarks read.

Public API::

    from omnifuse.evaluation.documents import (ResultsDocument, RobustnessDocument, DetailsDocument,
                                               read_results, read_robustness, read_details,
                                               write_document)

    write_document(out / "results.json", results)      # results: a ResultsDocument
    results = read_results(out / "results.json")       # validated; DataError naming file and field
    explanations = read_explanations(out / "explain.json")   # written by `omnifuse explain`

Each document carries a ``schema_version``; a file without one (written before documents
were versioned), with a newer one, or that is not a document of that kind is refused with
one line naming the file and the field.
"""

from omnifuse.evaluation.documents.base import Document, MetricCell, MetricStat, Value, read_json, write_document
from omnifuse.evaluation.documents.details import (
    Calibration,
    ConfusionMatrix,
    DatasetSummary,
    DetailsDocument,
    Embeddings,
    Hypnogram,
    MethodDetails,
    ModalitySummary,
    ModalityWeights,
    SurvivalFold,
    SurvivalDetails,
    read_details,
)
from omnifuse.evaluation.documents.explanations import (
    Explanation,
    ExplanationsDocument,
    FeatureAttribution,
    FeatureImportance,
    ModalityAttribution,
    ModalityImportance,
    PatientAttribution,
    WindowAttribution,
    read_explanations,
)
from omnifuse.evaluation.documents.results import (
    BenchmarkProtocol,
    HoldoutProtocol,
    KFoldProtocol,
    MethodResult,
    OperatingPointResult,
    MetricSummary,
    PairedTest,
    Protocol,
    ResultsDocument,
    SubgroupBenchmarkResult,
    SubgroupColumnResult,
    SubgroupGap,
    SubgroupSummary,
    TrainedRunsProtocol,
    read_results,
)
from omnifuse.evaluation.documents.robustness import (
    Curve,
    EffectiveRobustness,
    Levels,
    MethodRobustness,
    RobustnessDocument,
    RobustnessSummary,
    read_robustness,
)

__all__ = [
    "BenchmarkProtocol",
    "Calibration",
    "ConfusionMatrix",
    "Curve",
    "DatasetSummary",
    "DetailsDocument",
    "Document",
    "EffectiveRobustness",
    "Embeddings",
    "Explanation",
    "ExplanationsDocument",
    "FeatureAttribution",
    "FeatureImportance",
    "HoldoutProtocol",
    "Hypnogram",
    "KFoldProtocol",
    "Levels",
    "MethodDetails",
    "MethodResult",
    "OperatingPointResult",
    "MethodRobustness",
    "MetricCell",
    "MetricStat",
    "MetricSummary",
    "ModalityAttribution",
    "ModalityImportance",
    "ModalitySummary",
    "ModalityWeights",
    "PairedTest",
    "PatientAttribution",
    "Protocol",
    "ResultsDocument",
    "RobustnessDocument",
    "RobustnessSummary",
    "SubgroupBenchmarkResult",
    "SubgroupColumnResult",
    "SubgroupGap",
    "SubgroupSummary",
    "SurvivalFold",
    "SurvivalDetails",
    "TrainedRunsProtocol",
    "Value",
    "WindowAttribution",
    "read_details",
    "read_explanations",
    "read_json",
    "read_results",
    "read_robustness",
    "write_document",
]
