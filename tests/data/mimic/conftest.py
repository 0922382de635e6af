"""A tiny, hand-made MIMIC-IV + MIMIC-CXR-JPG + MIMIC-CXR-reports tree (no real MIMIC data).

Stays (intime -> outtime; what each one tests):

* 30000001, subject 10000001: 96 h, survived. The hand-computed EHR example (Fahrenheit
  temperature, GCS components at one time -> derived total, capillary refill, FiO2 in %, labs
  assigned by time, events before intime / after 48 h / exactly at 48 h, an "ERROR" value, an
  unknown GCS category). CXR: two AP studies in the first 48 h (the later one wins, its
  lateral is ignored) and an AP after 48 h. Report with FINDINGS.
* 30000002, subject 10000002: 72 h, died in hospital. CXR: a PA in the window, a later
  LATERAL in the window, an AP before intime (outside the stay): the PA wins. Its report has
  no FINDINGS section (IMPRESSION is used). Glucose charted and lab at the same time.
* 30000003, subject 10000003: 60 h, survived; its only CXR is after 48 h: no cxr, no report.
* dropped: 30000004 (age 16), 30000005 (30 h), 30000006 (ICU transfer), 30000007/30000008
  (two ICU stays in one admission), 30000009 (no event in its first 48 h).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from omnifuse.data.mimic.variables import CHART_ITEMS, LAB_ITEMS

S1, S2, S3, S4, S5 = 10000001, 10000002, 10000003, 10000004, 10000005


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, compression="gzip" if path.suffix == ".gz" else None)


def patients() -> pd.DataFrame:
    return pd.DataFrame({
        "subject_id": [S1, S2, S3, S4, S5], "gender": ["F", "M", "F", "M", "F"],
        "anchor_age": [60, 70, 45, 16, 80], "anchor_year": [2150] * 5,
        "anchor_year_group": ["2014 - 2016"] * 5, "dod": [None, "2150-02-04", None, None, None],
    })  # fmt: skip


def admissions() -> pd.DataFrame:
    rows = [
        (S1, 20000001, "2150-01-01 08:00:00", "2150-01-10 12:00:00", None, 0),
        (S2, 20000002, "2150-02-01 08:00:00", "2150-02-04 14:00:00", "2150-02-04 14:00:00", 1),
        (S3, 20000003, "2150-03-01 08:00:00", "2150-03-08 12:00:00", None, 0),
        (S4, 20000004, "2150-04-01 08:00:00", "2150-04-08 12:00:00", None, 0),
        (S5, 20000005, "2150-05-01 08:00:00", "2150-05-08 12:00:00", None, 0),
        (S1, 20000006, "2150-06-01 08:00:00", "2150-06-08 12:00:00", None, 0),
        (S3, 20000007, "2150-07-01 08:00:00", "2150-07-20 12:00:00", None, 0),
        (S5, 20000009, "2150-09-01 08:00:00", "2150-09-08 12:00:00", None, 0),
    ]
    return pd.DataFrame(rows, columns=["subject_id", "hadm_id", "admittime", "dischtime", "deathtime",
                                       "hospital_expire_flag"]).assign(admission_type="EW EMER.")  # fmt: skip


def icustays() -> pd.DataFrame:
    rows = [
        (S1, 20000001, 30000001, "MICU", "MICU", "2150-01-01 10:00:00", "2150-01-05 10:00:00"),
        (S2, 20000002, 30000002, "MICU", "MICU", "2150-02-01 12:00:00", "2150-02-04 12:00:00"),
        (S3, 20000003, 30000003, "SICU", "SICU", "2150-03-01 10:00:00", "2150-03-03 22:00:00"),
        (S4, 20000004, 30000004, "MICU", "MICU", "2150-04-01 10:00:00", "2150-04-05 10:00:00"),
        (S5, 20000005, 30000005, "MICU", "MICU", "2150-05-01 10:00:00", "2150-05-02 16:00:00"),
        (S1, 20000006, 30000006, "MICU", "CCU", "2150-06-01 10:00:00", "2150-06-05 10:00:00"),
        (S3, 20000007, 30000007, "MICU", "MICU", "2150-07-01 10:00:00", "2150-07-05 10:00:00"),
        (S3, 20000007, 30000008, "MICU", "MICU", "2150-07-10 10:00:00", "2150-07-15 10:00:00"),
        (S5, 20000009, 30000009, "MICU", "MICU", "2150-09-01 10:00:00", "2150-09-04 10:00:00"),
    ]
    frame = pd.DataFrame(rows, columns=["subject_id", "hadm_id", "stay_id", "first_careunit", "last_careunit",
                                        "intime", "outtime"])  # fmt: skip
    hours = (pd.to_datetime(frame["outtime"]) - pd.to_datetime(frame["intime"])).dt.total_seconds() / 3600
    return frame.assign(los=hours / 24)


def chartevents() -> pd.DataFrame:
    rows = [
        # stay 30000001, intime 2150-01-01 10:00
        (S1, 30000001, "2150-01-01 10:30:00", 220045, "80", 80.0),  # 0.5 h, bin 0
        (S1, 30000001, "2150-01-01 11:30:00", 220045, "90", 90.0),  # 1.5 h, bin 0
        (S1, 30000001, "2150-01-01 12:00:00", 220045, "100", 100.0),  # 2.0 h, still bin 0 (last wins)
        (S1, 30000001, "2150-01-01 15:00:00", 220045, "110", 110.0),  # 5 h, bin 2
        (S1, 30000001, "2150-01-01 17:00:00", 220045, "ERROR", None),  # 7 h: not a number
        (S1, 30000001, "2150-01-01 13:00:00", 223761, "98.6", 98.6),  # 3 h, bin 1: 37.0 C
        (S1, 30000001, "2150-01-02 21:00:00", 223762, "38.5", 38.5),  # 35 h, bin 17
        (S1, 30000001, "2150-01-01 11:00:00", 220739, "Spontaneously", 4.0),  # 1 h, bin 0
        (S1, 30000001, "2150-01-01 11:00:00", 223900, "Confused", 4.0),
        (S1, 30000001, "2150-01-01 11:00:00", 223901, "Obeys Commands", 6.0),  # -> GCS total 14
        (S1, 30000001, "2150-01-01 20:00:00", 220739, "To Pain", 2.0),  # 10 h, bin 4
        (S1, 30000001, "2150-01-02 16:00:00", 223901, "Garbage", None),  # 30 h: unknown category
        (S1, 30000001, "2150-01-01 14:00:00", 223951, "Abnormal >3 Seconds", None),  # 4 h, bin 1
        (S1, 30000001, "2150-01-01 16:00:00", 223835, "50", 50.0),  # 6 h, bin 2: FiO2 0.5
        (S1, 30000001, "2150-01-01 09:00:00", 220179, "140", 140.0),  # before intime: dropped
        (S1, 30000001, "2150-01-03 20:00:00", 220179, "150", 150.0),  # 58 h: dropped
        (S1, 30000001, "2150-01-03 10:00:00", 220210, "22", 22.0),  # exactly 48 h: bin 23
        (S1, 30000001, "2150-01-01 12:00:00", 999999, "1", 1.0),  # unmapped itemid: ignored
        # stay 30000002, intime 2150-02-01 12:00
        (S2, 30000002, "2150-02-01 13:00:00", 220045, "120", 120.0),
        (S2, 30000002, "2150-02-01 14:00:00", 220621, "200", 200.0),  # same time as lab 50931
        (S2, 30000002, "2150-02-01 13:00:00", 224308, "Normal <3 Seconds", None),
        # stay 30000003
        (S3, 30000003, "2150-03-01 11:00:00", 220045, "70", 70.0),
        # dropped stays still have events
        (S4, 30000004, "2150-04-01 11:00:00", 220045, "75", 75.0),
        (S5, 30000005, "2150-05-01 11:00:00", 220045, "75", 75.0),
        (S1, 30000006, "2150-06-01 11:00:00", 220045, "75", 75.0),
        (S5, 30000009, "2150-09-03 11:00:00", 220045, "75", 75.0),  # 49 h: outside the window
    ]
    frame = pd.DataFrame(rows, columns=["subject_id", "stay_id", "charttime", "itemid", "value", "valuenum"])
    return frame.assign(hadm_id=0, caregiver_id=1, storetime=frame["charttime"], valueuom="", warning=0)


def labevents() -> pd.DataFrame:
    rows = [
        (1, S1, "2150-01-01 12:30:00", 50931, "150", 150.0),  # 2.5 h, bin 1
        (2, S1, "2150-01-01 09:00:00", 50820, "7.20", 7.20),  # before intime: dropped
        (3, S1, "2150-01-01 22:00:00", 50820, "7.31", 7.31),  # 12 h, bin 5
        (4, S1, "2150-01-01 22:00:00", 50912, "1.1", 1.1),  # creatinine: not mapped
        (5, S2, "2150-02-01 14:00:00", 50931, "180", 180.0),  # loses the tie to charted 220621
        (6, S3, "2150-03-01 12:00:00", 50809, "95", 95.0),
    ]
    frame = pd.DataFrame(rows, columns=["labevent_id", "subject_id", "charttime", "itemid", "value", "valuenum"])
    return frame.assign(hadm_id=None, specimen_id=1, valueuom="", flag=None)


def d_items() -> pd.DataFrame:
    ids = sorted(CHART_ITEMS)
    return pd.DataFrame({"itemid": ids, "label": [CHART_ITEMS[i].label for i in ids], "linksto": "chartevents"})


def d_labitems() -> pd.DataFrame:
    ids = sorted(LAB_ITEMS)
    return pd.DataFrame({"itemid": ids, "label": [LAB_ITEMS[i].label for i in ids], "fluid": "Blood"})


#: (dicom_id, subject_id, study_id, StudyDate, StudyTime, ViewPosition)
CXR_ROWS = [
    ("d1a", S1, 50000001, 21500102, 90000.0, "AP"),  # 23 h
    ("d1b", S1, 50000002, 21500102, 201500.123, "AP"),  # 34.25 h: the latest AP in the window
    ("d1c", S1, 50000002, 21500102, 201500.123, "LATERAL"),
    ("d1d", S1, 50000003, 21500103, 120000.0, "AP"),  # 50 h: after the first 48 h
    ("d2a", S2, 50000010, 21500201, 200000.0, "PA"),  # 8 h
    ("d2b", S2, 50000011, 21500202, 80000.0, "LATERAL"),  # 20 h
    ("d2c", S2, 50000012, 21500130, 100000.0, "AP"),  # before intime
    ("d3a", S3, 50000020, 21500304, 100000.0, "AP"),  # after the stay's first 48 h
]

REPORT_S1 = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PORTABLE AP)

 INDICATION:  ___ year old woman with hypoxia.

 COMPARISON:  Chest radiograph from ___.

 FINDINGS:

 Lungs are clear.  No pleural effusion
 or pneumothorax.  Heart size is normal.

 IMPRESSION:

 No acute cardiopulmonary process.
"""
REPORT_S1_EARLY = "FINDINGS:  Mild pulmonary edema.\n\nIMPRESSION:  Edema.\n"
REPORT_S2 = """                                 FINAL REPORT
 INDICATION:  Intubated patient.

 IMPRESSION:  Endotracheal tube in standard position.  Bibasilar atelectasis.
"""


def write_cxr(root: Path) -> Path:
    frame = pd.DataFrame(
        CXR_ROWS, columns=["dicom_id", "subject_id", "study_id", "StudyDate", "StudyTime", "ViewPosition"]
    )
    frame = frame.assign(PerformedProcedureDescription="CHEST (PORTABLE AP)", Rows=8, Columns=8)
    _write(frame, root / "mimic-cxr-2.0.0-metadata.csv.gz")
    for dicom, subject, study, *_ in CXR_ROWS:
        folder = root / "files" / f"p{str(subject)[:2]}" / f"p{subject}" / f"s{study}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("L", (8, 8), color=len(dicom) * 20).save(folder / f"{dicom}.jpg")
    return root


def write_reports(root: Path) -> Path:
    for subject, study, text in ((S1, 50000002, REPORT_S1), (S1, 50000001, REPORT_S1_EARLY), (S2, 50000010, REPORT_S2)):
        folder = root / "files" / f"p{str(subject)[:2]}" / f"p{subject}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"s{study}.txt").write_text(text)
    return root


def write_mimic_iv(root: Path) -> Path:
    _write(patients(), root / "hosp" / "patients.csv.gz")
    _write(admissions(), root / "hosp" / "admissions.csv")  # plain .csv is accepted too
    _write(icustays(), root / "icu" / "icustays.csv.gz")
    _write(chartevents(), root / "icu" / "chartevents.csv.gz")
    _write(labevents(), root / "hosp" / "labevents.csv.gz")
    _write(d_items(), root / "icu" / "d_items.csv.gz")
    _write(d_labitems(), root / "hosp" / "d_labitems.csv.gz")
    return root


@pytest.fixture
def mimic(tmp_path: Path) -> dict[str, Path]:
    """Paths of a fresh fixture tree: ``mimic_iv``, ``cxr``, ``reports``."""
    return {
        "mimic_iv": write_mimic_iv(tmp_path / "mimiciv" / "2.2"),
        "cxr": write_cxr(tmp_path / "mimic-cxr-jpg" / "2.0.0"),
        "reports": write_reports(tmp_path / "mimic-cxr-reports"),
    }
