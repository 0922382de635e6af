"""PhysioNet/CinC 2012 loader: tiny fixture sets written here, plus the real data when present."""

from __future__ import annotations

import io
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.loaders.physionet import is_physionet_dir, load_physionet2012
from omnifuse.data.loaders.physionet_ranges import LABS, STATIC_FEATURES, VITALS
from omnifuse.errors import DataError, DataWarning

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "physionet2012"
NAN = np.nan


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("OMNIFUSE_CACHE", str(cache))
    return cache


# ---------------------------------------------------------------------- fixtures
def stay(rid: int, static: tuple[float, float, float, int, float], rows: list[str] = ()) -> str:
    """A stay file: header, RecordID, the static descriptors at 00:00, then ``rows``."""
    age, gender, height, icu, weight = static
    lines = ["Time,Parameter,Value", f"00:00,RecordID,{rid}", f"00:00,Age,{age}", f"00:00,Gender,{gender}",
             f"00:00,Height,{height}", f"00:00,ICUType,{icu}", f"00:00,Weight,{weight}", *rows]  # fmt: skip
    return "\n".join(lines) + "\n"


SET_A = {
    132001: stay(
        132001,
        (54, 0, -1, 4, 80),
        [
            "00:07,GCS,15",
            "00:07,HR,73",  # line 9
            "00:07,HR,77",  # same minute: mean 75
            "00:07,Temp,35.1",
            "00:37,HR,0",  # impossible: unobserved, so no step at 00:37
            "01:30,pH,7.35",
            "01:30,pH,735",  # impossible (7.35 without its point)
            "02:00,Weight,79.5",  # time-varying weight: a vital sign
            "03:15,FiO2,50",  # percent -> 0.5
        ],
    ),  # fmt: skip
    132002: stay(132002, (70, 1, 170.2, 2, -1), ["00:10,HR,90", "00:10,MechVent,1"]),  # no labs
    132003: stay(132003, (-1, -1, -1, -1, -1), ["01:00,Glucose,120", "25:45,Glucose,-5"]),  # labs only
}
SET_B = {140001: stay(140001, (60, 1, 180, 1, 95), ["00:00,HR,80", "04:00,Temp,50", "48:00,Lactate,2.5"])}
OUTCOMES = {"a": [(132001, 0), (132002, 1), (132003, 0)], "b": [(140001, 1)]}


def write_outcomes(root: Path, letter: str, rows: list[tuple[int, int]]) -> Path:
    text = "RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death\n"
    text += "".join(f"{rid},10,2,5,-1,{death}\n" for rid, death in rows)
    path = root / f"Outcomes-{letter}.txt"
    path.write_text(text)
    return path


def write_folder(root: Path, letter: str, stays: dict[int | str, str]) -> Path:
    folder = root / f"set-{letter}"
    folder.mkdir(parents=True)
    for rid, text in stays.items():
        (folder / f"{rid}.txt").write_text(text)
    return folder


def write_archive(root: Path, letter: str, stays: dict[int | str, str]) -> Path:
    path = root / f"set-{letter}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        folder = tarfile.TarInfo(f"set-{letter}")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for rid, text in stays.items():
            data = text.encode()
            info = tarfile.TarInfo(f"set-{letter}/{rid}.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def make_dir(root: Path, archive: bool = False, a: dict | None = None, b: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write = write_archive if archive else write_folder
    write(root, "a", SET_A if a is None else a)
    write(root, "b", SET_B if b is None else b)
    for letter, rows in OUTCOMES.items():
        write_outcomes(root, letter, rows)
    return root


def load_quiet(path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the clean fixtures must load without any warning
        return load_physionet2012(path, **kwargs)


def assert_same(d1, d2) -> None:
    assert d1.modalities == d2.modalities and d1.specs == d2.specs
    for attr in ("sample_ids", "groups", "splits", "mask"):
        np.testing.assert_array_equal(getattr(d1, attr), getattr(d2, attr))
    np.testing.assert_array_equal(d1.y, d2.y)
    assert d1.class_names == d2.class_names
    for name in d1.modalities:
        a, b = d1.data[name], d2.data[name]
        if isinstance(a, IrregularSeries):
            np.testing.assert_array_equal(a.values, b.values)
            np.testing.assert_array_equal(a.times, b.times)
            np.testing.assert_array_equal(a.lengths, b.lengths)
        else:
            np.testing.assert_array_equal(a, b)
    assert d1.info == d2.info


# ---------------------------------------------------------------------- parsing
@pytest.mark.parametrize("archive", [False, True], ids=["folders", "archives"])
def test_parsed_values(tmp_path: Path, archive: bool) -> None:
    ds = load_quiet(make_dir(tmp_path / "pn", archive=archive))
    assert list(ds.sample_ids) == ["132001", "132002", "132003", "140001"]
    assert list(ds.groups) == list(ds.sample_ids)
    assert list(ds.splits) == ["a", "a", "a", "b"]
    assert ds.task == "binary" and ds.class_names == ("survived", "died")
    assert list(ds.y) == [0, 1, 0, 1]
    assert ds.modalities == ("labs", "static", "vitals")
    assert ds.specs["vitals"].channels == VITALS and ds.specs["labs"].channels == LABS
    assert ds.specs["vitals"].kind == "timeseries" and ds.specs["vitals"].time_unit == "hours"
    assert ds.specs["static"].feature_names == STATIC_FEATURES

    static = ds.data["static"]
    assert static.dtype == np.float32
    np.testing.assert_array_equal(static[0], [54, 0, NAN, 80, 0, 0, 0, 1])  # Height -1 -> NaN
    np.testing.assert_allclose(static[1], [70, 1, 170.2, NAN, 0, 1, 0, 0], rtol=1e-6)
    assert np.isnan(static[2]).all()
    np.testing.assert_array_equal(static[3], [60, 1, 180, 95, 1, 0, 0, 0])
    np.testing.assert_array_equal(ds.availability("static"), [True, True, False, True])

    vitals, ch = ds.data["vitals"], {c: i for i, c in enumerate(VITALS)}
    assert vitals.values.dtype == np.float32 and vitals.times.dtype == np.float32
    assert vitals.values.shape == (4, 3, len(VITALS))  # padded to the longest stay (3 steps)
    np.testing.assert_array_equal(vitals.lengths, [3, 1, 0, 1])
    np.testing.assert_allclose(vitals.times[0], [7 / 60, 2.0, 3.25])  # 00:37 had only HR 0
    first = vitals.values[0, 0]
    assert first[ch["HR"]] == 75 and first[ch["GCS"]] == 15
    assert first[ch["Temp"]] == pytest.approx(35.1)
    assert np.isnan(first[ch["Weight"]])  # the 00:00 weight is static only
    assert vitals.values[0, 1, ch["Weight"]] == 79.5
    assert vitals.values[0, 2, ch["FiO2"]] == pytest.approx(0.5)
    assert np.isnan(vitals.values[0, 1:, ch["HR"]]).all()
    assert int((~np.isnan(vitals.values[0])).sum()) == 5
    np.testing.assert_allclose(vitals.times[1], [10 / 60, NAN, NAN])
    assert vitals.values[1, 0, ch["MechVent"]] == 1
    assert np.isnan(vitals.values[2]).all() and np.isnan(vitals.times[2]).all()
    assert vitals.times[3, 0] == 0 and vitals.values[3, 0, ch["HR"]] == 80  # Temp 50 dropped
    np.testing.assert_array_equal(ds.availability("vitals"), [True, True, False, True])

    labs, lab = ds.data["labs"], {c: i for i, c in enumerate(LABS)}
    np.testing.assert_array_equal(labs.lengths, [1, 0, 1, 1])
    assert labs.times[0, 0] == 1.5 and labs.values[0, 0, lab["pH"]] == pytest.approx(7.35)
    assert labs.values[2, 0, lab["Glucose"]] == 120 and labs.times[2, 0] == 1.0  # -5 impossible
    assert labs.times[3, 0] == 48.0 and labs.values[3, 0, lab["Lactate"]] == 2.5
    np.testing.assert_array_equal(ds.availability("labs"), [True, False, True, True])

    info = ds.info
    assert info["source"] == "physionet2012"
    flagged = {k: v for k, v in info["impossible_values"].items() if v}
    assert flagged == {"HR": 1, "pH": 1, "Glucose": 1, "Temp": 1}
    assert info["unknown_values"] == {"Age": 1, "Gender": 1, "Height": 2, "Weight": 2, "ICUType": 1}
    assert info["unknown_parameters"] == {} and info["warnings"] == []
    assert info["skipped_lines"] == {"total": 0, "kinds": {}, "first": [], "first_error": None}
    assert info["fio2_percent_converted"] == 1 and info["duplicates_averaged"] == 1


def test_folder_wins_over_archive_and_several_letters(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "pn")
    (root / "set-a.tar.gz").write_bytes(b"not an archive")  # ignored: set-a/ exists
    write_archive(root, "c", {150001: stay(150001, (40, 0, 160, 3, 60), ["01:00,HR,70"])})
    write_outcomes(root, "c", [(150001, 1)])
    ds = load_quiet(root)
    assert list(ds.splits) == ["a", "a", "a", "b", "c"] and ds.sample_ids[-1] == "150001"
    assert ds.info["sets"] == {"a": "set-a", "b": "set-b", "c": "set-c.tar.gz"}


def test_is_physionet_dir(tmp_path: Path) -> None:
    assert is_physionet_dir(make_dir(tmp_path / "pn"))
    assert is_physionet_dir(make_dir(tmp_path / "tgz", archive=True))
    only_sets = tmp_path / "no-outcomes"
    write_folder(only_sets, "a", SET_A)
    assert not is_physionet_dir(only_sets)
    (tmp_path / "other").mkdir()
    write_outcomes(tmp_path / "other", "a", OUTCOMES["a"])
    assert not is_physionet_dir(tmp_path / "other")
    assert not is_physionet_dir(tmp_path / "missing")


def test_blank_lines_and_crlf_keep_line_numbers(tmp_path: Path) -> None:
    text = SET_A[132001].replace("\n", "\r\n").replace("00:07,HR,73", "\r\n00:07,HR,7x")
    root = make_dir(tmp_path / "pn", a={**SET_A, 132001: text})
    with pytest.raises(DataError, match=r"132001\.txt: line 10: parameter 'HR': non-numeric value '7x'"):
        load_physionet2012(root, strict=True)
    with pytest.warns(DataWarning, match=r"first at set-a/132001\.txt:10 "):
        load_physionet2012(root)
    ok = SET_A[132001] + "\n\n"
    ds = load_quiet(make_dir(tmp_path / "ok", a={**SET_A, 132001: ok}))
    assert ds.data["vitals"].lengths[0] == 3


# ---------------------------------------------------------------------- bad input
def _raises(root: Path, pattern: str, **kwargs) -> str:
    with pytest.raises(DataError, match=pattern) as err:
        load_physionet2012(root, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_archive(tmp_path: Path, damage: str) -> None:
    root = make_dir(tmp_path / "pn", archive=True)
    path = root / "set-b.tar.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x1f\x8b" + b"\0garbage" * 50)
    _raises(root, r"set-b\.tar\.gz: truncated or corrupt archive")


def test_no_record_id_row(tmp_path: Path) -> None:
    text = SET_B[140001].replace("00:00,RecordID,140001\n", "")
    root = make_dir(tmp_path / "pn", archive=True, b={140001: text})
    _raises(root, r"set-b\.tar\.gz:set-b/140001\.txt: no RecordID row")


def test_record_id_disagrees_with_file_name(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "pn", a={**SET_A, 132002: SET_A[132002].replace("RecordID,132002", "RecordID,132009")})
    _raises(root, r"set-a/132002\.txt: line 2: RecordID 132009 disagrees with the file name \(132002\.txt\)")


@pytest.mark.parametrize(
    ("row", "kind", "pattern"),
    [
        ("01:00,HR,abc", "non-numeric value", r"line 8: parameter 'HR': non-numeric value 'abc'"),
        ("01:00,HR,", "non-numeric value", r"line 8: parameter 'HR': non-numeric value ''"),
        ("1h00,HR,80", "unparsable time", r"line 8: bad time '1h00'"),
        ("01:75,HR,80", "unparsable time", r"line 8: bad time '01:75'"),
        ("01:00,HR,80,1", "wrong field count", r"line 8: expected 3 fields"),
        ('01:00,HR,"80', "non-numeric value", r"line 8: parameter 'HR': non-numeric value '\"80'"),
        ("01:00,HR,nan", "non-numeric value", r"line 8: parameter 'HR': non-numeric value 'nan'"),
        ("01:00,HR,1e999", "non-numeric value", r"line 8: parameter 'HR': non-numeric value '1e999'"),
        ("01:00,,80", "empty name", r"line 8: bad parameter name ''"),
        ("01:00,Foo,80", "unknown name", r"line 8: unknown parameter 'Foo'"),
    ],
)
def test_malformed_rows(tmp_path: Path, row: str, kind: str, pattern: str) -> None:
    text = stay(140001, (60, 1, 180, 1, 95), [row, "02:00,HR,81"])
    root = make_dir(tmp_path / "pn", archive=True, b={140001: text})
    _raises(root, r"set-b\.tar\.gz:set-b/140001\.txt: " + pattern, strict=True)
    with pytest.warns(DataWarning, match=r"1 unusable line\(s\) skipped") as record:
        ds = load_physionet2012(root)  # tolerant (the default): skipped, counted, reported once
    assert len(record) == 1 and "set-b.tar.gz:set-b/140001.txt:8" in str(record[0].message)
    assert ds.info["skipped_lines"]["kinds"] == {kind: 1}
    assert ds.info["skipped_lines"]["first"] == ["set-b.tar.gz:set-b/140001.txt:8"]
    vitals = ds.data["vitals"]
    assert vitals.lengths[-1] == 1 and vitals.times[-1, 0] == 2.0  # only the 02:00 row is left
    _raises(root, r"set-b\.tar\.gz:set-b/140001\.txt: " + pattern, strict=True)  # the cached load too


def test_unusable_lines_are_counted_and_reported_once(tmp_path: Path) -> None:
    rows = ["06:32,,2.7", "01:00,HR,80", "01:00,Foo,3", "hello world", "7h,HR,3", "02:00,HR,x", "03:00,HR,81"]
    rows_a = ["00:30,,1", *(f"01:{m:02d},Bar,1" for m in range(6))]
    root = make_dir(
        tmp_path / "pn",
        a={**SET_A, 132002: stay(132002, (70, 1, 170.2, 2, -1), rows_a)},
        b={140001: stay(140001, (60, 1, 180, 1, 95), rows)},
    )
    with pytest.warns(DataWarning) as record:
        ds = load_physionet2012(root)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    skipped = ds.info["skipped_lines"]
    assert skipped["total"] == 12
    assert skipped["kinds"] == {
        "empty name": 2,
        "unknown name": 7,
        "unparsable time": 1,
        "non-numeric value": 1,
        "wrong field count": 1,
    }
    assert skipped["first"] == [f"set-a/132002.txt:{n}" for n in range(8, 13)]
    assert skipped["first_error"].endswith("set-a/132002.txt: line 8: bad parameter name ''")
    assert ds.info["unknown_parameters"] == {"Foo": 1, "Bar": 6}
    text = messages[0]
    for part in (
        "12 unusable line(s)",
        "2 empty name",
        "7 unknown name",
        "1 unparsable time",
        "1 non-numeric value",
        "1 wrong field count",
        "'Bar' 6, 'Foo' 1",
        "set-a/132002.txt:8, ",
    ):
        assert part in text
    assert list(ds.data["vitals"].lengths) == [3, 0, 0, 2]  # 140001 keeps 01:00 and 03:00
    with pytest.warns(DataWarning) as again:  # from the cache: the same single summary
        load_physionet2012(root)
    assert [str(w.message) for w in again] == messages
    _raises(root, r"set-a/132002\.txt: line 8: bad parameter name ''$", strict=True)
    _raises(root, r"set-a/132002\.txt: line 8: bad parameter name ''$", strict=True, use_cache=False)


def test_a_file_that_is_not_a_stay_still_refuses(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "g", b={140001: "Time,Parameter,Value\nhello\n,,\n"})
    _raises(root, r"set-b/140001\.txt: no RecordID row")
    root = make_dir(tmp_path / "h", b={140001: "06:32,,2.7\n00:00,RecordID,140001\n"})
    _raises(root, r"set-b/140001\.txt: line 1: expected the header")


def test_bad_header_and_file_name(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "h", b={140001: SET_B[140001].replace("Time,Parameter,Value", "t;p;v")})
    _raises(root, r"set-b/140001\.txt: line 1: expected the header")
    root = make_dir(tmp_path / "n", b={**SET_B, "notes": "hello\n"})
    _raises(root, r"set-b/notes\.txt: a stay file must be named <RecordID>\.txt")
    root = make_dir(tmp_path / "e", b={140001: ""})
    _raises(root, r"set-b/140001\.txt: empty file")
    root = make_dir(tmp_path / "o", a={132001: "Time,Parameter,Value\n"}, b={140001: "Time,Parameter,Value\n"})
    _raises(root, r"set-a/132001\.txt: no RecordID row")


def test_missing_outcomes_file(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "pn")
    (root / "Outcomes-b.txt").unlink()
    _raises(root, r"set 'b' \(set-b\) has no Outcomes-b\.txt")


def test_bad_outcomes(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "pn")
    write_outcomes(root, "a", [(132001, 0), (132002, 2), (132003, 0)])
    _raises(root, r"Outcomes-a\.txt: line 3: In-hospital_death '2' is not 0 or 1")
    (root / "Outcomes-a.txt").write_text("RecordID,Survival\n132001,-1\n")
    _raises(root, r"Outcomes-a\.txt: no column 'In-hospital_death'")


def test_duplicate_record_id_across_sets(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "pn", b={**SET_B, 132001: SET_A[132001]})
    _raises(root, r"set-b/132001\.txt: RecordID 132001 also in .*set-a/132001\.txt")


def test_no_sets(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    write_outcomes(root, "a", OUTCOMES["a"])
    _raises(root, r"empty: no PhysioNet 2012 set")
    _raises(tmp_path / "absent", r"absent: not a directory")
    (tmp_path / "hollow" / "set-a").mkdir(parents=True)
    write_outcomes(tmp_path / "hollow", "a", [])
    _raises(tmp_path / "hollow", r"hollow/set-a: no stay files")


def test_ids_missing_on_either_side_warn_and_drop(tmp_path: Path) -> None:
    root = make_dir(tmp_path / "pn")
    write_outcomes(root, "a", [(132001, 0), (132002, 1), (139999, 1)])
    with pytest.warns(DataWarning) as record:
        ds = load_physionet2012(root)
    messages = [str(w.message) for w in record]
    assert any("set-a: 1 stay(s) have no row in Outcomes-a.txt and are dropped: 132003" in m for m in messages)
    orphan = "Outcomes-a.txt: 1 RecordID(s) have no stay file in set-a and are dropped: 139999"
    assert any(orphan in m for m in messages)
    assert list(ds.sample_ids) == ["132001", "132002", "140001"]
    assert ds.info["dropped_stays"] == 1
    with pytest.warns(DataWarning) as record:  # a warm load repeats the warnings
        again = load_physionet2012(root)
    assert [str(w.message) for w in record] == messages
    assert all(w.filename == __file__ for w in record)  # attributed to the caller
    assert_same(ds, again)


def test_unknown_parameters_warn_and_are_ignored(tmp_path: Path) -> None:
    text = stay(140001, (60, 1, 180, 1, 95), ["01:00,HR,80", "01:00,Foo,3", "02:00,Foo,4", "02:00,hr,1"])
    root = make_dir(tmp_path / "pn", b={140001: text})
    with pytest.warns(DataWarning) as record:
        ds = load_physionet2012(root)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1 and "3 unusable line(s) skipped" in messages[0]
    assert "unknown parameters 'Foo' 2, 'hr' 1" in messages[0]
    assert "first at set-b/140001.txt:9, set-b/140001.txt:10, set-b/140001.txt:11 (" in messages[0]
    assert ds.info["unknown_parameters"] == {"Foo": 2, "hr": 1}
    assert ds.data["vitals"].lengths[-1] == 1  # the 02:00 rows were all unknown
    _raises(root, r"set-b/140001\.txt: line 9: unknown parameter 'Foo'$", strict=True)


# ---------------------------------------------------------------------- caching
def test_cache_second_load_equals_first(tmp_path: Path, _private_cache: Path) -> None:
    root = make_dir(tmp_path / "pn", archive=True)
    first = load_quiet(root, progress=True)
    assert list(_private_cache.glob("physionet2012/*/meta.json"))
    second = load_quiet(root)
    assert_same(first, second)
    assert_same(first, load_quiet(root, use_cache=False))
    write_outcomes(root, "b", [(140001, 0)])  # new content, new key
    assert load_quiet(root).y[-1] == 0
    assert len(list(_private_cache.glob("physionet2012/*/meta.json"))) == 2


# ---------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    if not REAL_DATA.is_dir():
        pytest.skip(f"PhysioNet 2012 data not found at {REAL_DATA}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMNIFUSE_CACHE", str(tmp_path_factory.mktemp("real-cache")))
        first = load_quiet(REAL_DATA)
        second = load_quiet(REAL_DATA)
    return first, second


def test_real_data_counts(real) -> None:
    ds, _ = real
    assert is_physionet_dir(REAL_DATA)
    assert len(ds) == 8000 and ds.modalities == ("labs", "static", "vitals")
    assert ds.split_names() == ("a", "b")
    assert len(ds.split_indices("a")) == 4000 and len(ds.split_indices("b")) == 4000
    assert int(ds.y.sum()) == 1122
    assert int(ds.y[ds.split_indices("a")].sum()) == 554
    assert ds.mask[:, ds.modality_index("static")].all()
    for name in ("vitals", "labs"):
        series = ds.data[name]
        present = ds.availability(name)
        assert present.mean() > 0.95
        assert np.nanmax(series.times) <= 48.0 + 1e-6 and np.nanmin(series.times) >= 0
        assert (series.lengths[present] > 0).all() and (series.lengths[~present] == 0).all()
    assert sum(ds.info["impossible_values"].values()) > 0
    assert ds.info["warnings"] == [] and ds.info["unknown_parameters"] == {}


def test_real_data_cache_roundtrip(real) -> None:
    first, second = real
    assert_same(first, second)
