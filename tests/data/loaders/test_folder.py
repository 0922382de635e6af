from pathlib import Path

import numpy as np
import pytest

from omnifuse.data.loaders import load_dataset, write_folder
from omnifuse.data.loaders.folder import load_folder
from omnifuse.errors import ConfigError, DataError, DataWarning
from tests.conftest import shared_dataset


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


BASIC = {
    "labels.csv": "sample_id,label,split,group\na,yes,train,p1\nb,no,train,p1\nc,no,test,p2\nd,yes,test,p3\n",
    "clin.csv": "sample_id,age,bmi\na,50,20.5\nb,61,\nc,,\nd,70,31\n",
    "genes.csv": "sample_id,g1,g2\na,1,2\nc,5,6\nd,3,4\n",
}


def test_basic_folder_and_absence(tmp_path):
    ds = load_folder(write(tmp_path / "c", BASIC))
    assert ds.modalities == ("clin", "genes")
    assert ds.class_names == ("no", "yes") and ds.y.tolist() == [1, 0, 0, 1]
    # c's clin row is all empty -> absent; b is missing from genes.csv -> absent
    assert ds.mask.tolist() == [[True, True], [True, False], [False, True], [True, True]]
    assert np.isnan(ds.data["clin"][1, 1]) and ds.data["clin"][1, 0] == 61
    assert ds.splits.tolist() == ["train", "train", "test", "test"]
    assert ds.groups.tolist() == ["p1", "p1", "p2", "p3"]
    assert ds.specs["clin"].feature_names == ("age", "bmi")


def test_sample_with_no_data_is_dropped_with_warning(tmp_path):
    files = dict(BASIC)
    files["labels.csv"] += "e,no,test,p4\n"
    with pytest.warns(DataWarning, match="labels.csv: 1 labelled sample.*no data.*e"):
        ds = load_folder(write(tmp_path / "c", files), use_cache=False)
    assert ds.sample_ids.tolist() == ["a", "b", "c", "d"]


def test_unknown_ids_in_modality_file_warn_and_drop(tmp_path):
    files = dict(BASIC, **{"genes.csv": "sample_id,g1,g2\na,1,2\nc,1,1\nzz,3,4\n"})
    with pytest.warns(DataWarning, match="genes.csv: 1 sample id.*not in labels.csv.*zz"):
        ds = load_folder(write(tmp_path / "c", files), use_cache=False)
    assert ds.availability("genes").tolist() == [True, False, True, False]


def test_warnings_repeat_when_loaded_from_cache(tmp_path):
    files = dict(BASIC, **{"genes.csv": "sample_id,g1,g2\na,1,2\nc,1,1\nzz,3,4\n"})
    folder = write(tmp_path / "c", files)
    with pytest.warns(DataWarning):
        load_folder(folder)
    with pytest.warns(DataWarning, match="zz"):
        load_folder(folder)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"clin.csv": "sample_id,age\na,50\na,51\n"}, r"clin.csv: duplicate sample id 'a' \(rows 2, 3\)"),
        ({"clin.csv": "sample_id,age\na,50\nb,old\n"}, r"clin.csv: row 3, column 'age': non-numeric value 'old'"),
        ({"clin.csv": "sample_id,age\na,50\nb,inf\n"}, r"clin.csv: row 3, column 'age': infinite value"),
        ({"clin.csv": "sample_id,age\n"}, r"clin.csv: the file has a header but no rows"),
        ({"clin.csv": ""}, r"clin.csv: the file is empty"),
        ({"clin.csv": "id,age\na,1\n"}, r"clin.csv: the first column must be 'sample_id', found 'id'"),
        ({"labels.csv": "sample_id,label\na,x\nb,x\n"}, r"labels.csv: the label column has a single class 'x'"),
        ({"labels.csv": "sample_id,label\na,x\na,y\n"}, r"labels.csv: duplicate sample id 'a'"),
        ({"labels.csv": "sample_id,label\na,x\nb,\n"}, r"labels.csv: row 3 \(sample 'b'\) has no label"),
        ({"labels.csv": "sample_id,y1,y2\na,x,1\nb,z,2\n"}, r"labels.csv: cannot tell the label column"),
        (
            {"modalities.yaml": "modalities:\n  clin: {kind: movie}\n"},
            r"modalities.yaml: field 'modalities.clin.kind'.*unknown kind 'movie'",
        ),
        ({"modalities.yaml": "modalities:\n  ghost: {kind: omics}\n"}, r"declares modality 'ghost'"),
        ({"modalities.yaml": "label: [unclosed\n"}, r"modalities.yaml: not valid YAML"),
        ({"clin.csv": "sample_id,age,bmi\na,50,20\nb,51\n"}, r"clin.csv: line 3 has 2 field\(s\), the header has 3$"),
        ({"clin.csv": "sample_id,age\na,50\nb,51,7\n"}, r"clin.csv: line 3 has 3 field\(s\), the header has 2$"),
        ({"clin.csv": "sample_id,age\na,50,1\nb,51\n"}, r"clin.csv: line 2 has 3 field\(s\), the header has 2$"),
        (
            {"clin.csv": "sample_id,age\r\n\r\na,50\r\n  \r\nb\r\n"},
            r"clin.csv: line 5 has 1 field\(s\), the header has 2$",
        ),
        ({"clin.csv": 'sample_id,age\na,"5,0"\nb,"x\ny",2\n'}, r"clin.csv: line 3 has 3 field\(s\), the header has 2$"),
        ({"labels.csv": "sample_id,label\na,x\nb,y,3\n"}, r"labels.csv: line 3 has 3 field\(s\), the header has 2$"),
    ],
)
def test_bad_input_names_file_row_and_column(tmp_path, change, message):
    folder = write(tmp_path / "c", {**BASIC, **change})
    with pytest.raises(DataError, match=message):
        load_folder(folder, use_cache=False)


def test_ragged_row_in_a_real_matrix_refuses_and_writes_nothing(tmp_path, isolated_cache):
    folder = tmp_path / "tcga"
    folder.mkdir()
    for path in shared_dataset("breast_tcga").glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    n_lines = len((folder / "mrna.csv").read_text().splitlines())
    with open(folder / "mrna.csv", "a") as handle:
        handle.write("ZZZZ,1,2,3\n")
    with pytest.raises(DataError, match=rf"mrna.csv: line {n_lines + 1} has 4 field\(s\), the header has 201$"):
        load_dataset(folder)
    assert not any(isolated_cache.rglob("meta.json"))


def test_csv_field_check_leaves_parquet_and_clean_csv_alone(tmp_path, tiny):
    pq = load_dataset(write_folder(tiny, tmp_path / "pq", fmt="parquet"), use_cache=False)
    csv = load_dataset(write_folder(tiny, tmp_path / "csv"), use_cache=False)
    np.testing.assert_allclose(pq.data["clin"], csv.data["clin"], equal_nan=True)
    folder = write(tmp_path / "blank", {**BASIC, "clin.csv": "sample_id,age,bmi\n\na,50,20.5\n\nd,70,\n\n"})
    with pytest.warns(DataWarning, match="no data in any modality"):  # b has neither clin nor genes
        assert load_folder(folder, use_cache=False).availability("clin").sum() == 2


def test_label_column_from_yaml_and_kinds(tmp_path):
    files = {
        "labels.csv": "sample_id,outcome,other\na,1,x\nb,0,y\nc,1,z\n",
        "genes.csv": "sample_id,g1\na,1\nb,2\nc,3\n",
        "modalities.yaml": "label: outcome\nmodalities:\n  genes: {kind: omics}\n",
    }
    ds = load_folder(write(tmp_path / "c", files), use_cache=False)
    assert ds.task == "binary" and ds.class_names == ("0", "1")
    assert ds.specs["genes"].kind == "omics"


def test_long_format_time_series(tmp_path):
    files = {
        "labels.csv": "sample_id,label\na,0\nb,1\nc,1\n",
        "vitals.csv": "sample_id,time,HR,Temp\na,2.0,80,\na,0.5,70,36.6\nb,1,90,37\na,3,,\n",
        "clin.csv": "sample_id,age\na,1\nb,2\nc,3\n",
    }
    ds = load_folder(write(tmp_path / "c", files), use_cache=False)
    vit = ds.data["vitals"]
    assert ds.specs["vitals"].kind == "timeseries" and ds.specs["vitals"].channels == ("HR", "Temp")
    assert vit.lengths.tolist() == [2, 1, 0]  # a's all-empty row at t=3 is not a step
    assert vit.times[0].tolist() == [0.5, 2.0]
    assert vit.values[0, :, 0].tolist() == [70, 80] and np.isnan(vit.values[0, 1, 1])
    assert ds.availability("vitals").tolist() == [True, True, False]


def test_round_trip_through_writer(tmp_path, tiny):
    out = write_folder(tiny, tmp_path / "out")
    back = load_dataset(out)
    assert back.modalities == tiny.modalities
    np.testing.assert_array_equal(back.mask, tiny.mask)
    np.testing.assert_array_equal(back.groups, tiny.groups)
    np.testing.assert_allclose(back.data["clin"], tiny.data["clin"], equal_nan=True)
    np.testing.assert_allclose(back.data["vitals"].values, tiny.data["vitals"].values, equal_nan=True)
    assert back.specs["omics"].kind == "omics"


def test_writer_refuses_to_clobber_and_leaves_nothing_on_failure(tmp_path, tiny):
    out = write(tmp_path / "out", {"keep.txt": "mine"})
    with pytest.raises(ConfigError, match="not empty"):
        write_folder(tiny, out)
    assert (out / "keep.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match="unknown format 'xls'"):
        write_folder(tiny, tmp_path / "new", fmt="xls")
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_parquet_round_trip(tmp_path, tiny):
    back = load_dataset(write_folder(tiny, tmp_path / "pq", fmt="parquet"))
    np.testing.assert_allclose(back.data["omics"], tiny.data["omics"], equal_nan=True)


def test_read_only_data_folder_is_fine(tmp_path):
    folder = write(tmp_path / "ro", BASIC)
    for p in [*folder.iterdir(), folder]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        ds = load_dataset(folder)
        assert len(ds) == 4 and sorted(p.name for p in folder.iterdir()) == sorted(BASIC)
    finally:
        folder.chmod(0o755)


def test_breast_tcga_loads_as_is():
    ds = load_dataset(shared_dataset("breast_tcga"))
    s = ds.summary()
    assert s["n_samples"] == 220
    assert s["modalities"]["protein"]["n_present"] == 150
    test = ds.split_indices("test")
    assert len(test) == 70 and not ds.availability("protein")[test].any()
    assert ds.class_names == ("Basal", "Her2", "LumA") and s["labels"] == {"Basal": 66, "Her2": 44, "LumA": 110}
    assert ds.specs["mrna"].n_features == 200 and ds.specs["mirna"].n_features == 184


def test_write_folder_leaves_out_a_modality_no_sample_has(tiny, tmp_path):
    import warnings as _warnings

    from omnifuse.data.loaders import load_dataset, write_folder
    from omnifuse.errors import DataWarning as _DataWarning

    j = tiny.modality_index("omics")
    mask = tiny.mask.copy()
    mask[:, j] = False
    keep = mask.any(axis=1)
    empty = tiny.replace(mask=mask).subset(keep.nonzero()[0])
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        write_folder(empty, tmp_path / "out")
    assert any(issubclass(w.category, _DataWarning) and "'omics'" in str(w.message) for w in caught)
    back = load_dataset(tmp_path / "out", use_cache=False)
    assert back.modalities == tuple(m for m in tiny.modalities if m != "omics")
