"""The in-hospital-mortality cohort of ICU stays (MIMIC-III benchmark rules, as MedFuse on MIMIC-IV).

A stay is kept when, in this order (a dropped stay is counted under the first rule it fails):

1. it has an ICU admission and discharge time (``missing_times``);
2. it has no ICU transfer: ``first_careunit == last_careunit`` (``icu_transfer``);
3. it is the only ICU stay of its hospital admission, among the stays left by rule 2
   (``several_stays_in_admission``);
4. its admission is in ``hosp/admissions`` (``no_admission``) and its patient in
   ``hosp/patients`` (``no_patient``);
5. the patient is an adult at ICU admission: ``anchor_age + year(intime) - anchor_year >= 18``
   (``under_18``);
6. it lasted at least 48 hours: ``outtime - intime >= 48 h`` (``shorter_than_48h``).

The label is in-hospital death: ``hospital_expire_flag == 1``, or a ``deathtime`` between the
admission's ``admittime`` and ``dischtime``. (``patients.dod`` is not used: in MIMIC-IV it also
holds deaths after discharge, from state records.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from omnifuse.data.mimic.tables import find_table, read_table
from omnifuse.errors import DataError

LAYOUT_HINT = "--mimic-iv must be a MIMIC-IV v2.x folder holding hosp/ and icu/"
MIN_AGE = 18
MIN_HOURS = 48.0


@dataclass
class Cohort:
    """The kept stays (one row each, sorted by stay_id) and the counts of dropped ones."""

    stays: pd.DataFrame  # subject_id, hadm_id, stay_id, intime, outtime, age, label
    skipped: dict[str, int] = field(default_factory=dict)
    n_icu_stays: int = 0
    messages: list[str] = field(default_factory=list)  # for the summary and DataWarnings


def build_cohort(root: Path) -> Cohort:
    icustays_path = find_table(root, "icu/icustays", LAYOUT_HINT)
    admissions_path = find_table(root, "hosp/admissions", LAYOUT_HINT)
    patients_path = find_table(root, "hosp/patients", LAYOUT_HINT)
    stays = read_table(
        icustays_path,
        ["subject_id", "hadm_id", "stay_id", "first_careunit", "last_careunit", "intime", "outtime"],
        dates=["intime", "outtime"],
    )
    admissions = read_table(
        admissions_path,
        ["subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "hospital_expire_flag"],
        dates=["admittime", "dischtime", "deathtime"],
    )
    patients = read_table(patients_path, ["subject_id", "anchor_age", "anchor_year"])
    _check_ids(stays, icustays_path, ["subject_id", "hadm_id", "stay_id"])
    _check_ids(admissions, admissions_path, ["hadm_id"])
    _check_ids(patients, patients_path, ["subject_id"])
    twice = stays["stay_id"].duplicated()
    if twice.any():
        row = int(np.flatnonzero(twice.to_numpy())[0])
        raise DataError(f"{icustays_path}: row {row + 2}: stay_id {stays['stay_id'].iloc[row]} appears twice")

    skipped: dict[str, int] = {}
    n_total = len(stays)

    def drop(frame: pd.DataFrame, keep: pd.Series, reason: str) -> pd.DataFrame:
        skipped[reason] = int((~keep).sum())
        return frame[keep.to_numpy()]

    stays = drop(stays, stays["intime"].notna() & stays["outtime"].notna(), "missing_times")
    stays = drop(stays, stays["first_careunit"].astype(str) == stays["last_careunit"].astype(str), "icu_transfer")
    stays = drop(stays, stays.groupby("hadm_id")["stay_id"].transform("size") == 1, "several_stays_in_admission")
    admissions = admissions.drop_duplicates("hadm_id").drop(columns="subject_id")
    stays = stays.merge(admissions, on="hadm_id", how="left", indicator=True)
    stays = drop(stays, stays.pop("_merge") == "both", "no_admission")
    stays = stays.merge(patients.drop_duplicates("subject_id"), on="subject_id", how="left", indicator=True)
    stays = drop(stays, stays.pop("_merge") == "both", "no_patient")
    age = stays["anchor_age"] + stays["intime"].dt.year - stays["anchor_year"]
    stays = stays.assign(age=age)
    stays = drop(stays, stays["age"] >= MIN_AGE, "under_18")
    hours = (stays["outtime"] - stays["intime"]).dt.total_seconds() / 3600.0
    stays = drop(stays, hours >= MIN_HOURS - 1e-6, "shorter_than_48h")

    died_in = (
        stays["deathtime"].notna()
        & (stays["deathtime"] >= stays["admittime"])
        & (stays["deathtime"] <= stays["dischtime"])
    )
    flag = pd.to_numeric(stays["hospital_expire_flag"], errors="coerce").fillna(0) == 1
    stays = stays.assign(label=(flag | died_in).astype(np.int64))
    unflagged = int((died_in & ~flag).sum())
    messages = []
    if unflagged:
        messages.append(
            f"{admissions_path}: {unflagged} kept stay(s) have a deathtime within the admission but "
            "hospital_expire_flag 0; they are labelled as in-hospital deaths"
        )
    columns = ["subject_id", "hadm_id", "stay_id", "intime", "outtime", "age", "label"]
    stays = stays[columns].astype({"subject_id": np.int64, "hadm_id": np.int64, "stay_id": np.int64})
    stays = stays.sort_values("stay_id").reset_index(drop=True)
    return Cohort(stays, skipped, n_total, messages)


def _check_ids(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}: row {row + 2}: '{column}' is empty or not an integer ({frame[column].iloc[row]!r})"
            )
        frame[column] = values.astype(np.int64)
