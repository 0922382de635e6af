"""Parameters of the PhysioNet/CinC 2012 challenge data and their plausible ranges.

A value outside its range is *physiologically impossible* (a unit slip, a typo, a sensor
artefact): the loader counts it per parameter in ``info["impossible_values"]`` and treats it
as unobserved (NaN). The ranges are deliberately wide: they reject what cannot be a real
measurement of a living ICU patient, not what is merely abnormal.

==============  =======================  ========  ===========================================
parameter       plausible values         unit      rationale
==============  =======================  ========  ===========================================
Age             0 .. 120                 years     (the challenge caps ages at 90)
Gender          0 or 1                   -         0 = female, 1 = male
Height          100 .. 250               cm        rejects inches/mm slips (13 cm, 431 cm)
Weight          20 .. 350                kg        rejects 0.6 kg etc.
ICUType         1, 2, 3 or 4             -         coronary, cardiac surgery, medical, surgical
HR              0 < x <= 300             bpm       0 is a disconnected monitor, not a rhythm
MAP, SysABP,    0 < x <= 300             mmHg      invasive and non-invasive pressures;
DiasABP, NI*                                       0 is a flushed or disconnected line
Temp            25 .. 45                 °C        rejects -17.8 (0 °F) and 0
RespRate        0 < x <= 80              /min
GCS             3 .. 15, integer         -
Urine           0 .. 10000               mL        output since the previous record
MechVent        0 or 1                   -
FiO2            0.21 .. 1.0              fraction  1 < x <= 100 is read as percent first
pH              6.5 .. 8.0               -         rejects 735 (7.35 without its point) and 1
PaCO2           5 .. 200                 mmHg
PaO2            0 < x <= 800             mmHg
SaO2            0 < x <= 100             %
HCT             5 .. 80                  %
K               1 .. 12                  mmol/L
Na              90 .. 200                mmol/L
Mg              0 < x <= 20              mg/dL
HCO3            0 < x <= 60              mmol/L
BUN             0 .. 300                 mg/dL
Creatinine      0 < x <= 40              mg/dL
Glucose         0 < x <= 2000            mg/dL
WBC             0 .. 500                 10^3/uL
Platelets       0 .. 3000                10^3/uL
Lactate         0 < x <= 40              mmol/L
Bilirubin       0 .. 100                 mg/dL
AST, ALT        0 .. 50000               IU/L      ischaemic hepatitis reaches 10^4
ALP             0 .. 10000               IU/L
Albumin         0 < x <= 10              g/dL
TroponinI       0 .. 1000                ng/mL
TroponinT       0 .. 100                 ng/mL
Cholesterol     0 < x <= 2000            mg/dL
==============  =======================  ========  ===========================================

Negative laboratory values are always impossible. ``-1`` in a static descriptor (Age,
Gender, Height, ICUType, Weight) is the challenge's marker for *unknown*: it becomes NaN and
is counted in ``info["unknown_values"]``, not as impossible.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

INF = float("inf")


class Range(NamedTuple):
    """Plausible values ``lo <= x <= hi`` (``lo < x`` when ``lo_open``); ``integer`` too."""

    lo: float
    hi: float
    unit: str = ""
    lo_open: bool = False
    integer: bool = False


#: Static descriptors (rows at 00:00; Weight after 00:00 is a vital sign).
STATIC_PARAMS: tuple[str, ...] = ("Age", "Gender", "Height", "Weight", "ICUType")
#: Feature names of the ``static`` modality.
STATIC_FEATURES: tuple[str, ...] = (
    "Age", "Gender", "Height", "Weight", "ICUType_1", "ICUType_2", "ICUType_3", "ICUType_4",
)  # fmt: skip
VITALS: tuple[str, ...] = (
    "HR", "MAP", "SysABP", "DiasABP", "NIMAP", "NISysABP", "NIDiasABP",
    "Temp", "RespRate", "GCS", "Urine", "Weight", "MechVent", "FiO2",
)  # fmt: skip
LABS: tuple[str, ...] = (
    "pH", "PaCO2", "PaO2", "SaO2", "HCT", "K", "Na", "Mg", "HCO3", "BUN", "Creatinine",
    "Glucose", "WBC", "Platelets", "Lactate", "Bilirubin", "AST", "ALT", "ALP", "Albumin",
    "TroponinI", "TroponinT", "Cholesterol",
)  # fmt: skip
STATIC_CODING = "Gender 0 = female, 1 = male; ICUType 1 coronary, 2 cardiac surgery, 3 medical, 4 surgical"
#: Value of a static descriptor that means "unknown".
UNKNOWN_MARKER = -1.0

_PRESSURE = Range(0.0, 300.0, "mmHg", lo_open=True)
RANGES: dict[str, Range] = {
    "Age": Range(0.0, 120.0, "years"),
    "Gender": Range(0.0, 1.0, "", integer=True),
    "Height": Range(100.0, 250.0, "cm"),
    "Weight": Range(20.0, 350.0, "kg"),
    "ICUType": Range(1.0, 4.0, "", integer=True),
    "HR": Range(0.0, 300.0, "bpm", lo_open=True),
    "MAP": _PRESSURE,
    "SysABP": _PRESSURE,
    "DiasABP": _PRESSURE,
    "NIMAP": _PRESSURE,
    "NISysABP": _PRESSURE,
    "NIDiasABP": _PRESSURE,
    "Temp": Range(25.0, 45.0, "degC"),
    "RespRate": Range(0.0, 80.0, "/min", lo_open=True),
    "GCS": Range(3.0, 15.0, "", integer=True),
    "Urine": Range(0.0, 10000.0, "mL"),
    "MechVent": Range(0.0, 1.0, "", integer=True),
    "FiO2": Range(0.21, 1.0, "fraction"),
    "pH": Range(6.5, 8.0, ""),
    "PaCO2": Range(5.0, 200.0, "mmHg"),
    "PaO2": Range(0.0, 800.0, "mmHg", lo_open=True),
    "SaO2": Range(0.0, 100.0, "%", lo_open=True),
    "HCT": Range(5.0, 80.0, "%"),
    "K": Range(1.0, 12.0, "mmol/L"),
    "Na": Range(90.0, 200.0, "mmol/L"),
    "Mg": Range(0.0, 20.0, "mg/dL", lo_open=True),
    "HCO3": Range(0.0, 60.0, "mmol/L", lo_open=True),
    "BUN": Range(0.0, 300.0, "mg/dL"),
    "Creatinine": Range(0.0, 40.0, "mg/dL", lo_open=True),
    "Glucose": Range(0.0, 2000.0, "mg/dL", lo_open=True),
    "WBC": Range(0.0, 500.0, "10^3/uL"),
    "Platelets": Range(0.0, 3000.0, "10^3/uL"),
    "Lactate": Range(0.0, 40.0, "mmol/L", lo_open=True),
    "Bilirubin": Range(0.0, 100.0, "mg/dL"),
    "AST": Range(0.0, 50000.0, "IU/L"),
    "ALT": Range(0.0, 50000.0, "IU/L"),
    "ALP": Range(0.0, 10000.0, "IU/L"),
    "Albumin": Range(0.0, 10.0, "g/dL", lo_open=True),
    "TroponinI": Range(0.0, 1000.0, "ng/mL"),
    "TroponinT": Range(0.0, 100.0, "ng/mL"),
    "Cholesterol": Range(0.0, 2000.0, "mg/dL", lo_open=True),
}

#: Every parameter the loader knows, in code order (``RecordID`` is code 0).
PARAMS: tuple[str, ...] = ("RecordID", *STATIC_PARAMS, *(p for p in VITALS + LABS if p not in STATIC_PARAMS))
CODE: dict[str, int] = {p: i for i, p in enumerate(PARAMS)}


def range_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``lo, hi, lo_open, integer`` indexed by parameter code (RecordID: no limits)."""
    table = [RANGES.get(p, Range(-INF, INF)) for p in PARAMS]
    lo = np.array([r.lo for r in table])
    hi = np.array([r.hi for r in table])
    lo_open = np.array([r.lo_open for r in table])
    integer = np.array([r.integer for r in table])
    return lo, hi, lo_open, integer


def plausible(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Boolean per row: True when ``values`` is plausible for parameter ``codes``."""
    lo, hi, lo_open, integer = (a[codes] for a in range_arrays())
    ok = np.where(lo_open, values > lo, values >= lo) & (values <= hi)
    return ok & (~integer | (values == np.round(values)))


def _per_param(codes: np.ndarray, names: object) -> dict[str, int]:
    counts = np.bincount(codes.astype(np.int64), minlength=len(PARAMS))
    return {p: int(counts[CODE[p]]) for p in names}  # type: ignore[attr-defined]


class Cleaned(NamedTuple):
    """Result of :func:`clean_values`."""

    value: np.ndarray  # the values, NaN where unknown or impossible
    unknown: dict[str, int]  # -1 markers of static descriptors, per parameter
    impossible: dict[str, int]  # values outside RANGES, per parameter
    fio2_percent: int  # FiO2 values read as percent


def clean_values(code: np.ndarray, value: np.ndarray) -> Cleaned:
    """FiO2 percent -> fraction, then unknown (-1 static) and impossible values -> NaN, in place."""
    percent = (code == CODE["FiO2"]) & (value > 1) & (value <= 100)
    value[percent] /= 100.0
    unknown = (code >= CODE[STATIC_PARAMS[0]]) & (code <= CODE[STATIC_PARAMS[-1]]) & (value == UNKNOWN_MARKER)
    impossible = ~unknown & ~plausible(code, value)
    value[unknown | impossible] = np.nan
    counts = _per_param(code[unknown], STATIC_PARAMS), _per_param(code[impossible], RANGES)
    return Cleaned(value, *counts, int(percent.sum()))


def static_features(means: np.ndarray) -> np.ndarray:
    """``(n, 5)`` means of STATIC_PARAMS -> ``(n, 8)`` float32 STATIC_FEATURES (ICUType one-hot).

    The one-hot columns are NaN when ICUType is unknown (or ambiguous: not one of 1..4).
    """
    icu = means[:, 4:5]
    one_hot = np.where(np.isin(icu, (1, 2, 3, 4)), icu == np.arange(1, 5), np.nan)
    return np.concatenate([means[:, :4], one_hot], axis=1).astype(np.float32)
