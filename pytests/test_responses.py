"""`POST /v1/responses` through the official `openai` SDK's Responses client, on the real
engine: text, instructions, a JSON schema, a function-call loop, the stream's typed
events, and the fields this server does not implement refused by name."""
import json

import jsonschema
import pytest
from openai import BadRequestError, OpenAI

WEATHER = {"type": "function", "name": "get_weather", "description": "Get the current weather in a city",
           "parameters": {"type": "object",
                          "properties": {"city": {"type": "string", "maxLength": 20}, "unit": {"enum": ["c", "f"]}},
                          "required": ["city", "unit"], "additionalProperties": False}}
PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}


@pytest.fixture(scope="module")
def client(server):
    return OpenAI(base_url=server.url + "/v1", api_key="unused")


def test_text_with_instructions_matches_chat(client):
    r = client.responses.create(model="smollm2", instructions="Answer in one short sentence.",
                                input="What is the capital of France?", max_output_tokens=24, temperature=0)
    chat = client.chat.completions.create(model="smollm2", max_tokens=24, temperature=0, messages=[
        {"role": "system", "content": "Answer in one short sentence."},
        {"role": "user", "content": "What is the capital of France?"}])
    assert r.object == "response" and r.id.startswith("resp_") and r.model == "smollm2"
    assert r.output_text == chat.choices[0].message.content and r.output_text
    assert r.usage.input_tokens == chat.usage.prompt_tokens and r.usage.output_tokens == chat.usage.completion_tokens
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.status in ("completed", "incomplete") and r.instructions == "Answer in one short sentence."


def test_a_cut_answer_is_incomplete(client):
    r = client.responses.create(model="smollm2", input="Write a long story about a dragon.", max_output_tokens=4)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.usage.output_tokens == 4


def test_message_items_and_a_json_schema(client):
    r = client.responses.create(model="smollm2", temperature=0, max_output_tokens=60, input=[
        {"role": "user", "content": [{"type": "input_text", "text": "Invent a person."}]}],
        text={"format": {"type": "json_schema", "name": "person", "schema": PERSON, "strict": True}})
    jsonschema.validate(json.loads(r.output_text), PERSON)
    # Properties come out in the schema's order: the schema reached the grammar as written.
    assert list(json.loads(r.output_text)) == ["name", "age"]


def test_a_function_call_loop(client):
    first = client.responses.create(model="smollm2", input="What is the weather in Paris?", tools=[WEATHER],
                                    tool_choice="required", temperature=0, max_output_tokens=80)
    calls = [item for item in first.output if item.type == "function_call"]
    assert calls and calls[0].name == "get_weather" and calls[0].call_id
    jsonschema.validate(json.loads(calls[0].arguments), WEATHER["parameters"])
    history = [{"role": "user", "content": "What is the weather in Paris?"},
               {"type": "function_call", "call_id": calls[0].call_id, "name": calls[0].name,
                "arguments": calls[0].arguments},
               {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18 degrees and sunny"}]
    final = client.responses.create(model="smollm2", input=history, tools=[WEATHER], tool_choice="none",
                                    temperature=0, max_output_tokens=40)
    assert final.output_text and not [item for item in final.output if item.type == "function_call"]


def test_the_stream_has_the_typed_events_and_the_same_text(client):
    args = dict(model="smollm2", input="Say hello to the world.", max_output_tokens=20, temperature=0)
    whole = client.responses.create(**args)
    events = list(client.responses.create(stream=True, **args))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] in ("response.completed", "response.incomplete")
    for t in ("response.output_item.added", "response.content_part.added", "response.output_text.delta",
              "response.output_text.done", "response.content_part.done", "response.output_item.done"):
        assert t in types, t
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == whole.output_text == next(e.text for e in events if e.type == "response.output_text.done")
    final = events[-1].response
    assert final.output_text == text and final.usage.output_tokens == whole.usage.output_tokens


def test_a_streamed_function_call(client):
    events = list(client.responses.create(model="smollm2", input="What is the weather in Paris?", tools=[WEATHER],
                                          tool_choice="required", temperature=0, max_output_tokens=80, stream=True))
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert done and all(d.name == "get_weather" for d in done)
    for d in done:  # one item per call, its deltas adding up to its arguments
        deltas = "".join(e.delta for e in events
                         if e.type == "response.function_call_arguments.delta" and e.item_id == d.item_id)
        assert deltas == d.arguments
        jsonschema.validate(json.loads(d.arguments), WEATHER["parameters"])
    calls = [i for i in events[-1].response.output if i.type == "function_call"]
    assert [c.arguments for c in calls] == [d.arguments for d in done] and len({c.call_id for c in calls}) == len(calls)


@pytest.mark.parametrize("extra, param", [
    ({"previous_response_id": "resp_123"}, "previous_response_id"),
    ({"background": True}, "background"),
    ({"truncation": "auto"}, "truncation"),
    ({"conversation": "conv_1"}, "conversation"),
    ({"tools": [{"type": "web_search"}]}, "tools"),
    ({"input": [{"type": "input_image", "image_url": "x"}]}, "input"),
    ({"input": 5}, "input"),
    ({"max_output_tokens": 0}, "max_output_tokens"),
])
def test_what_is_not_implemented_is_a_400_naming_it(client, extra, param):
    # Sent as the JSON body says, past the SDK's own typing.
    with pytest.raises(BadRequestError) as error:
        client.responses.create(model="smollm2", input="Hi", extra_body=extra)
    assert error.value.body["param"] == param, error.value.body
