"""Chest X-rays (MIMIC-CXR-JPG) and their reports (MIMIC-CXR), matched to ICU stays.

CXR of a stay (MedFuse's rule for in-hospital mortality, with a view preference added): the
studies of the stay's patient (``subject_id``) taken within the first 48 hours of the stay,
``intime <= StudyDate+StudyTime <= intime + 48 h`` (inside the stay, since kept stays last at
least 48 h); of those, the images of the first view in ``views`` that has any (default AP,
then PA; MedFuse uses AP only: ``views=("AP",)``); of those, the last one in time (ties: the
largest dicom_id). Its file is ``files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg``.

Report of a stay: the free-text report of the chosen image's study, matched by ``subject_id``
and ``study_id``: ``files/pXX/pSUBJECT/sSTUDY.txt``; its FINDINGS section (whitespace
collapsed), or the IMPRESSION section when the report has no (or an empty) FINDINGS section.
A report with neither is absent for that stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omnifuse.data.mimic.discretize import HOURS
from omnifuse.data.mimic.tables import find_table, read_table

METADATA = "mimic-cxr-2.0.0-metadata"
DEFAULT_VIEWS = ("AP", "PA")
FINDINGS_HEADERS = ("FINDINGS", "FINDING", "FINDINGS AND IMPRESSION", "FINDINGS/IMPRESSION")
IMPRESSION_HEADERS = ("IMPRESSION", "IMPRESSIONS", "IMPRESSION AND FINDINGS")
#: A section header: upper-case words at the start of a line, then a colon.
_HEADER = re.compile(r"^[ \t]*([A-Z][A-Z0-9 ,/&()'-]*?)[ \t]*:", re.MULTILINE)


def files_root(root: Path) -> Path:
    """``root/files`` when present, else ``root`` (a folder given as the ``files`` folder itself)."""
    return root / "files" if (root / "files").is_dir() else root


def study_folder(root: Path, subject_id: int, study_id: int) -> Path:
    subject = str(int(subject_id))
    return files_root(root) / f"p{subject[:2]}" / f"p{subject}" / f"s{int(study_id)}"


def read_metadata(root: Path) -> tuple[pd.DataFrame, Path, int]:
    """The CXR metadata with a ``when`` timestamp; also its path and the number of rows without one."""
    path = find_table(root, METADATA, "--cxr must be the MIMIC-CXR-JPG folder holding the metadata file and files/")
    frame = read_table(
        path, ["dicom_id", "subject_id", "study_id", "StudyDate", "StudyTime", "ViewPosition"],
        dtype={"dicom_id": str, "ViewPosition": str},
    )  # fmt: skip
    date = pd.to_numeric(frame["StudyDate"], errors="coerce")
    time = pd.to_numeric(frame["StudyTime"], errors="coerce")
    text = (
        date.map(lambda d: f"{int(d):08d}" if pd.notna(d) else None)
        + " "
        + time.map(lambda t: f"{int(t):06d}" if pd.notna(t) else None)
    )
    frame["when"] = pd.to_datetime(text, format="%Y%m%d %H%M%S", errors="coerce")
    ids = frame[["subject_id", "study_id"]].apply(pd.to_numeric, errors="coerce")
    good = frame["when"].notna() & ids.notna().all(axis=1) & frame["dicom_id"].notna()
    frame = frame[good.to_numpy()].copy()
    frame[["subject_id", "study_id"]] = ids[good.to_numpy()].astype(np.int64)
    frame["ViewPosition"] = frame["ViewPosition"].fillna("").astype(str).str.strip().str.upper()
    return frame, path, int((~good).sum())


@dataclass
class CxrMatch:
    """The chosen image of each stay (rows aligned with the cohort); -1 / "" where none."""

    study_id: np.ndarray
    dicom_id: np.ndarray
    view: np.ndarray
    n_in_window_other_view: int  # stays with images in the window but none of the wanted views


def match_cxr(stays: pd.DataFrame, metadata: pd.DataFrame, views: tuple[str, ...] = DEFAULT_VIEWS) -> CxrMatch:
    """The image of each stay by the rule in the module docstring."""
    n = len(stays)
    study = np.full(n, -1, dtype=np.int64)
    dicom = np.full(n, "", dtype=object)
    view = np.full(n, "", dtype=object)
    window = stays[["subject_id", "intime"]].assign(row=np.arange(n))
    pairs = window.merge(metadata, on="subject_id", how="inner")
    pairs = pairs[(pairs["when"] >= pairs["intime"]) & (pairs["when"] <= pairs["intime"] + pd.Timedelta(hours=HOURS))]
    wanted = [v.upper() for v in views]
    rank = pairs["ViewPosition"].map({v: k for k, v in enumerate(wanted)})
    other = set(pairs["row"]) - set(pairs.loc[rank.notna(), "row"])
    pairs = pairs[rank.notna().to_numpy()].assign(rank=rank.dropna().astype(int))
    # best view first, then the latest time, then the largest dicom_id
    pairs = pairs.sort_values(["row", "rank", "when", "dicom_id"], ascending=[True, True, False, False])
    best = pairs.drop_duplicates("row", keep="first")
    rows = best["row"].to_numpy()
    study[rows] = best["study_id"].to_numpy()
    dicom[rows] = best["dicom_id"].to_numpy()
    view[rows] = best["ViewPosition"].to_numpy()
    return CxrMatch(study, dicom.astype(str), view.astype(str), len(other))


def image_path(root: Path, subject_id: int, study_id: int, dicom_id: str) -> Path:
    return study_folder(root, subject_id, study_id) / f"{dicom_id}.jpg"


def report_path(root: Path, subject_id: int, study_id: int) -> Path:
    folder = study_folder(root, subject_id, study_id)
    return folder.parent / f"{folder.name}.txt"


def report_section(text: str) -> tuple[str, str]:
    """``(section, text)``: FINDINGS, else IMPRESSION, whitespace collapsed; ``("", "")`` if neither."""
    sections: dict[str, str] = {}
    headers = list(_HEADER.finditer(text))
    for k, match in enumerate(headers):
        end = headers[k + 1].start() if k + 1 < len(headers) else len(text)
        body = " ".join(text[match.end() : end].split())
        name = " ".join(match.group(1).split())
        if body and name not in sections:
            sections[name] = body
    for label, names in (("findings", FINDINGS_HEADERS), ("impression", IMPRESSION_HEADERS)):
        for name in names:
            if sections.get(name):
                return label, sections[name]
    return "", ""
