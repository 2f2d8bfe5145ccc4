"""Chat templates are rendered by llama.cpp's Jinja engine: the model's own, or one from
NIM_CHAT_TEMPLATE_FILE. A template that does not parse stops startup with one line; one
that fails for a request is a 400 for that request."""
import json
import urllib.request

import pytest
from openai import BadRequestError, OpenAI

from conftest import Server

CUSTOM = ("{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
          "{% if add_generation_prompt %}[assistant]{% endif %}")


def post(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def rendered(url, messages):
    tokens = post(url, "/tokenize", {"messages": messages})["tokens"]
    return post(url, "/detokenize", {"tokens": tokens})["prompt"]


def test_the_models_own_template_is_rendered_as_jinja(server):
    text = rendered(server.url, [{"role": "user", "content": "Hi"}])
    # SmolLM2's Jinja template adds its default system prompt; the built-in ChatML would not.
    # (/detokenize leaves the special <|im_start|> and <|im_end|> tokens out.)
    assert text.startswith("system\nYou are a helpful AI assistant named SmolLM"), text
    assert text.endswith("user\nHi\nassistant\n"), text
    assert json.load(urllib.request.urlopen(server.url + "/v1/metadata"))["chat_template"] == "model"


def test_a_template_file_replaces_the_models(tmp_path):
    path = tmp_path / "template.jinja"
    path.write_text(CUSTOM)
    s = Server(env={"NIM_CHAT_TEMPLATE_FILE": str(path)})
    try:
        text = rendered(s.url, [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
        assert text == "[system] S\n[user] U\n[assistant]", text
        assert json.load(urllib.request.urlopen(s.url + "/v1/metadata"))["chat_template"] == str(path)
        r = OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0).chat.completions.create(
            model="smollm2", messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
        assert r.usage.prompt_tokens > 0 and r.choices[0].finish_reason in ("stop", "length")
    finally:
        assert s.stop() == 0


def test_a_template_that_raises_is_a_400_for_that_request(tmp_path):
    path = tmp_path / "one.jinja"
    path.write_text("{% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}"
                    "{{ messages[0].content }}")
    s = Server("--chat-template-file", str(path))
    try:
        client = OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0)
        assert client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "a"}],
                                              max_tokens=2).choices
        with pytest.raises(BadRequestError) as e:
            client.chat.completions.create(model="smollm2", max_tokens=2, messages=[
                {"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
        assert e.value.body["param"] == "messages" and "one message only" in e.value.body["message"]
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("template", ["{% for %}", "{{ unclosed"])
def test_a_template_that_does_not_parse_stops_startup(tmp_path, template):
    path = tmp_path / "bad.jinja"
    path.write_text(template)
    with pytest.raises(RuntimeError) as e:
        Server("--chat-template-file", str(path))
    assert "chat template" in str(e.value), str(e.value)[-500:]


def test_a_missing_template_file_is_refused_by_check_config(tmp_path):
    from test_deploy_contract import check_config
    run = check_config({"NIM_CHAT_TEMPLATE_FILE": str(tmp_path / "none.jinja")})
    assert run.returncode != 0 and "NIM_CHAT_TEMPLATE_FILE" in run.stdout + run.stderr
