"""benchmarks/gse7390.py writes scikit-survival's GSE7390 cohort as a loadable survival folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from omnifuse.data.loaders import load_dataset

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gse7390.py"


def test_gse7390_script_writes_a_survival_folder(tmp_path):
    out = tmp_path / "gse7390"
    done = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, check=True)
    assert "wrote 198 patients (51 distant metastases, 147 censored)" in done.stdout
    ds = load_dataset(out, use_cache=False)
    assert len(ds) == 198 and ds.task == "survival" and ds.labels.time_unit == "days"
    assert ds.labels.counts() == {"events": 51, "censored": 147}
    assert ds.modalities == ("clinical", "genes") and ds.mask.all()
    assert ds.specs["genes"].kind == "omics" and ds.specs["genes"].n_features == 76
    assert ds.specs["genes"].feature_names[0] == "200726_at"
    clinical = ds.specs["clinical"]
    assert clinical.kind == "tabular" and clinical.feature_names == (
        "age",
        "size",
        "er_negative",
        "er_positive",
        "grade_intermediate",
        "grade_poorly_differentiated",
        "grade_well_differentiated",
    )
    values = ds.data["clinical"]
    np.testing.assert_array_equal(values[:, 2] + values[:, 3], 1.0)  # one-hot er
    grade = values[:, 4:]
    unknown = np.isnan(grade).all(axis=1)
    assert unknown.sum() == 2 and np.all(np.nansum(grade[~unknown], axis=1) == 1.0)
    from sksurv.datasets import load_breast_cancer

    _, y = load_breast_cancer()
    np.testing.assert_array_equal(ds.labels.time, y["t.tdm"])
    np.testing.assert_array_equal(ds.labels.event, y["e.tdm"])
