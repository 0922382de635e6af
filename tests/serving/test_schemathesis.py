"""Property-based tests of the API against its own OpenAPI schema (schemathesis).

Requests generated from the schema, valid ones (positive) and invalid ones (negative), must
never get a 5xx; every response must have a documented status code, content type and body
schema, and schema-invalid requests must be refused.

schemathesis' lazy pytest loader (``schemathesis.pytest.from_fixture``) does not work with
pytest 9 (it sets a private node attribute), and a module-level schema would train a model
at collection time; so the test drives each operation's hypothesis strategy itself.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from omnifuse.serving import create_app
from omnifuse.serving.app import TOKEN_ENV, ServeSettings

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
]
EXAMPLES = 50


@pytest.fixture
def api_schema(sim_bundle, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    app = create_app(sim_bundle, ServeSettings(max_body_bytes=200_000, max_batch=8))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def operations(schema):
    return {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in schema.get_all_operations())}


def test_schema_lists_the_endpoints(api_schema):
    assert set(operations(api_schema)) == {"GET /health", "GET /model", "POST /predict", "POST /predict/batch"}


@pytest.mark.parametrize(
    "endpoint, mode",
    [
        ("GET /health", GenerationMode.POSITIVE),
        ("GET /model", GenerationMode.POSITIVE),
        ("POST /predict", GenerationMode.POSITIVE),
        ("POST /predict", GenerationMode.NEGATIVE),
        ("POST /predict/batch", GenerationMode.POSITIVE),
        ("POST /predict/batch", GenerationMode.NEGATIVE),
    ],
)
def test_api_conforms_to_its_schema(api_schema, endpoint, mode):
    operation = operations(api_schema)[endpoint]
    examples = EXAMPLES if operation.method.upper() == "POST" else 3

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()
