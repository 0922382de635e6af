"""``omnifuse data mimic``: OmniFuse's (Wu et al. 2025) in-hospital-mortality cohort (EHR + CXR + report) from
local MIMIC-IV, MIMIC-CXR-JPG and MIMIC-CXR report files, written in the generic folder format.

Output (``out/``)::

    labels.csv        sample_id (stay_id), label (1 = in-hospital death), split, group (subject_id)
    ehr.csv           sample_id, time, then the 76 channels: 24 rows per stay (time 2, 4, ..., 48 h)
    cxr.csv           sample_id, path (absolute path of the JPG); stays without an image have no row
    report.csv        sample_id, text (FINDINGS, else IMPRESSION); stays without one have no row
    modalities.yaml   ehr: timeseries (hours), cxr: image (column path), report: text (column text)
    mimic_summary.json  counts of kept and skipped stays, files and values, and the settings

The EHR values are *not* standardised here: continuous columns stay in clinical units and are
standardised by omnifuse's Standardizer, which is fitted on the training samples of each run
(fold) only. Standardising in the recipe would need a fixed training set chosen before any
cross-validation and would leak test statistics into every other split. (The Standardizer
scales all 76 columns, one-hot and mask columns included, where the benchmark scales only the
continuous ones; for the models this is an affine change of inputs.)

``cxr.csv`` and ``report.csv`` are also the inputs of ``omnifuse extract`` (Wu et al. 2025: ResNet-34
image features, BERT text features)::

    omnifuse extract --images OUT/cxr.csv --model microsoft/resnet-34 --out cxr_emb.parquet
    omnifuse extract --text OUT/report.csv --column text --model bert-base-uncased --out report_emb.parquet

An embedding file replaces ``cxr.csv`` / ``report.csv`` in a cohort folder as ``cxr.parquet`` /
``report.parquet`` declared ``{kind: embedding}`` in ``modalities.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from omnifuse.data.arrays import IrregularSeries, LazyFiles, ModalityData
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.loaders import write_folder
from omnifuse.data.mimic.cohort import build_cohort
from omnifuse.data.mimic.cxr import DEFAULT_VIEWS, image_path, match_cxr, read_metadata, report_path, report_section
from omnifuse.data.mimic.discretize import N_STEPS, discretize, step_times
from omnifuse.data.mimic.events import read_events
from omnifuse.data.mimic.variables import COLUMNS
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError, DataError, DataWarning

SOURCE = "mimic-iv+mimic-cxr"
RECIPE_VERSION = "mimic-ihm-1"
SUMMARY_FILE = "mimic_summary.json"
#: Subject-level split shares (train, val, test), from a hash of subject_id.
SPLIT_SHARES = (("train", 0.7), ("val", 0.1), ("test", 0.2))
_SHOWN = 5  # file names quoted per warning


@dataclass
class MimicResult:
    dataset: MultimodalDataset
    summary: dict[str, Any]


def build_mimic(
    mimic_iv: str | Path,
    cxr: str | Path,
    reports: str | Path,
    views: tuple[str, ...] = DEFAULT_VIEWS,
    derive_gcs_total: bool = True,
    progress: bool = False,
) -> MimicResult:
    """Build the cohort as a :class:`MultimodalDataset` (modalities ehr, cxr, report) and a summary.

    Raises DataError for missing or unreadable required files; dropped stays, missing image or
    report files and unusable values are counted in the summary and reported as DataWarning.
    """
    mimic_iv, cxr, reports = (Path(p).expanduser() for p in (mimic_iv, cxr, reports))
    for flag, path in (("--mimic-iv", mimic_iv), ("--cxr", cxr), ("--reports", reports)):
        if not path.is_dir():
            raise DataError(f"{path}: not a directory ({flag})")
    if not views:
        raise ConfigError("views: give at least one view position (e.g. AP,PA)")
    cohort = build_cohort(mimic_iv)
    stays = cohort.stays
    if stays.empty:
        raise DataError(f"{mimic_iv}: no ICU stay is left after the cohort rules ({_reasons(cohort.skipped)})")
    events, event_stats = read_events(mimic_iv, stays, derive_gcs_total=derive_gcs_total, progress=progress)
    with_events = np.bincount(events.stay, minlength=len(stays)) > 0
    skipped = dict(cohort.skipped, no_ehr_in_first_48h=int((~with_events).sum()))
    stays = stays[with_events].reset_index(drop=True)
    if stays.empty:
        raise DataError(f"{mimic_iv}: no kept ICU stay has a mapped chart or lab event in its first 48 hours")
    remap = np.cumsum(with_events) - 1
    keep = with_events[events.stay]
    events = type(events)(remap[events.stay[keep]], *(a[keep] for a in events[1:]))
    ehr = discretize(events, len(stays))

    metadata, metadata_path, bad_rows = read_metadata(cxr)
    match = match_cxr(stays, metadata, views)
    paths, missing_images = _image_paths(cxr, stays, match)
    texts, sections, report_counts = _reports(reports, stays, match)
    messages = list(cohort.messages)
    if bad_rows:
        messages.append(
            f"{metadata_path}: {bad_rows} row(s) without a valid subject_id, study_id, dicom_id or "
            "StudyDate/StudyTime are ignored"
        )
    messages += _file_messages(missing_images, report_counts)
    messages += _event_messages(mimic_iv, event_stats)

    n = len(stays)
    sample_ids = stays["stay_id"].astype(str).to_numpy()
    groups = stays["subject_id"].astype(str).to_numpy()
    specs = [
        ModalitySpec("ehr", "timeseries", COLUMNS, (N_STEPS, len(COLUMNS)), "hours", {"layout": "mimic3-benchmark-76"}),
        ModalitySpec("cxr", "image", ("path",), ()),
        ModalitySpec("report", "text", ("text",), ()),
    ]
    data: dict[str, ModalityData] = {
        "ehr": IrregularSeries(ehr, np.tile(step_times(), (n, 1)), np.full(n, N_STEPS, dtype=np.int64)),
        "cxr": LazyFiles(paths),
        "report": texts,
    }
    mask = {"ehr": np.ones(n, dtype=bool), "cxr": paths != "", "report": texts != ""}
    for name in ("cxr", "report"):  # a modality no stay has is left out (an empty file would not load)
        if not mask[name].any():
            messages.append(f"no kept stay has a {name}: the cohort is written without {name}.csv")
            specs = [spec for spec in specs if spec.name != name]
            del data[name]
    mask = {name: mask[name] for name in data}
    summary = {
        "recipe": RECIPE_VERSION,
        "sources": {"mimic_iv": str(mimic_iv), "cxr": str(cxr), "reports": str(reports)},
        "settings": {"views": list(views), "derive_gcs_total": derive_gcs_total, "hours": 48, "step_hours": 2,
                     "split_shares": dict(SPLIT_SHARES)},
        "icu_stays_read": cohort.n_icu_stays,
        "stays_kept": n,
        "skipped_stays": skipped,
        "labels": {"died": int(stays["label"].sum()), "survived": int(n - stays["label"].sum())},
        "modalities": {"ehr": n, "cxr": int((paths != "").sum()), "report": int((texts != "").sum())},
        "cxr": {
            "stays_without_image_in_window": int((match.study_id < 0).sum()),
            "stays_with_only_other_views": match.n_in_window_other_view,
            "image_files_missing": len(missing_images),
            "views_chosen": {v: int((match.view == v).sum()) for v in views},
            "metadata_rows_ignored": bad_rows,
        },
        "report": {
            "findings": int((sections == "findings").sum()),
            "impression_fallback": int((sections == "impression").sum()),
            "files_missing": len(report_counts["missing_files"]),
            "no_findings_or_impression": len(report_counts["no_section"]),
            "unreadable": len(report_counts["unreadable"]),
        },
        "events": event_stats,
        "warnings": messages,
    }  # fmt: skip
    ds = MultimodalDataset(
        specs, data, mask, Labels("binary", stays["label"].to_numpy(np.int64), ("0", "1")), sample_ids, groups,
        splits=np.array([subject_split(s) for s in stays["subject_id"]]),
        info={"source": SOURCE, "recipe": RECIPE_VERSION, "path": str(mimic_iv)},
    )  # fmt: skip
    for message in messages:
        warnings.warn(message, DataWarning, stacklevel=2)
    return MimicResult(ds, summary)


def write_mimic(result: MimicResult, out: str | Path, overwrite: bool = False) -> Path:
    """Write the cohort in the generic folder format plus ``mimic_summary.json``."""
    out = write_folder(result.dataset, out, overwrite=overwrite)
    (out / SUMMARY_FILE).write_text(json.dumps(result.summary, indent=2, default=str))
    return out


def subject_split(subject_id: int | str) -> str:
    """train / val / test from a hash of the subject: stable across runs and cohort versions."""
    digest = hashlib.sha256(f"omnifuse-mimic:{int(subject_id)}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    edge = 0.0
    for name, share in SPLIT_SHARES:
        edge += share
        if u < edge:
            return name
    return SPLIT_SHARES[-1][0]


def _image_paths(root: Path, stays: Any, match: Any) -> tuple[np.ndarray, list[str]]:
    paths = np.full(len(stays), "", dtype=object)
    missing: list[str] = []
    subjects = stays["subject_id"].to_numpy()
    for row in np.flatnonzero(match.study_id >= 0):
        path = image_path(root, subjects[row], match.study_id[row], match.dicom_id[row]).resolve()
        if path.is_file():
            paths[row] = str(path)
        else:
            missing.append(str(path))
    return paths.astype(str), missing


def _reports(root: Path, stays: Any, match: Any) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
    texts = np.full(len(stays), "", dtype=object)
    sections = np.full(len(stays), "", dtype=object)
    counts: dict[str, list[str]] = {"missing_files": [], "no_section": [], "unreadable": []}
    subjects = stays["subject_id"].to_numpy()
    for row in np.flatnonzero(match.study_id >= 0):
        path = report_path(root, subjects[row], match.study_id[row])
        if not path.is_file():
            counts["missing_files"].append(str(path))
            continue
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            counts["unreadable"].append(f"{path} ({exc.strerror or exc})")
            continue
        section, text = report_section(raw)
        if not text:
            counts["no_section"].append(str(path))
            continue
        texts[row], sections[row] = text, section
    return texts.astype(str), sections.astype(str), counts


def _file_messages(missing_images: list[str], reports: dict[str, list[str]]) -> list[str]:
    out = []
    for files, what in (
        (missing_images, "matched CXR image file(s) not found, those stays have no cxr"),
        (reports["missing_files"], "report file(s) of matched studies not found, those stays have no report"),
        (
            reports["no_section"],
            "report(s) have neither a FINDINGS nor an IMPRESSION section, those stays have no report",
        ),
        (reports["unreadable"], "report file(s) cannot be read, those stays have no report"),
    ):
        if files:
            out.append(f"{len(files)} {what} (first: {', '.join(files[:_SHOWN])})")
    return out


def _event_messages(root: Path, stats: dict[str, Any]) -> list[str]:
    out = []
    if stats.get("unknown_itemids"):
        out.append(
            f"{root}: mapped itemid(s) {', '.join(map(str, stats['unknown_itemids']))} are not in icu/d_items or "
            "hosp/d_labitems (a MIMIC version this recipe does not know?)"
        )
    for table in ("chartevents", "labevents"):
        if stats.get(f"{table}_bad_charttime"):
            out.append(
                f"{root}: {stats[f'{table}_bad_charttime']} {table} row(s) without a valid charttime are ignored"
            )
    if stats.get("unparseable_values"):
        shown = ", ".join(f"{k}: {v}" for k, v in stats["unparseable_values"].items())
        out.append(f"{root}: non-numeric values of continuous variables are ignored ({shown})")
    if stats.get("unknown_categories"):
        shown = "; ".join(f"{k}: {', '.join(map(repr, v))}" for k, v in stats["unknown_categories"].items())
        out.append(f"{root}: unknown categorical values are ignored ({shown})")
    return out


def _reasons(skipped: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in skipped.items() if v) or "no ICU stays"
