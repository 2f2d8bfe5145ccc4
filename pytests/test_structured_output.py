"""Structured output through the official `openai` SDK on SmolLM2: every output parses and
validates against its schema (with the `jsonschema` library), streamed and not, at n=2, and
under a KV squeeze that preempts; the other constraint kinds; and each bad input is a 400
naming its field."""
import concurrent.futures
import datetime
import json
import re
import urllib.request
from typing import Literal, Optional

import jsonschema
import pytest
from openai import BadRequestError, OpenAI
from pydantic import BaseModel, Field

from conftest import Server

BOUNDED = {"type": "string", "maxLength": 16}

SCHEMAS = {
    "nested objects and arrays": {
        "type": "object",
        "properties": {
            "name": BOUNDED,
            "address": {"type": "object", "properties": {"city": BOUNDED, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                        "required": ["city", "zip"], "additionalProperties": False},
            "tags": {"type": "array", "items": BOUNDED, "minItems": 1, "maxItems": 3},
        },
        "required": ["name", "address", "tags"], "additionalProperties": False,
    },
    "enum, const and required": {
        "type": "object",
        "properties": {"colour": {"enum": ["red", "green", "blue"]}, "kind": {"const": "paint"},
                       "note": BOUNDED},
        "required": ["colour", "kind"], "additionalProperties": False,
    },
    "string pattern": {
        "type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2,4}$"}},
        "required": ["code"], "additionalProperties": False,
    },
    "minLength and maxLength": {
        "type": "object", "properties": {"word": {"type": "string", "minLength": 3, "maxLength": 8}},
        "required": ["word"], "additionalProperties": False,
    },
    "format date": {
        "type": "object", "properties": {"born": {"type": "string", "format": "date"}},
        "required": ["born"], "additionalProperties": False,
    },
    "integer bounds": {
        "type": "object", "properties": {"age": {"type": "integer", "minimum": 18, "maximum": 99},
                                         "floor": {"type": "integer", "exclusiveMinimum": -3, "exclusiveMaximum": 40}},
        "required": ["age", "floor"], "additionalProperties": False,
    },
    "number bounds": {
        "type": "object", "properties": {"price": {"type": "number", "minimum": 0, "maximum": 1000}},
        "required": ["price"], "additionalProperties": False,
    },
    "anyOf": {
        "type": "object",
        "properties": {"value": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 9}, {"type": "boolean"}, {"type": "null"}]}},
        "required": ["value"], "additionalProperties": False,
    },
    "$ref and $defs": {
        "type": "object",
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer", "minimum": -99, "maximum": 99},
                                                              "y": {"type": "integer", "minimum": -99, "maximum": 99}},
                            "required": ["x", "y"], "additionalProperties": False}},
        "properties": {"start": {"$ref": "#/$defs/point"}, "end": {"$ref": "#/$defs/point"}},
        "required": ["start", "end"], "additionalProperties": False,
    },
    "array of objects": {
        "type": "array", "minItems": 1, "maxItems": 3,
        "items": {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1, "maximum": 999}, "ok": {"type": "boolean"}},
                  "required": ["id", "ok"], "additionalProperties": False},
    },
}

CHECKER = jsonschema.FormatChecker()


def check(schema, text):
    """The output parses and validates, formats included."""
    value = json.loads(text)
    jsonschema.validate(value, schema, format_checker=CHECKER)
    return value


def ask(client, schema, n=1, stream=False, seed=1, max_tokens=256):
    kwargs = dict(model="smollm2", messages=[{"role": "user", "content": "Reply with a JSON example."}],
                  response_format={"type": "json_schema", "json_schema": {"name": "example", "schema": schema, "strict": True}},
                  n=n, temperature=0.8, seed=seed, max_tokens=max_tokens)
    if not stream:
        r = client.chat.completions.create(**kwargs)
        return [(c.message.content, c.finish_reason) for c in r.choices]
    texts, reasons = [""] * n, [None] * n
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
            reasons[c.index] = c.finish_reason or reasons[c.index]
    return list(zip(texts, reasons))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("name", list(SCHEMAS))
def test_every_output_validates_at_n2(client, name, stream):
    schema = SCHEMAS[name]
    outs = ask(client, schema, n=2, stream=stream)
    assert len(outs) == 2
    for text, reason in outs:
        assert reason == "stop", f"{name}: cut short ({reason}): {text!r}"
        check(schema, text)


class Address(BaseModel):
    city: str = Field(max_length=16)
    country: Literal["FR", "DE", "JP"]


class Person(BaseModel):
    name: str = Field(max_length=16)
    age: int = Field(ge=0, le=120)
    address: Address
    nickname: Optional[str] = Field(max_length=8)


def test_sdk_parse_with_a_pydantic_model(client):
    r = client.chat.completions.parse(model="smollm2", messages=[{"role": "user", "content": "Invent a person."}],
                                      response_format=Person, temperature=0.7, seed=3, max_tokens=256)
    person = r.choices[0].message.parsed
    assert isinstance(person, Person), r.choices[0].message.content
    assert 0 <= person.age <= 120 and person.address.country in {"FR", "DE", "JP"}


def test_property_order_follows_the_schema(client):
    schema = {"type": "object", "properties": {"zebra": {"type": "integer", "minimum": 0, "maximum": 9},
                                               "apple": {"type": "integer", "minimum": 0, "maximum": 9}},
              "required": ["zebra", "apple"], "additionalProperties": False}
    (text, _), = ask(client, schema)
    assert list(json.loads(text)) == ["zebra", "apple"], text


def test_json_object_and_the_other_spellings(client, server):
    r = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Some JSON please."}],
                                       response_format={"type": "json_object"}, max_tokens=200, temperature=0.5, seed=2)
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    assert r.choices[0].message.content.lstrip().startswith("{")
    schema = SCHEMAS["integer bounds"]
    for extra in ({"nvext": {"guided_json": schema}}, {"nvext": {"guided_json": json.dumps(schema)}}, {"json_schema": schema}):
        r = client.completions.create(model="smollm2", prompt="A JSON record:", max_tokens=64, temperature=0.8, seed=4,
                                      extra_body=extra)
        assert r.choices[0].finish_reason == "stop", extra
        check(schema, r.choices[0].text)


def test_guided_choice_regex_and_grammar(client):
    choices = ["positive", "negative", "neutral ☺"]
    for seed in range(3):
        r = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Sentiment of: I love it"}],
                                           temperature=1.0, seed=seed, extra_body={"nvext": {"guided_choice": choices}})
        assert r.choices[0].message.content in choices
    pattern = r"(\+33|0)[1-9]( [0-9]{2}){4}"
    r = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "A French phone number?"}],
                                       temperature=0.8, seed=5, max_tokens=40, extra_body={"nvext": {"guided_regex": pattern}})
    assert re.fullmatch(pattern, r.choices[0].message.content), r.choices[0].message.content
    # Arithmetic with nested parentheses: not a regular language, so checked by a parser.
    gbnf = 'root ::= expr "."\nexpr ::= term ([-+*] term){0,3}\nterm ::= [1-9] | "(" expr ")"\n'
    for stream in (False, True):
        kwargs = dict(model="smollm2", prompt="Some arithmetic:", max_tokens=60, temperature=1.0, seed=6,
                      extra_body={"grammar": gbnf})
        if stream:
            text = "".join(c.choices[0].text for c in client.completions.create(stream=True, **kwargs) if c.choices)
        else:
            text = client.completions.create(**kwargs).choices[0].text
        assert parses_as_arithmetic(text), text


def parses_as_arithmetic(text):
    pos = 0

    def term():
        nonlocal pos
        if pos < len(text) and text[pos] in "123456789":
            pos += 1
            return True
        if pos < len(text) and text[pos] == "(":
            pos += 1
            if not expr() or pos >= len(text) or text[pos] != ")":
                return False
            pos += 1
            return True
        return False

    def expr():
        nonlocal pos
        if not term():
            return False
        for _ in range(3):
            if pos < len(text) and text[pos] in "-+*":
                pos += 1
                if not term():
                    return False
        return True

    return expr() and text[pos:] == "."


def test_a_budget_that_cuts_the_json_short_says_length(client):
    schema = {"type": "object", "properties": {"story": {"type": "string", "minLength": 200, "maxLength": 400}},
              "required": ["story"]}
    (text, reason), = ask(client, schema, max_tokens=10)
    assert reason == "length" and text.startswith("{")


def preemptions(url):
    body = urllib.request.urlopen(url + "/v1/metrics").read().decode()
    return sum(float(line.split()[-1]) for line in body.splitlines() if line.startswith("num_preemptions_total"))


def test_outputs_validate_under_a_kv_squeeze_that_preempts():
    # 8 slots sharing 256 cells: each sequence is ~30 prompt tokens plus 30-120 output
    # tokens, so eight running sequences outgrow the cache and some are preempted.
    s = Server("--max-num-seqs", "8", "--kv-cache-tokens", "256", "--kv-layout", "unified", "--max-model-len", "256")
    try:
        client = OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0)
        names = ["nested objects and arrays", "$ref and $defs", "array of objects", "enum, const and required"] * 2
        with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
            results = list(pool.map(lambda i: ask(client, SCHEMAS[names[i]], n=2, seed=i, max_tokens=160,
                                                  stream=i % 2 == 1), range(len(names))))
        assert preemptions(s.url) > 0, "the squeeze did not preempt; the test proves nothing"
        for name, outs in zip(names, results):
            for text, reason in outs:
                assert reason == "stop", f"{name}: {reason}: {text!r}"
                check(SCHEMAS[name], text)
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("extra,param", [
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": "#/$defs/none"}}}},
     "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "^(?=a)a$"}}}},
     "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format.json_schema"),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
    ({"grammar": "root ::= undefined-rule"}, "grammar"),
    ({"nvext": {"guided_grammar": 'root ::= "open'}}, "nvext.guided_grammar"),
    ({"nvext": {"guided_regex": "(unbalanced"}}, "nvext.guided_regex"),
    ({"nvext": {"guided_choice": []}}, "nvext.guided_choice"),
    ({"nvext": {"guided_choice": ["a"]}, "grammar": 'root ::= "a"'}, "grammar"),
    ({"json_schema": {"type": "object"}, "response_format": {"type": "json_object"}}, "json_schema"),
    ({"json_schema": {"type": "string", "maxLength": 10**9}}, "json_schema"),
    ({"functions": [{"name": "f"}]}, "functions"),
    ({"function_call": "auto"}, "function_call"),
    ({"nvext": {"guided_whitespace_pattern": " "}}, "nvext.guided_whitespace_pattern"),
    ({"logit_bias_typo": {}}, "logit_bias_typo"),
    ({"ignore_eos": True, "nvext": {"guided_choice": ["a"]}}, "ignore_eos"),
])
def test_bad_or_unsupported_fields_are_400_naming_the_field(client, extra, param):
    with pytest.raises(BadRequestError) as e:
        client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "hi"}], max_tokens=4,
                                       extra_body=extra)
    err = e.value.body
    assert err["param"] == param, err
    assert param.split(".")[0] in err["message"], err


def test_informational_fields_are_accepted(client):
    r = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "hi", "name": "ann"}],
                                       max_tokens=4, user="u1", metadata={"team": "a"}, store=False,
                                       response_format={"type": "text"})
    assert r.choices[0].message.content is not None


def test_a_bad_grammar_is_explained_in_the_400_and_kept_out_of_the_log():
    # llama.cpp prints grammar parse errors, with the whole grammar, to stderr; Corral
    # captures that for the 400 so JSON logs stay JSON and hold no request content.
    s = Server(env={"NIM_JSONL_LOGGING": "1", "NIM_LOG_LEVEL": "info"})
    try:
        client = OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(BadRequestError) as e:
            client.completions.create(model="smollm2", prompt="x", max_tokens=2,
                                      extra_body={"grammar": 'root ::= "secret-grammar-text" missing-rule'})
        assert "missing-rule" in e.value.body["message"], e.value.body
        with pytest.raises(BadRequestError):
            client.completions.create(model="smollm2", prompt="x", max_tokens=2,
                                      extra_body={"json_schema": {"type": "string", "pattern": "^(?!secret-pattern)$"}})
    finally:
        assert s.stop() == 0
    lines = s.proc.stderr.read().decode().splitlines()
    assert all(json.loads(line) for line in lines if line.strip())
    assert not any("secret-grammar-text" in line or "secret-pattern" in line for line in lines)
