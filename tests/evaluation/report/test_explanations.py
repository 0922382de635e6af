"""The report's attribution blocks from explain.json: importance per modality, shares beside weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.errors import DataError
from omnifuse.evaluation.documents import (
    ExplanationsDocument,
    FeatureAttribution,
    ModalityAttribution,
    PatientAttribution,
    write_document,
)
from omnifuse.evaluation.report import build_report
from omnifuse.trust.attributions import modality_summary


def explanations(weights: bool, modalities=("mirna", "mrna", "protein")) -> ExplanationsDocument:
    """Ten patients; the last modality absent for all of them."""
    present = modalities[:-1]
    patients = []
    for i in range(10):
        entries = {
            m: ModalityAttribution(
                total=0.1 * (i + k),
                share=0.25 if k == 0 else 0.75,
                features=[
                    FeatureAttribution(name=f"{m}_f{j}", value=float(j), attribution=0.1 * (j + 1)) for j in range(3)
                ],
            )
            for k, m in enumerate(present)
        }
        patients.append(
            PatientAttribution(
                sample_id=f"s{i}",
                method="integrated_gradients",
                target="Basal",
                output="log-probability of class Basal",
                score=-0.1,
                baseline_score=-1.0,
                modalities=entries,
                absent=[modalities[-1]],
                modality_weights={present[0]: 0.2, present[1]: 0.6, modalities[-1]: 0.0} if weights else None,
            )
        )
    w = [[0.2, 0.6, 0.0]] * 10 if weights else None
    return ExplanationsDocument(
        run="run",
        model="omnifuse",
        data="data",
        task="multiclass",
        classes=["Basal", "Her2", "LumA"],
        modalities=list(modalities),
        method="integrated_gradients",
        top_k=3,
        modality_weights="omega" if weights else None,
        n_patients=10,
        summary=modality_summary(patients, list(modalities), None if w is None else np.array(w)),
        patients=patients,
    )


def test_attribution_blocks_show_importance_and_shares_beside_weights(tmp_path):
    doc = explanations(weights=True)
    assert doc.summary["mrna"].mean_weight_normalised == pytest.approx(0.75)
    write_document(tmp_path / "explain.json", doc)
    html = build_report(tmp_path).read_text()
    assert "Feature attributions" in html and "Attribution shares and model weights" in html
    assert "mean weight (normalised)" in html and "0.750" in html
    assert "No explained patient has protein" in html
    assert html.count("data:image/png;base64,") == 2


def test_without_model_weights_only_shares_are_shown(tmp_path):
    write_document(tmp_path / "explain.json", explanations(weights=False))
    html = build_report(tmp_path).read_text()
    assert "mean weight" not in html and "no modality weights of its own" in html


def test_names_are_escaped(tmp_path):
    write_document(tmp_path / "explain.json", explanations(True, ("<script>x</script>", "mrna", "protein")))
    html = build_report(tmp_path).read_text()
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_a_malformed_explain_json_names_the_file_and_field(tmp_path):
    raw = explanations(weights=True).model_dump(mode="json")
    raw["patients"][0]["modalities"]["mrna"]["share"] = 2.0
    (tmp_path / "explain.json").write_text(json.dumps(raw))
    with pytest.raises(DataError, match=r"explain\.json.*share"):
        build_report(tmp_path)
