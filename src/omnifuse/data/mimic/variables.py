"""The 17 clinical variables of MedFuse / the MIMIC-III benchmark, mapped to MIMIC-IV itemids.

Variables, categories, "normal values" and the 76-column layout are those of the benchmark's
discretiser (Harutyunyan et al. 2019, ``mimic3models/resources/discretizer_config.json``),
which MedFuse (Hayat et al. 2022) reuses unchanged and Wu et al. 2025 (section 4.2.1) cites.

Itemids: the benchmark maps MIMIC-III itemids (CareVue and MetaVision) to its variables; MIMIC-IV
ICU data is MetaVision only, so the MetaVision itemids (22xxxx) carry over, and the lab itemids
(5xxxx) are the same in MIMIC-IV ``hosp/labevents``. Where the benchmark's "ready" list is not
certain for MIMIC-IV, the comment on the item says so. Cross-checked against the MIMIC-IV
concept dictionary of ricu (``miiv`` sources) and the labels of ``icu/d_items``.

Known differences from MedFuse on MIMIC-IV (documented in the recipe's summary as well):

* GCS total has no MIMIC-IV itemid (CareVue's 198 does not exist in MIMIC-IV). With
  ``derive_gcs_total`` (the default) it is the sum of eye + verbal + motor charted at the same
  time (verbal "No Response-ETT" counts 1); without it, it is never observed and always takes
  the normal value "15", as in MedFuse's MIMIC-IV extraction.
* Capillary refill: MIMIC-IV charts "Normal <3 Seconds" / "Abnormal >3 Seconds"; the
  benchmark's cleaner only knew "Normal <3 secs" / "Brisk" and "Abnormal >3 secs" / "Delayed".
  All six strings are read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Variable names, in the benchmark's channel order (``id_to_channel``).
VARIABLES: tuple[str, ...] = (
    "Capillary refill rate",
    "Diastolic blood pressure",
    "Fraction inspired oxygen",
    "Glascow coma scale eye opening",  # sic: the benchmark's spelling, kept for comparable headers
    "Glascow coma scale motor response",
    "Glascow coma scale total",
    "Glascow coma scale verbal response",
    "Glucose",
    "Heart Rate",
    "Height",
    "Mean blood pressure",
    "Oxygen saturation",
    "Respiratory rate",
    "Systolic blood pressure",
    "Temperature",
    "Weight",
    "pH",
)
VAR_INDEX: dict[str, int] = {name: k for k, name in enumerate(VARIABLES)}

CRR, GCS_EYE, GCS_MOTOR, GCS_TOTAL, GCS_VERBAL = (
    VAR_INDEX["Capillary refill rate"],
    VAR_INDEX["Glascow coma scale eye opening"],
    VAR_INDEX["Glascow coma scale motor response"],
    VAR_INDEX["Glascow coma scale total"],
    VAR_INDEX["Glascow coma scale verbal response"],
)

#: One-hot categories of the five categorical variables, in the benchmark's order (which fixes
#: the column order). The list keeps both the CareVue ("4 Spontaneously") and the MetaVision
#: ("Spontaneously") spellings; MIMIC-IV values use the MetaVision ones.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Capillary refill rate": ("0.0", "1.0"),
    "Glascow coma scale eye opening": (
        "To Pain", "3 To speech", "1 No Response", "4 Spontaneously", "None", "To Speech", "Spontaneously", "2 To pain",
    ),
    "Glascow coma scale motor response": (
        "1 No Response", "3 Abnorm flexion", "Abnormal extension", "No response", "4 Flex-withdraws",
        "Localizes Pain", "Flex-withdraws", "Obeys Commands", "Abnormal Flexion", "6 Obeys Commands",
        "5 Localizes Pain", "2 Abnorm extensn",
    ),
    "Glascow coma scale total": ("11", "10", "13", "12", "15", "14", "3", "5", "4", "7", "6", "9", "8"),
    "Glascow coma scale verbal response": (
        "1 No Response", "No Response", "Confused", "Inappropriate Words", "Oriented", "No Response-ETT",
        "5 Oriented", "Incomprehensible sounds", "1.0 ET/Trach", "4 Confused", "2 Incomp sounds", "3 Inapprop words",
    ),
}  # fmt: skip

#: The benchmark's "normal values": what a variable never observed in a stay is imputed with.
#: (A quirk kept on purpose: the categorical normals use the CareVue spellings, so an imputed
#: "4 Spontaneously" and an observed MIMIC-IV "Spontaneously" land in different columns; the
#: mask columns tell them apart anyway.)
NORMAL_VALUES: dict[str, str] = {
    "Capillary refill rate": "0.0",
    "Diastolic blood pressure": "59.0",
    "Fraction inspired oxygen": "0.21",
    "Glascow coma scale eye opening": "4 Spontaneously",
    "Glascow coma scale motor response": "6 Obeys Commands",
    "Glascow coma scale total": "15",
    "Glascow coma scale verbal response": "5 Oriented",
    "Glucose": "128.0",
    "Heart Rate": "86",
    "Height": "170.0",
    "Mean blood pressure": "77.0",
    "Oxygen saturation": "98.0",
    "Respiratory rate": "19",
    "Systolic blood pressure": "118.0",
    "Temperature": "36.6",
    "Weight": "81.0",
    "pH": "7.4",
}

#: Capillary refill strings -> benchmark category ("0.0" normal, "1.0" abnormal).
CAPILLARY_REFILL: dict[str, str] = {
    "normal <3 seconds": "0.0", "normal <3 secs": "0.0", "brisk": "0.0",
    "abnormal >3 seconds": "1.0", "abnormal >3 secs": "1.0", "delayed": "1.0",
}  # fmt: skip

#: GCS component scores, used only to derive GCS total (MIMIC-IV has no total itemid).
GCS_SCORES: dict[int, dict[str, int]] = {
    GCS_EYE: {"spontaneously": 4, "to speech": 3, "to pain": 2, "none": 1,
              "4 spontaneously": 4, "3 to speech": 3, "2 to pain": 2, "1 no response": 1},
    GCS_VERBAL: {"oriented": 5, "confused": 4, "inappropriate words": 3, "incomprehensible sounds": 2,
                 "no response": 1, "no response-ett": 1, "5 oriented": 5, "4 confused": 4,
                 "3 inapprop words": 3, "2 incomp sounds": 2, "1 no response": 1, "1.0 et/trach": 1},
    GCS_MOTOR: {"obeys commands": 6, "localizes pain": 5, "flex-withdraws": 4, "abnormal flexion": 3,
                "abnormal extension": 2, "no response": 1, "6 obeys commands": 6, "5 localizes pain": 5,
                "4 flex-withdraws": 4, "3 abnorm flexion": 3, "2 abnorm extensn": 2, "1 no response": 1},
}  # fmt: skip


@dataclass(frozen=True)
class Item:
    """One MIMIC-IV itemid feeding a variable."""

    itemid: int
    variable: str
    table: str  # "chartevents" (icu/) or "labevents" (hosp/)
    label: str  # the MIMIC-IV d_items / d_labitems label, for reference
    convert: Optional[str] = None  # "f_to_c", "lb_to_kg", "in_to_cm"


ITEMS: tuple[Item, ...] = (
    # Capillary refill rate (categorical). Right and left sides.
    Item(223951, "Capillary refill rate", "chartevents", "Capillary Refill R"),
    Item(224308, "Capillary refill rate", "chartevents", "Capillary Refill L"),
    # Diastolic BP: non-invasive and arterial line. (225310 "ART BP Diastolic", a second arterial
    # line, is not in the benchmark's ready list as far as we know; left out.)
    Item(220180, "Diastolic blood pressure", "chartevents", "Non Invasive Blood Pressure diastolic"),
    Item(220051, "Diastolic blood pressure", "chartevents", "Arterial Blood Pressure diastolic"),
    # FiO2, charted in percent (sometimes as a fraction): > 1 is divided by 100 as the benchmark does.
    # The blood-gas lab 50816 "Oxygen" is not used (not in the benchmark's list).
    Item(223835, "Fraction inspired oxygen", "chartevents", "Inspired O2 Fraction"),
    # GCS components (categorical; text in `value`).
    Item(220739, "Glascow coma scale eye opening", "chartevents", "GCS - Eye Opening"),
    Item(223901, "Glascow coma scale motor response", "chartevents", "GCS - Motor Response"),
    Item(223900, "Glascow coma scale verbal response", "chartevents", "GCS - Verbal Response"),
    # Glucose: charted serum, finger stick and whole blood; labs: chemistry and blood gas.
    Item(220621, "Glucose", "chartevents", "Glucose (serum)"),
    Item(225664, "Glucose", "chartevents", "Glucose finger stick (range 70-100)"),
    Item(226537, "Glucose", "chartevents", "Glucose (whole blood)"),
    Item(50931, "Glucose", "labevents", "Glucose (Blood, Chemistry)"),
    Item(50809, "Glucose", "labevents", "Glucose (Blood, Blood Gas)"),
    Item(220045, "Heart Rate", "chartevents", "Heart Rate"),
    # Height: 226730 in cm; 226707 in inches (converted, rounded to whole cm as the benchmark does).
    Item(226730, "Height", "chartevents", "Height (cm)"),
    Item(226707, "Height", "chartevents", "Height", "in_to_cm"),
    # Mean BP: non-invasive, arterial line, second arterial line (225312 is in ricu's MIMIC-IV map;
    # its presence in the benchmark's ready list is our best recollection).
    Item(220181, "Mean blood pressure", "chartevents", "Non Invasive Blood Pressure mean"),
    Item(220052, "Mean blood pressure", "chartevents", "Arterial Blood Pressure mean"),
    Item(225312, "Mean blood pressure", "chartevents", "ART BP Mean"),
    # Oxygen saturation: pulse oximetry, arterial (charted) and the blood-gas lab, as in the
    # benchmark's "Oxygen saturation" (values <= 1 are scaled to percent).
    Item(220277, "Oxygen saturation", "chartevents", "O2 saturation pulseoxymetry"),
    Item(220227, "Oxygen saturation", "chartevents", "Arterial O2 Saturation"),
    Item(50817, "Oxygen saturation", "labevents", "Oxygen Saturation (Blood, Blood Gas)"),
    # Respiratory rate: charted and total. (Set/spontaneous rates 224688/224689 are left out.)
    Item(220210, "Respiratory rate", "chartevents", "Respiratory Rate"),
    Item(224690, "Respiratory rate", "chartevents", "Respiratory Rate (Total)"),
    Item(220179, "Systolic blood pressure", "chartevents", "Non Invasive Blood Pressure systolic"),
    Item(220050, "Systolic blood pressure", "chartevents", "Arterial Blood Pressure systolic"),
    # Temperature: Fahrenheit converted to Celsius; as in the benchmark, any value >= 79 is
    # taken as Fahrenheit too (a Fahrenheit number typed into the Celsius field).
    Item(223761, "Temperature", "chartevents", "Temperature Fahrenheit", "f_to_c"),
    Item(223762, "Temperature", "chartevents", "Temperature Celsius"),
    # Weight: admission weight (kg), daily weight (kg), admission weight in lbs (converted).
    Item(226512, "Weight", "chartevents", "Admission Weight (Kg)"),
    Item(224639, "Weight", "chartevents", "Daily Weight"),
    Item(226531, "Weight", "chartevents", "Admission Weight (lbs.)", "lb_to_kg"),
    # pH: blood-gas lab and charted arterial pH. (Venous 220274 and urine/dipstick pH are left
    # out: not comparable with arterial pH; the benchmark's list may have included 220274.)
    Item(50820, "pH", "labevents", "pH (Blood, Blood Gas)"),
    Item(223830, "pH", "chartevents", "PH (Arterial)"),
)

CHART_ITEMS: dict[int, Item] = {i.itemid: i for i in ITEMS if i.table == "chartevents"}
LAB_ITEMS: dict[int, Item] = {i.itemid: i for i in ITEMS if i.table == "labevents"}


def is_categorical(variable: str) -> bool:
    return variable in CATEGORIES


def value_columns() -> list[str]:
    """The 59 value columns: one per continuous variable, one per category of a categorical one."""
    columns: list[str] = []
    for name in VARIABLES:
        if is_categorical(name):
            columns += [f"{name}->{c}" for c in CATEGORIES[name]]
        else:
            columns.append(name)
    return columns


def mask_columns() -> list[str]:
    """The 17 mask columns: 1 where the variable was observed in that 2-hour bin."""
    return [f"mask->{name}" for name in VARIABLES]


#: The 76 channels of the ``ehr`` modality, in order (the benchmark discretiser's header).
COLUMNS: tuple[str, ...] = (*value_columns(), *mask_columns())
