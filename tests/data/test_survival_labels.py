"""Survival labels in the data layer: the container, the folder format, storage, splits, summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import pytest

from omnifuse.data import Labels, ModalitySpec, MultimodalDataset
from omnifuse.data.labels import SURVIVAL_DTYPE, labels_from_values, survival_from_values
from omnifuse.data.loaders import load_dataset, write_folder
from omnifuse.data.loaders.folder import load_folder
from omnifuse.data.splits import holdout_indices, kfold_indices
from omnifuse.data.storage import load_dataset_npz, save_dataset
from omnifuse.errors import DataError


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


SURV = {
    "labels.csv": "sample_id,time,event,group\na,10,1,p1\nb,20.5,0,p1\nc,3,1,p2\nd,7,0,p3\ne,12,1,p4\nf,40,0,p5\n",
    "clin.csv": "sample_id,age,bmi\na,50,20\nb,61,\nc,,\nd,70,31\ne,44,25\nf,39,22\n",
    "genes.csv": "sample_id,g1,g2\na,1,2\nc,5,6\nd,3,4\nf,1,1\n",
    "modalities.yaml": "task: survival\ntime_unit: days\nmodalities:\n  genes: {kind: omics}\n",
}


def surv_cohort(time, event, groups=None) -> MultimodalDataset:
    n = len(time)
    return MultimodalDataset(
        [ModalitySpec("x", "tabular", ("f",), (1,))],
        {"x": np.zeros((n, 1), np.float32)},
        np.ones((n, 1), bool),
        Labels.survival(time, event, "months"),
        [f"s{i}" for i in range(n)],
        groups=groups,
    )


# ---------------------------------------------------------------------- the container
def test_survival_labels_container():
    lab = Labels.survival([5.0, 1.5, 3.0, 8.0], [1, 0, True, 0], "days")
    assert lab.task == "survival" and lab.is_survival and len(lab) == 4
    assert lab.y.dtype == SURVIVAL_DTYPE and lab.class_names == () and lab.n_classes == 0
    assert lab.time.dtype == np.float64 and lab.time.tolist() == [5.0, 1.5, 3.0, 8.0]
    assert lab.event.dtype == bool and lab.event.tolist() == [True, False, True, False]
    assert lab.counts() == {"events": 2, "censored": 2}
    assert lab.stratification_key().tolist() == [1, 0, 1, 0]
    sub = lab.take(np.array([3, 0]))
    assert sub.time.tolist() == [8.0, 5.0] and sub.event.tolist() == [False, True] and sub.time_unit == "days"
    assert sub.counts() == {"events": 1, "censored": 1}  # a subset may have any number of events
    assert lab.take(np.array([1, 3])).counts() == {"events": 0, "censored": 2}
    back = Labels.from_dict(lab.to_dict(), lab.y)
    assert back.to_dict() == {"task": "survival", "class_names": [], "time_unit": "days"}
    np.testing.assert_array_equal(back.y, lab.y)


def test_survival_labels_accept_a_sksurv_style_array():
    y = np.array([(True, 2.0), (False, 4.0)], dtype=[("e.tdm", "?"), ("t.tdm", "<f8")])
    raw = np.empty(2, dtype=[("time", "<f8"), ("event", "i8")])  # other field order and dtypes
    raw["time"], raw["event"] = y["t.tdm"], y["e.tdm"]
    lab = Labels("survival", raw, (), "days")
    assert lab.y.dtype == SURVIVAL_DTYPE and lab.event.tolist() == [True, False]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Labels.survival([1.0, -1.0], [1, 0], "days"), r"time of sample 1 is -1.0"),
        (lambda: Labels.survival([1.0, np.nan], [1, 0], "days"), r"time of sample 1 is nan"),
        (lambda: Labels.survival([1.0, 2.0], [1, 2], "days"), r"event of sample 1 is 2"),
        (lambda: Labels.survival([1.0], [1, 0], "days"), r"1 survival times for 2 events"),
        (lambda: Labels.survival([1.0], [1], ""), r"need a time unit"),
        (lambda: Labels("survival", np.zeros(2, np.int64), ()), r"one \(event, time\) record per sample"),
        (lambda: Labels("survival", Labels.survival([1.0], [1], "d").y, ("a",), "d"), r"no classes"),
        (lambda: Labels("binary", np.array([0, 1]), ("0", "1"), "days"), r"time unit only applies to survival"),
    ],
)
def test_survival_labels_refuse_bad_targets(build, message):
    with pytest.raises(DataError, match=message):
        build()


def test_classification_labels_have_no_survival_fields():
    lab = labels_from_values(["0", "1", "1"])
    assert lab.to_dict() == {"task": "binary", "class_names": ["0", "1"]}
    assert lab.time_unit is None and not lab.is_survival
    with pytest.raises(DataError, match="a binary task has no survival times"):
        lab.time


def test_survival_from_values_parses_and_names_rows():
    lab = survival_from_values(["1", 2.5, "3e1"], ["1", "false", 1.0], "weeks")
    assert lab.time.tolist() == [1.0, 2.5, 30.0] and lab.event.tolist() == [True, False, True]
    with pytest.raises(DataError, match=r"^src: row 2, column 'time': negative time -2$"):
        survival_from_values(["1", "-2"], ["1", "0"], "days", source="src")
    with pytest.raises(DataError, match=r"^src: no observed event in column 'event' \(all 2 samples are censored\)"):
        survival_from_values(["1", "2"], ["0", "0"], "days", source="src")


# ---------------------------------------------------------------------- folder format
def test_folder_survival_cohort_loads(tmp_path):
    ds = load_folder(write(tmp_path / "c", SURV), use_cache=False)
    assert ds.task == "survival" and ds.class_names == () and ds.labels.time_unit == "days"
    assert ds.labels.time.tolist() == [10, 20.5, 3, 7, 12, 40]
    assert ds.labels.event.tolist() == [True, False, True, False, True, False]
    assert ds.modalities == ("clin", "genes") and ds.specs["genes"].kind == "omics"
    assert ds.availability("clin").tolist() == [True, True, False, True, True, True]
    assert ds.groups.tolist() == ["p1", "p1", "p2", "p3", "p4", "p5"]


def test_folder_survival_with_declared_columns_and_extra_columns(tmp_path):
    files = {
        "labels.csv": "sample_id,t_dm,e_dm,site\na,10,1,x\nb,20,0,y\nc,5,true,x\n",
        "clin.csv": "sample_id,age\na,50\nb,61\nc,44\n",
        "modalities.yaml": "task: survival\ntime_unit: months\ntime: t_dm\nevent: e_dm\n",
    }
    ds = load_folder(write(tmp_path / "c", files), use_cache=False)
    assert ds.labels.time.tolist() == [10, 20, 5] and ds.labels.event.tolist() == [True, False, True]
    assert ds.labels.time_unit == "months" and len(ds) == 3


@pytest.mark.parametrize(
    "labels, yaml, message",
    [
        (
            "sample_id,time,event\na,10,1\nb,-3,0\n",
            None,
            r"labels.csv: row 3 \(sample 'b'\), column 'time': negative time -3$",
        ),
        (
            "sample_id,time,event\na,10,1\nb,,0\n",
            None,
            r"labels.csv: row 3 \(sample 'b'\) has no time in column 'time'$",
        ),
        (
            "sample_id,time,event\na,10,1\nb,soon,0\n",
            None,
            r"labels.csv: row 3 \(sample 'b'\), column 'time': time 'soon' is not a number$",
        ),
        (
            "sample_id,time,event\na,10,1\nb,4,\n",
            None,
            r"labels.csv: row 3 \(sample 'b'\) has no event in column 'event'$",
        ),
        (
            "sample_id,time,event\na,10,1\nb,4,2\n",
            None,
            r"labels.csv: row 3 \(sample 'b'\), column 'event': event '2' must be 1 \(observed\) or 0 \(censored\)$",
        ),
        ("sample_id,time,event\na,10,1\nb,4,yes\n", None, r"row 3 \(sample 'b'\), column 'event': event 'yes' must be"),
        (
            "sample_id,time,event\na,10,0\nb,4,0\n",
            None,
            r"labels.csv: no observed event in column 'event' \(all 2 samples are censored\)",
        ),
        (
            "sample_id,time,status\na,10,1\nb,4,0\n",
            None,
            r"labels.csv: no column 'event' \(the survival event\); name the column holding it with 'event:'",
        ),
        (
            "sample_id,time,event\na,10,1\nb,4,0\n",
            "task: survival\n",
            r"modalities.yaml: field 'time_unit'.*needs the unit of the times",
        ),
        (
            "sample_id,time,event\na,10,1\nb,4,0\n",
            "time_unit: days\n",
            r"modalities.yaml: field 'time_unit'.*only applies to 'task: survival'",
        ),
        (
            "sample_id,time,event\na,10,1\nb,4,0\n",
            "task: survival\ntime_unit: days\nlabel: event\n",
            r"field 'task'.*not a 'label' column",
        ),
        ("sample_id,time,event\na,10,1\nb,4,0\n", "task: cox\n", r"field 'task'.*unknown task 'cox' \(valid: survival"),
        (
            "sample_id,time,event\na,10,1\nb,4,0\n",
            "",
            r"cannot tell the label column among \['time', 'event'\].*declare 'task: survival'",
        ),
    ],
)
def test_folder_survival_errors_name_file_and_row(tmp_path, labels, yaml, message):
    files = {"labels.csv": labels, "clin.csv": "sample_id,age\na,50\nb,61\n"}
    files["modalities.yaml"] = "task: survival\ntime_unit: days\n" if yaml is None else yaml
    with pytest.raises(DataError, match=message):
        load_folder(write(tmp_path / "c", files), use_cache=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_folder_survival_round_trips_through_the_writer(tmp_path, fmt):
    ds = load_folder(write(tmp_path / "c", SURV), use_cache=False)
    out = write_folder(ds, tmp_path / "out", fmt=fmt)
    assert "task: survival" in (out / "modalities.yaml").read_text()
    assert (out / "labels.csv").read_text().splitlines()[0] == "sample_id,time,event,group"
    back = load_dataset(out, use_cache=False)
    np.testing.assert_array_equal(back.labels.y, ds.labels.y)
    assert back.labels.time_unit == "days" and back.groups.tolist() == ds.groups.tolist()
    np.testing.assert_array_equal(back.mask, ds.mask)


def test_survival_survives_the_cache_and_storage(tmp_path, isolated_cache):
    folder = write(tmp_path / "c", SURV)
    first = load_folder(folder)
    again = load_folder(folder)  # from the cache
    assert any(isolated_cache.rglob("meta.json"))
    np.testing.assert_array_equal(again.labels.y, first.labels.y)
    assert again.task == "survival" and again.labels.time_unit == "days"
    save_dataset(first, tmp_path)
    stored = load_dataset_npz(tmp_path)
    np.testing.assert_array_equal(stored.labels.y, first.labels.y)
    assert stored.labels.to_dict() == first.labels.to_dict()


# ---------------------------------------------------------------------- splits
def test_splits_stratify_by_event_and_keep_patients_together():
    rng = np.random.default_rng(0)
    n = 200
    groups = [f"p{i // 2}" for i in range(n)]  # two samples per patient
    event = np.repeat(rng.random(n // 2) < 0.3, 2)
    ds = surv_cohort(rng.exponential(10, n), event, groups)
    folds = kfold_indices(ds, n_splits=5, seed=1)
    overall = event.mean()
    for train, test in folds:
        assert not set(ds.groups[train]) & set(ds.groups[test])
        assert abs(event[test].mean() - overall) < 0.06
    assert sorted(np.concatenate([t for _, t in folds]).tolist()) == list(range(n))
    kept, held = holdout_indices(ds, np.arange(n), 0.25, seed=2)
    assert not set(ds.groups[kept]) & set(ds.groups[held])
    assert abs(event[held].mean() - overall) < 0.06


# ---------------------------------------------------------------------- summary
def test_summary_reports_events_follow_up_and_kaplan_meier():
    # KM by hand: times 1..6; events at 1, 3, 4; censored at 2, 5, 6
    ds = surv_cohort([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 0])
    summary = ds.summary()
    assert summary["task"] == "survival" and summary["labels"] == {"events": 3, "censored": 3}
    surv = summary["survival"]
    assert surv["time_unit"] == "months" and surv["n_events"] == 3 and surv["censored_share"] == 0.5
    # S: 5/6 after t=1, *3/4 after t=3 -> 0.625, *2/3 after t=4 -> 0.4167: median survival 4
    assert surv["median_survival"] == 4.0
    # reverse KM (censoring as the event): 4/5 after t=2, *1/2 after t=5 -> 0.4: median follow-up 5
    assert surv["median_follow_up"] == 5.0
    km = {entry["quantile"]: entry for entry in surv["kaplan_meier"]}
    assert km[0.25]["time"] == 2.25 and km[0.25]["survival"] == round(5 / 6, 4)
    assert km[0.5]["time"] == 3.5 and km[0.5]["survival"] == 0.625
    assert km[0.75]["time"] == 4.75 and km[0.75]["survival"] == round(0.625 * 2 / 3, 4)


def test_summary_median_not_reached():
    surv = surv_cohort([1, 2, 3, 4], [1, 0, 0, 0]).summary()["survival"]
    assert surv["median_survival"] is None and surv["censored_share"] == 0.75


def test_batches_carry_time_and_event_columns():
    from omnifuse.data.collate import make_batch

    y = make_batch(surv_cohort([1.0, 2.5], [1, 0]), [1, 0])["y"]
    assert y.dtype == torch.float32
    assert y.tolist() == [[2.5, 0.0], [1.0, 1.0]]
