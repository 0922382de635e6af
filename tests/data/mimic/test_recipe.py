import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from omnifuse.data.loaders import load_dataset
from omnifuse.data.mimic import build_mimic, subject_split, write_mimic
from omnifuse.data.mimic.cxr import report_section
from omnifuse.data.mimic.variables import CATEGORIES, COLUMNS
from omnifuse.errors import ConfigError, DataError, DataWarning
from tests.data.mimic.conftest import S1, S2, S3, admissions, d_items


def col(name: str) -> int:
    return COLUMNS.index(name)


def build(mimic: dict[str, Path], **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = build_mimic(mimic["mimic_iv"], mimic["cxr"], mimic["reports"], **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def row(ds, stay: int) -> int:
    return int(np.flatnonzero(ds.sample_ids == str(stay))[0])


# ---------------------------------------------------------------------- cohort and labels
def test_cohort_labels_groups_and_skips(mimic):
    result, _ = build(mimic)
    ds, s = result.dataset, result.summary
    assert list(ds.sample_ids) == ["30000001", "30000002", "30000003"]
    assert list(ds.groups) == [str(S1), str(S2), str(S3)]
    assert ds.task == "binary" and list(ds.y) == [0, 1, 0]
    assert ds.modalities == ("cxr", "ehr", "report")
    assert s["icu_stays_read"] == 9 and s["stays_kept"] == 3
    assert s["skipped_stays"] == {
        "missing_times": 0, "icu_transfer": 1, "several_stays_in_admission": 2, "no_admission": 0, "no_patient": 0,
        "under_18": 1, "shorter_than_48h": 1, "no_ehr_in_first_48h": 1,
    }  # fmt: skip
    assert s["labels"] == {"died": 1, "survived": 2}
    assert set(ds.splits) <= {"train", "val", "test"}


def test_deathtime_within_the_admission_counts_without_the_flag(mimic):
    frame = admissions()
    frame.loc[frame["hadm_id"] == 20000003, "deathtime"] = "2150-03-05 00:00:00"
    frame.to_csv(mimic["mimic_iv"] / "hosp" / "admissions.csv", index=False)
    result, messages = build(mimic)
    assert list(result.dataset.y) == [0, 1, 1]
    assert any("deathtime within the admission but hospital_expire_flag 0" in m for m in messages)


# ---------------------------------------------------------------------- the EHR
def test_ehr_hand_computed_stay(mimic):
    result, messages = build(mimic)
    ds = result.dataset
    ehr = ds.data["ehr"]
    assert ehr.values.shape == (3, 24, 76) and ds.specs["ehr"].feature_names == COLUMNS
    np.testing.assert_array_equal(ehr.times[0], np.arange(2, 49, 2))
    x = ehr.values[row(ds, 30000001)]

    def series(name):
        return x[:, col(name)]

    np.testing.assert_array_equal(series("Heart Rate"), [100, 100] + [110] * 22)  # 80, 90, 100 in bin 0; "ERROR" at 7 h
    np.testing.assert_array_equal(series("mask->Heart Rate"), [1, 0, 1] + [0] * 21)
    np.testing.assert_allclose(series("Temperature"), [36.6] + [37.0] * 16 + [38.5] * 7, rtol=1e-5)  # 98.6 F at 3 h
    np.testing.assert_array_equal(np.flatnonzero(series("mask->Temperature")), [1, 17])
    np.testing.assert_array_equal(series("Capillary refill rate->1.0"), [0] + [1] * 23)  # abnormal at 4 h
    np.testing.assert_array_equal(series("Capillary refill rate->0.0"), [1] + [0] * 23)  # normal value before
    np.testing.assert_allclose(series("Fraction inspired oxygen"), [0.21, 0.21] + [0.5] * 22, rtol=1e-6)  # 50 % at 6 h
    np.testing.assert_array_equal(series("Glucose"), [128] + [150] * 23)  # lab at 2.5 h
    np.testing.assert_allclose(series("pH"), [7.4] * 5 + [7.31] * 19, rtol=1e-6)  # lab at 12 h; 7.20 before intime
    np.testing.assert_array_equal(series("Respiratory rate"), [19] * 23 + [22])  # charted at exactly 48 h
    np.testing.assert_array_equal(series("Systolic blood pressure"), [118] * 24)  # only before intime / after 48 h
    assert series("mask->Systolic blood pressure").sum() == 0
    np.testing.assert_array_equal(series("Glascow coma scale eye opening->Spontaneously"), [1] * 4 + [0] * 20)
    np.testing.assert_array_equal(series("Glascow coma scale eye opening->To Pain"), [0] * 4 + [1] * 20)
    np.testing.assert_array_equal(series("Glascow coma scale verbal response->Confused"), [1] * 24)
    np.testing.assert_array_equal(
        series("Glascow coma scale motor response->Obeys Commands"), [1] * 24
    )  # "Garbage" ignored
    np.testing.assert_array_equal(series("Glascow coma scale total->14"), [1] * 24)  # 4 + 4 + 6 at 1 h
    np.testing.assert_array_equal(series("mask->Glascow coma scale total"), [1] + [0] * 23)
    for name, choices in CATEGORIES.items():  # one category per step
        block = x[:, col(f"{name}->{choices[0]}") : col(f"{name}->{choices[-1]}") + 1]
        assert (block.sum(axis=1) == 1).all(), name
    events = result.summary["events"]
    assert events["unparseable_values"] == {"Heart Rate": 1}
    assert events["unknown_categories"] == {"Glascow coma scale motor response": {"Garbage": 1}}
    assert events["gcs_total_derived"] == 1 and events["unknown_itemids"] == []
    assert any("Heart Rate: 1" in m for m in messages) and any("'Garbage'" in m for m in messages)


def test_ehr_second_stay_ties_and_capillary_refill(mimic):
    result, _ = build(mimic)
    x = result.dataset.data["ehr"].values[row(result.dataset, 30000002)]
    assert x[0, col("Glucose")] == 200  # charted 220621 beats lab 50931 at the same time
    assert x[0, col("Capillary refill rate->0.0")] == 1 and x[0, col("mask->Capillary refill rate")] == 1
    assert x[0, col("Heart Rate")] == 120


def test_gcs_total_not_derived(mimic):
    result, _ = build(mimic, derive_gcs_total=False)
    x = result.dataset.data["ehr"].values[row(result.dataset, 30000001)]
    assert (x[:, col("Glascow coma scale total->15")] == 1).all()
    assert x[:, col("mask->Glascow coma scale total")].sum() == 0
    assert result.summary["settings"]["derive_gcs_total"] is False


def test_unknown_itemid_in_the_dictionary_is_reported(mimic):
    items = d_items()
    items[items["itemid"] != 223830].to_csv(mimic["mimic_iv"] / "icu" / "d_items.csv.gz", index=False)
    result, messages = build(mimic)
    assert result.summary["events"]["unknown_itemids"] == [223830]
    assert any("223830" in m and "d_items" in m for m in messages)


# ---------------------------------------------------------------------- CXR and reports
def test_cxr_and_report_matching(mimic):
    result, _ = build(mimic)
    ds = result.dataset
    paths = ds.data["cxr"].paths
    assert paths[row(ds, 30000001)].endswith("files/p10/p10000001/s50000002/d1b.jpg")  # latest AP in 48 h
    assert paths[row(ds, 30000002)].endswith("files/p10/p10000002/s50000010/d2a.jpg")  # PA beats a later LATERAL
    assert Path(paths[0]).is_absolute() and Path(paths[0]).is_file()
    assert list(ds.mask[:, ds.modalities.index("cxr")]) == [True, True, False]  # stay 3: only a CXR after 48 h
    texts = ds.data["report"]
    assert texts[0] == "Lungs are clear. No pleural effusion or pneumothorax. Heart size is normal."
    assert texts[1] == "Endotracheal tube in standard position. Bibasilar atelectasis."  # IMPRESSION fallback
    assert list(ds.mask[:, ds.modalities.index("report")]) == [True, True, False]
    s = result.summary
    assert s["cxr"]["views_chosen"] == {"AP": 1, "PA": 1} and s["cxr"]["stays_without_image_in_window"] == 1
    assert s["report"]["findings"] == 1 and s["report"]["impression_fallback"] == 1


def test_ap_only_like_medfuse(mimic):
    result, _ = build(mimic, views=("AP",))
    ds = result.dataset
    assert list(ds.mask[:, ds.modalities.index("cxr")]) == [True, False, False]
    assert list(ds.mask[:, ds.modalities.index("report")]) == [True, False, False]
    assert result.summary["cxr"]["stays_with_only_other_views"] == 1


def test_missing_image_file_is_absent_and_named(mimic):
    image = mimic["cxr"] / "files" / "p10" / "p10000001" / "s50000002" / "d1b.jpg"
    image.unlink()
    result, messages = build(mimic)
    ds = result.dataset
    assert not ds.mask[row(ds, 30000001), ds.modalities.index("cxr")]
    assert ds.mask[row(ds, 30000001), ds.modalities.index("report")]  # the study's report is still matched
    assert result.summary["cxr"]["image_files_missing"] == 1
    assert any(str(image) in m and "not found" in m for m in messages)


def test_missing_and_sectionless_reports(mimic):
    missing = mimic["reports"] / "files" / "p10" / "p10000002" / "s50000010.txt"
    missing.unlink()
    bare = mimic["reports"] / "files" / "p10" / "p10000001" / "s50000002.txt"
    bare.write_text("WET READ: clear lungs\n")
    result, messages = build(mimic)
    assert result.dataset.modalities == ("cxr", "ehr")  # no stay has a report left
    assert result.summary["report"]["files_missing"] == 1 and result.summary["report"]["no_findings_or_impression"] == 1
    assert any(str(missing) in m for m in messages) and any(str(bare) in m for m in messages)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("FINDINGS: Clear.\nIMPRESSION: Normal.", ("findings", "Clear.")),
        (" FINDINGS:\n\n  Left  base\n opacity.\n\n IMPRESSION:\n Pneumonia.\n", ("findings", "Left base opacity.")),
        ("INDICATION: cough\nIMPRESSION:  No acute process.", ("impression", "No acute process.")),
        ("FINDINGS:\n\nIMPRESSION: Stable.", ("impression", "Stable.")),  # empty FINDINGS
        ("FINDINGS AND IMPRESSION: Small effusion.", ("findings", "Small effusion.")),
        ("Portable AP view: lungs clear.", ("", "")),
        ("", ("", "")),
    ],
)
def test_report_sections(text, expected):
    assert report_section(text) == expected


# ---------------------------------------------------------------------- output
def test_written_folder_loads_with_absent_modalities(mimic, tmp_path):
    result, _ = build(mimic)
    out = write_mimic(result, tmp_path / "cohort")
    cxr = pd.read_csv(out / "cxr.csv", dtype={"sample_id": str})
    report = pd.read_csv(out / "report.csv", dtype={"sample_id": str})
    assert list(cxr.columns) == ["sample_id", "path"] and list(cxr["sample_id"]) == ["30000001", "30000002"]
    assert list(report["sample_id"]) == ["30000001", "30000002"] and report["text"].str.len().min() > 0
    ehr = pd.read_csv(out / "ehr.csv")
    assert list(ehr.columns) == ["sample_id", "time", *COLUMNS] and len(ehr) == 3 * 24
    labels = pd.read_csv(out / "labels.csv")
    assert list(labels.columns) == ["sample_id", "label", "split", "group"]
    assert (out / "mimic_summary.json").is_file()
    ds = load_dataset(out, use_cache=False)
    assert ds.modalities == ("cxr", "ehr", "report")
    assert {n: ds.specs[n].kind for n in ds.modalities} == {"cxr": "image", "ehr": "timeseries", "report": "text"}
    assert ds.mask.sum(axis=0).tolist() == [2, 3, 2]
    assert ds.data["cxr"].load(0).shape == (8, 8, 3)
    np.testing.assert_allclose(ds.data["ehr"].values, result.dataset.data["ehr"].values, rtol=1e-6)


def test_subject_split_is_stable_and_roughly_70_10_20():
    assert subject_split(10000001) == subject_split("10000001")
    counts = Counter(subject_split(s) for s in range(10_000_000, 10_006_000))
    assert abs(counts["train"] / 6000 - 0.7) < 0.03 and abs(counts["test"] / 6000 - 0.2) < 0.03


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "relative, expected",
    [
        ("icu/chartevents.csv.gz", "icu/chartevents.csv.gz: not found (nor chartevents.csv)"),
        ("hosp/patients.csv.gz", "hosp/patients.csv.gz: not found (nor patients.csv)"),
        ("hosp/admissions.csv", "hosp/admissions.csv.gz: not found (nor admissions.csv)"),
        ("icu/icustays.csv.gz", "icu/icustays.csv.gz: not found"),
        ("hosp/labevents.csv.gz", "hosp/labevents.csv.gz: not found"),
    ],
)
def test_missing_required_mimic_iv_file(mimic, relative, expected):
    (mimic["mimic_iv"] / relative).unlink()
    with pytest.raises(DataError) as err:
        build(mimic)
    message = str(err.value)
    assert expected in message and str(mimic["mimic_iv"]) in message and "\n" not in message


def test_missing_cxr_metadata(mimic):
    (mimic["cxr"] / "mimic-cxr-2.0.0-metadata.csv.gz").unlink()
    with pytest.raises(DataError, match=r"mimic-cxr-2\.0\.0-metadata\.csv\.gz: not found .*--cxr"):
        build(mimic)


def test_missing_column_and_bad_ids(mimic):
    path = mimic["mimic_iv"] / "icu" / "icustays.csv.gz"
    frame = pd.read_csv(path)
    frame.drop(columns="last_careunit").to_csv(path, index=False)
    with pytest.raises(DataError, match=r"icustays\.csv\.gz: no column 'last_careunit'"):
        build(mimic)
    frame.loc[2, "stay_id"] = None
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"icustays\.csv\.gz: row 4: 'stay_id' is empty"):
        build(mimic)


def test_corrupt_event_file(mimic):
    (mimic["mimic_iv"] / "icu" / "chartevents.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match=r"chartevents\.csv\.gz: cannot be read"):
        build(mimic)


def test_not_a_directory_and_no_views(mimic, tmp_path):
    with pytest.raises(DataError, match=r"not a directory \(--reports\)"):
        build_mimic(mimic["mimic_iv"], mimic["cxr"], tmp_path / "nope")
    with pytest.raises(ConfigError, match="at least one view"):
        build_mimic(mimic["mimic_iv"], mimic["cxr"], mimic["reports"], views=())


def test_no_stay_left(mimic):
    path = mimic["mimic_iv"] / "hosp" / "patients.csv.gz"
    pd.read_csv(path).assign(anchor_age=10).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"no ICU stay is left after the cohort rules \(.*under_18: 6\)"):
        build(mimic)


def test_gcs_components_alone_and_bad_charttime(mimic):
    path = mimic["mimic_iv"] / "icu" / "chartevents.csv.gz"
    frame = pd.read_csv(path)
    frame = frame[~frame["itemid"].isin([223900, 223901])]  # eye only: no GCS total can be derived
    bad = frame.iloc[[0]].assign(charttime="yesterday")
    pd.concat([frame, bad]).to_csv(path, index=False)
    result, messages = build(mimic)
    events = result.summary["events"]
    assert events["gcs_total_derived"] == 0 and events["chartevents_bad_charttime"] == 1
    assert any("1 chartevents row(s) without a valid charttime" in m for m in messages)
    x = result.dataset.data["ehr"].values[row(result.dataset, 30000001)]
    assert x[0, col("Glascow coma scale eye opening->Spontaneously")] == 1
    assert x[0, col("Glascow coma scale total->15")] == 1 and x[0, col("mask->Glascow coma scale total")] == 0


def test_a_modality_no_stay_has_is_left_out(mimic, tmp_path):
    result, messages = build(mimic, views=("LL",))  # no left-lateral image in the fixture
    assert result.dataset.modalities == ("ehr",)
    assert result.summary["modalities"] == {"ehr": 3, "cxr": 0, "report": 0}
    assert any("no kept stay has a cxr" in m for m in messages)
    out = write_mimic(result, tmp_path / "cohort")
    assert not (out / "cxr.csv").exists() and load_dataset(out, use_cache=False).modalities == ("ehr",)
