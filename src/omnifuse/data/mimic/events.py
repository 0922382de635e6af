"""Chart and lab events of the cohort's first 48 hours, cleaned as the MIMIC-III benchmark does.

* ``icu/chartevents``: rows of the mapped itemids whose ``stay_id`` is a cohort stay.
* ``hosp/labevents`` (no stay_id): rows of the mapped itemids of a cohort patient, assigned to
  the stay whose first 48 hours contain ``charttime`` (the benchmark assigns labs by time
  within the stay, too).

Cleaning (benchmark ``clean_fns``): numbers from ``valuenum``, else parsed from ``value``
(text such as "ERROR" makes the row unobserved); Fahrenheit to Celsius (item 223761, or any
temperature >= 79); FiO2 > 1 divided by 100; oxygen saturation <= 1 times 100; pounds to kg;
inches to cm (rounded). Categorical values are matched to the benchmark's categories (exactly,
then ignoring case); unknown ones are counted and left unobserved. No outlier removal, as in
the benchmark's extraction.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from omnifuse.data.mimic.cohort import LAYOUT_HINT
from omnifuse.data.mimic.discretize import HOURS, Events
from omnifuse.data.mimic.tables import Window, find_table, optional_table, read_table, stream_events
from omnifuse.data.mimic.variables import (
    CAPILLARY_REFILL, CATEGORIES, CHART_ITEMS, CRR, GCS_EYE, GCS_MOTOR, GCS_SCORES, GCS_TOTAL, GCS_VERBAL, ITEMS,
    LAB_ITEMS, VAR_INDEX, VARIABLES, is_categorical,
)  # fmt: skip

CHART_TYPES = {"stay_id": pa.int64(), "charttime": pa.string(), "itemid": pa.int64(),
               "value": pa.string(), "valuenum": pa.float64()}  # fmt: skip
LAB_TYPES = {"subject_id": pa.int64(), "charttime": pa.string(), "itemid": pa.int64(),
             "value": pa.string(), "valuenum": pa.float64()}  # fmt: skip
EPS = 1e-6
_ITEM_VAR = {i.itemid: VAR_INDEX[i.variable] for i in ITEMS}
_ITEM_CONVERT = {i.itemid: i.convert for i in ITEMS if i.convert}


def read_events(
    root: Path, stays: pd.DataFrame, derive_gcs_total: bool = True, progress: bool = False
) -> tuple[Events, dict[str, Any]]:
    """The cleaned events of ``stays`` (rows of the cohort table) and counts for the summary."""
    chart_path = find_table(root, "icu/chartevents", LAYOUT_HINT)
    lab_path = find_table(root, "hosp/labevents", LAYOUT_HINT)
    stats: dict[str, Any] = {"unknown_itemids": _check_dictionaries(root)}
    row_of = pd.Series(np.arange(len(stays)), index=stays["stay_id"].to_numpy())
    intime = stays["intime"].to_numpy()

    start = (stays["intime"] - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    end = start + int(HOURS * 3600)
    by_stay = Window(stays["stay_id"].to_numpy(np.int64), start.to_numpy(np.int64), end.to_numpy(np.int64))
    order = np.argsort(by_stay.keys)
    by_stay = Window(*(a[order] for a in by_stay))
    chart = stream_events(chart_path, list(CHART_TYPES), CHART_TYPES, CHART_ITEMS, "stay_id", by_stay, progress)
    chart["stay"] = row_of.reindex(chart["stay_id"].to_numpy()).to_numpy()
    chart = _with_hours(chart, intime, stats, "chartevents")

    spans = (
        pd.DataFrame({"subject_id": stays["subject_id"], "start": start, "end": end})
        .groupby("subject_id")
        .agg(start=("start", "min"), end=("end", "max"))
    )  # labs: from a patient's first kept intime to 48 h after the last one
    by_subject = Window(
        spans.index.to_numpy(np.int64), spans["start"].to_numpy(np.int64), spans["end"].to_numpy(np.int64)
    )
    lab = stream_events(lab_path, list(LAB_TYPES), LAB_TYPES, LAB_ITEMS, "subject_id", by_subject, progress)
    lab = lab.merge(stays[["subject_id"]].assign(stay=np.arange(len(stays))), on="subject_id", how="inner")
    lab = _with_hours(lab, intime, stats, "labevents")
    stats["chartevents_rows"], stats["labevents_rows"] = len(chart), len(lab)

    frame = pd.concat([chart, lab], ignore_index=True)
    frame["var"] = frame["itemid"].map(_ITEM_VAR).astype(np.int64)
    frame["code"] = _clean(frame, stats)
    parts = [frame[["stay", "hours", "var", "code", "itemid"]]]
    stats["gcs_total_derived"] = 0
    if derive_gcs_total:
        total = _gcs_total(frame)
        stats["gcs_total_derived"] = len(total)
        parts.append(total)
    events = pd.concat(parts, ignore_index=True)
    events = events[events["code"].notna()]
    return (
        Events(
            events["stay"].to_numpy(np.int64), events["hours"].to_numpy(np.float64), events["var"].to_numpy(np.int64),
            events["code"].to_numpy(np.float64), events["itemid"].to_numpy(np.int64),
        ),
        stats,
    )  # fmt: skip


def _with_hours(frame: pd.DataFrame, intime: np.ndarray, stats: dict[str, Any], table: str) -> pd.DataFrame:
    """Hours since ICU admission; rows outside the first 48 h (or without a time) are dropped."""
    when = pd.to_datetime(frame["charttime"], errors="coerce")
    stats[f"{table}_bad_charttime"] = int(when.isna().sum())
    stay = frame["stay"].to_numpy()
    hours = (when.to_numpy() - intime[stay]) / np.timedelta64(1, "h") if len(frame) else np.zeros(0)
    frame = frame.assign(hours=np.asarray(hours, dtype=np.float64))
    inside = frame["hours"].notna() & (frame["hours"] > -EPS) & (frame["hours"] < HOURS + EPS)
    return frame[inside.to_numpy()].reset_index(drop=True)


def _clean(frame: pd.DataFrame, stats: dict[str, Any]) -> pd.Series:
    """Number (continuous) or category index (categorical) per row; NaN when unusable."""
    code = pd.Series(np.nan, index=frame.index)
    unparseable: dict[str, int] = {}
    unknown: dict[str, dict[str, int]] = {}
    for k, name in enumerate(VARIABLES):
        rows = frame["var"] == k
        if not rows.any():
            continue
        sub = frame[rows]
        if is_categorical(name):
            values = _categories(k, sub["value"])
            bad = values.isna() & sub["value"].notna()
            if bad.any():
                unknown[name] = dict(Counter(sub.loc[bad, "value"].astype(str)).most_common(5))
        else:
            values = _numbers(k, sub)
            bad = values.isna()
            if bad.any():
                unparseable[name] = int(bad.sum())
        code[rows] = values.to_numpy()
    stats["unparseable_values"] = unparseable
    stats["unknown_categories"] = unknown
    return code


def _categories(var: int, raw: pd.Series) -> pd.Series:
    text = raw.fillna("").astype(str).str.strip()
    if var == CRR:
        text = text.str.lower().map(CAPILLARY_REFILL)
    choices = CATEGORIES[VARIABLES[var]]
    exact = {c: float(i) for i, c in enumerate(choices)}
    folded = {c.casefold(): float(i) for i, c in reversed(list(enumerate(choices)))}
    found = text.map(exact).astype("float64")
    return found.fillna(text.str.casefold().map(folded).astype("float64"))


def _numbers(var: int, sub: pd.DataFrame) -> pd.Series:
    values = sub["valuenum"].astype("float64")
    values = values.fillna(pd.to_numeric(sub["value"], errors="coerce"))
    values = values.where(np.isfinite(values))
    convert = sub["itemid"].map(_ITEM_CONVERT)
    name = VARIABLES[var]
    if name == "Temperature":
        fahrenheit = (convert == "f_to_c") | (values >= 79)
        values = values.where(~fahrenheit, (values - 32.0) * 5.0 / 9.0)
    elif name == "Fraction inspired oxygen":
        values = values.where(~(values > 1.0), values / 100.0)
    elif name == "Oxygen saturation":
        values = values.where(~(values <= 1.0), values * 100.0)
    elif name == "Weight":
        values = values.where(convert != "lb_to_kg", values * 0.453592)
    elif name == "Height":
        values = values.where(convert != "in_to_cm", np.round(values * 2.54))
    return values


def _gcs_total(frame: pd.DataFrame) -> pd.DataFrame:
    """GCS total events: eye + verbal + motor charted at the same time in the same stay."""
    parts = []
    for var in (GCS_EYE, GCS_VERBAL, GCS_MOTOR):
        sub = frame[frame["var"] == var]
        score = sub["value"].fillna("").astype(str).str.strip().str.casefold().map(GCS_SCORES[var]).astype("float64")
        parts.append(
            pd.DataFrame({"stay": sub["stay"], "charttime": sub["charttime"], "hours": sub["hours"], f"s{var}": score})
            .dropna()
            .drop_duplicates(["stay", "charttime"], keep="last")
        )
    keys = ["stay", "charttime", "hours"]
    both = parts[0].merge(parts[1], on=keys).merge(parts[2], on=keys)
    total = (both[f"s{GCS_EYE}"] + both[f"s{GCS_VERBAL}"] + both[f"s{GCS_MOTOR}"]).astype(np.int64).astype(str)
    index = {c: float(i) for i, c in enumerate(CATEGORIES[VARIABLES[GCS_TOTAL]])}
    return pd.DataFrame({
        "stay": both["stay"].to_numpy(), "hours": both["hours"].to_numpy(),
        "var": np.full(len(both), GCS_TOTAL, dtype=np.int64), "code": total.map(index).to_numpy(dtype=np.float64),
        "itemid": np.zeros(len(both), dtype=np.int64),
    })  # fmt: skip


def _check_dictionaries(root: Path) -> list[int]:
    """Mapped itemids missing from ``icu/d_items`` / ``hosp/d_labitems`` (when those files exist).

    A missing itemid means a MIMIC version whose items differ from the ones this recipe maps.
    """
    missing: list[int] = []
    for name, items in (("icu/d_items", CHART_ITEMS), ("hosp/d_labitems", LAB_ITEMS)):
        path = optional_table(root, name)
        if path is None:
            continue
        known = set(read_table(path, ["itemid"])["itemid"].dropna().astype(np.int64).tolist())
        missing += sorted(set(items) - known)
    return missing
