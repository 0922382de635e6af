"""Listing what to embed: image folders, tables of image paths, tables of texts."""

from __future__ import annotations

import pandas as pd
import pytest

from omnifuse.errors import DataError
from omnifuse.media.sources import image_items, text_items
from tests.media.conftest import gradient, write_dicom, write_images


def test_folder_ids_are_file_stems_and_other_files_are_ignored(tmp_path):
    files = write_images(tmp_path / "img")
    (tmp_path / "img" / "notes.txt").write_text("not an image")
    (tmp_path / "img" / ".hidden.png").write_bytes(b"")
    write_dicom(tmp_path / "img" / "nosuffix", gradient(4, 4))
    items = image_items(tmp_path / "img")
    assert sorted(i.sample_id for i in items) == sorted([*files, "nosuffix"])
    assert all(i.name == i.source for i in items)


def test_two_images_for_one_sample_in_a_folder(tmp_path):
    write_images(tmp_path / "img")
    (tmp_path / "img" / "grey.dcm").write_bytes((tmp_path / "img" / "mono1.dcm").read_bytes())
    with pytest.raises(DataError, match="two images for sample 'grey'"):
        image_items(tmp_path / "img")


def test_empty_folder(tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(DataError, match="no image files"):
        image_items(tmp_path / "e")


def test_table_of_paths_relative_to_the_table(tmp_path):
    write_images(tmp_path / "img")
    table = tmp_path / "cxr.csv"
    table.write_text("sample_id,path\np1,img/grey.png\np2,img/mono1.dcm\np3,\n")
    items = image_items(table)
    assert [i.sample_id for i in items] == ["p1", "p2", "p3"]
    assert items[0].source == str(tmp_path / "img" / "grey.png")
    assert items[2].source == "" and "row 4 (sample 'p3')" in items[2].name


def test_table_with_other_column_names(tmp_path):
    pd.DataFrame({"pid": ["a"], "file": ["x.png"]}).to_parquet(tmp_path / "t.parquet")
    items = image_items(tmp_path / "t.parquet", path_column="file", id_column="pid")
    assert items[0].sample_id == "a" and items[0].source == str(tmp_path / "x.png")
    with pytest.raises(DataError, match="no column 'path'"):
        image_items(tmp_path / "t.parquet", id_column="pid")


def test_texts_keep_empty_cells_as_empty_items(tmp_path):
    table = tmp_path / "reports.csv"
    table.write_text('sample_id,findings\na,"Clear lungs, no effusion."\nb,\nc,"  "\n')
    items = text_items(table, "findings")
    assert [i.source for i in items] == ["Clear lungs, no effusion.", "", "  "]
    assert items[1].name == f"{table} row 3 (sample 'b')"


def test_texts_from_parquet_with_nulls(tmp_path):
    pd.DataFrame({"sample_id": ["a", "b"], "text": ["x", None]}).to_parquet(tmp_path / "r.parquet")
    assert [i.source for i in text_items(tmp_path / "r.parquet", "text")] == ["x", ""]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sample_id,text\na,x\na,y\n", "duplicate sample_id 'a' \\(row 2, row 3\\)"),
        ("sample_id,text\n,x\n", "row 2 has an empty sample_id"),
        ("sample_id,other\na,x\n", "no column 'text' \\(columns: sample_id, other\\)"),
        ("sample_id,text\n", "no rows"),
        ("", "empty"),
    ],
)
def test_table_problems(tmp_path, content, message):
    table = tmp_path / "r.csv"
    table.write_text(content)
    with pytest.raises(DataError, match=message):
        text_items(table, "text")


def test_missing_inputs(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        text_items(tmp_path / "nope.csv", "text")
    with pytest.raises(DataError, match="no such file"):
        image_items(tmp_path / "nope")
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(DataError, match="expected a .csv or .parquet"):
        text_items(tmp_path / "r.json", "text")
