"""Write the GSE7390 breast cancer cohort (scikit-survival's copy) as a survival folder dataset.

198 node-negative breast cancer patients (TRANSBIG validation series, Desmedt et al., Clin.
Cancer Res. 2007) with the expression of the 76 genes of a prognostic signature and four
clinical variables; the endpoint is the time to distant metastasis (``t.tdm``, days) with its
event indicator (``e.tdm``). The data ship with scikit-survival (``load_breast_cancer``), so
nothing is downloaded and nothing is committed here.

Output (the generic folder format, ``task: survival`` in days)::

    OUT_DIR/labels.csv       sample_id,time,event
    OUT_DIR/genes.csv        76 probe sets (kind omics; the R-style "X" prefix removed)
    OUT_DIR/clinical.csv     age, size, one-hot er and grade (kind tabular)
    OUT_DIR/modalities.yaml

The categorical clinical columns are one-hot encoded with every level kept; the two patients
whose grade is recorded as unknown ("unkown" in the source) have no grade value (empty
cells), not a grade of their own. The source has no patient ids: patients are numbered
``p001``... in source order.

    python benchmarks/gse7390.py OUT_DIR [--format csv|parquet] [--overwrite]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from omnifuse.data import Labels, ModalitySpec, MultimodalDataset
from omnifuse.data.loaders import write_folder

#: Values of a categorical clinical column that mean "not recorded".
UNKNOWN = {"unkown", "unknown"}
CATEGORICAL = ("er", "grade")


def gse7390() -> MultimodalDataset:
    """The cohort as a dataset with ``genes`` (omics) and ``clinical`` (tabular) modalities."""
    from sksurv.datasets import load_breast_cancer

    x, y = load_breast_cancer()
    genes = [c for c in x.columns if c not in ("age", "size", *CATEGORICAL)]
    clinical = _clinical(x)
    n = len(x)
    gene_values = x[genes].to_numpy(dtype=np.float32)
    clinical_values = clinical.to_numpy(dtype=np.float32)
    return MultimodalDataset(
        specs=[
            ModalitySpec("genes", "omics", tuple(_probe(g) for g in genes), (len(genes),)),
            ModalitySpec("clinical", "tabular", tuple(clinical.columns), (clinical.shape[1],)),
        ],
        data={"genes": gene_values, "clinical": clinical_values},
        mask=np.ones((n, 2), dtype=bool),
        labels=Labels.survival(y["t.tdm"], y["e.tdm"], "days"),
        sample_ids=[f"p{i + 1:03d}" for i in range(n)],
        info={"source": "GSE7390 (scikit-survival load_breast_cancer)"},
    )


def _clinical(x: pd.DataFrame) -> pd.DataFrame:
    out = x[["age", "size"]].astype(float).copy()
    for column in CATEGORICAL:
        values = x[column].astype(str).str.strip()
        known = ~values.str.lower().isin(UNKNOWN)
        levels = sorted(values[known].unique())
        for level in levels:
            indicator = (values == level).astype(float).where(known)  # unknown: no value at all
            out[f"{column}_{re.sub(r'[^0-9A-Za-z]+', '_', level)}"] = indicator
    return out


def _probe(name: str) -> str:
    """``X200726_at`` (R's make.names) back to the Affymetrix id ``200726_at``."""
    return name[1:] if re.match(r"^X\d", name) else name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="Output folder.")
    parser.add_argument("--format", default="csv", choices=("csv", "parquet"))
    parser.add_argument("--overwrite", action="store_true", help="Replace a non-empty output folder.")
    args = parser.parse_args(argv)
    ds = gse7390()
    write_folder(ds, args.out, fmt=args.format, overwrite=args.overwrite)
    counts = ds.labels.counts()
    print(
        f"wrote {len(ds)} patients ({counts['events']} distant metastases, {counts['censored']} censored), "
        f"modalities {', '.join(f'{m} ({ds.specs[m].n_features})' for m in ds.modalities)} to {args.out}"
    )


if __name__ == "__main__":
    main()
