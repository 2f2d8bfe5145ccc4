"""openapi.yaml is a valid OpenAPI 3.1 document, and live responses match its schemas."""
import json
import os
import urllib.request

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_schema_validator import OAS31Validator

from conftest import call

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = yaml.safe_load(open(os.path.join(ROOT, "openapi.yaml")))


def schema_validator(name):
    # The components travel with the root schema so that "#/components/..." refs resolve.
    return OAS31Validator({"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]})


def test_spec_is_valid_openapi():
    validate(SPEC)


@pytest.mark.parametrize("method,path,body,status,schema", [
    ("GET", "/v1/health/live", None, 200, "Health"),
    ("GET", "/v1/health/ready", None, 200, "Health"),
    ("GET", "/v1/models", None, 200, "ModelList"),
    ("GET", "/v1/models/nope", None, 404, "ErrorResponse"),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}, 200,
     "ChatCompletion"),
    ("POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 4}, 200, "TextCompletion"),
    ("POST", "/v1/completions", {"prompt": "Hi", "temperature": 5}, 400, "ErrorResponse"),
    ("GET", "/v1/metadata", None, 200, "Metadata"),
    ("POST", "/detokenize", {"tokens": [-5]}, 400, "ErrorResponse"),
])
def test_live_responses_match_the_spec(server, method, path, body, status, schema):
    got, payload = call(server, method, path, body)
    assert got == status
    documented = SPEC["paths"][path if "nope" not in path else "/v1/models/{id}"][method.lower()]["responses"]
    assert str(status) in documented
    schema_validator(schema).validate(payload)


def test_tokenize_and_detokenize_round_trip(server):
    status, got = call(server, "POST", "/tokenize", {"prompt": "Hello, llamas!"})
    assert status == 200 and got["count"] == len(got["tokens"]) > 0
    status, text = call(server, "POST", "/detokenize", {"tokens": got["tokens"]})
    assert status == 200 and text["prompt"] == "Hello, llamas!"
    status, chat = call(server, "POST", "/tokenize", {"messages": [{"role": "user", "content": "Hi"}]})
    assert status == 200 and chat["count"] > got["count"] - 3


def test_unknown_path_is_a_json_404_with_a_request_id(server):
    req = urllib.request.Request(server.url + "/v1/nothing-here", headers={"X-Request-Id": "trace-42"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404
        assert e.headers["X-Request-Id"] == "trace-42"
        schema_validator("ErrorResponse").validate(json.load(e))
