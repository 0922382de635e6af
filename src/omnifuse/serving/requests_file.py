"""Patients from a JSON file (``omnifuse predict --input``), with the server's rules.

The file holds what ``POST /predict`` or ``POST /predict/batch`` take: one patient
``{"id": ..., "modalities": {...}}`` or ``{"patients": [{...}, ...]}``. Problems are one
:class:`omnifuse.errors.DataError` naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from omnifuse.utils.validation import validation_message
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.schema import DatasetSchema
from omnifuse.errors import DataError
from omnifuse.serving.api_models import BatchRequest, PatientRequest
from omnifuse.serving.cohort import patients_dataset
from omnifuse.serving.patient import InputError, dotted


def read_patients(path: Path, schema: DatasetSchema) -> tuple[MultimodalDataset, list[str | None]]:
    """The dataset of the patients in ``path`` and their ids (None where the file gives none).

    Raises:
        DataError: an unreadable file, invalid JSON, or a patient that does not fit ``schema``
            (the file and the field are named).
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    batch = isinstance(raw, dict) and "patients" in raw
    try:
        patients = BatchRequest.model_validate(raw).patients if batch else [PatientRequest.model_validate(raw)]
    except ValidationError as exc:
        hint = "" if batch or isinstance(raw, dict) else ' (expected {"modalities": {...}} or {"patients": [...]})'
        raise DataError(validation_message(exc, str(path), count_more=True, locate=dotted) + hint) from None
    locs = [("patients", i, "modalities") for i in range(len(patients))] if batch else [("modalities",)]
    try:
        dataset = patients_dataset([p.modalities for p in patients], schema, locs=locs)
    except InputError as exc:
        raise InputError(exc.problems, source=str(path)) from None
    return dataset, [p.id for p in patients]
