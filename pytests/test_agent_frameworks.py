"""Agent frameworks' tool paths against the real server and the default model, at
`max_tokens` 64 as their examples use (issue 30).

Each library is used as its quick start shows, pointed at Corral with `base_url`:
- langchain-openai: `ChatOpenAI(...).bind_tools([...])` returns an `AIMessage` whose
  `tool_calls` carry parsed arguments;
- instructor: `Mode.TOOLS` sends the Pydantic model as a named tool and validates the call;
- pydantic-ai: an agent with a Pydantic `output_type` gets its output through an output
  tool;
- openai-agents: an `Agent` with an `output_type` on `OpenAIResponsesModel` (the SDK's
  default model class), against `/v1/responses`.

Corral's grammar holds every call to its schema, so each library must get a valid call
on its first try: retries are off wherever a library has them.
"""
import asyncio

import pytest
from pydantic import BaseModel, Field


class Weather(BaseModel):
    """The weather asked for."""
    city: str = Field(max_length=20)
    unit: str = Field(pattern="^[cf]$")


class Person(BaseModel):
    """A person mentioned in the text."""
    name: str = Field(max_length=20)
    age: int = Field(ge=0, le=130)


def test_langchain_bind_tools_gets_a_parsed_call(server):
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str, unit: str) -> str:
        """Get the current weather in a city; unit is c or f."""
        return "sunny"

    llm = ChatOpenAI(model="smollm2", base_url=server.url + "/v1", api_key="unused", max_tokens=64,
                     temperature=0, max_retries=0)
    message = llm.bind_tools([get_weather], tool_choice="get_weather").invoke("What is the weather in Oslo?")
    assert len(message.tool_calls) == 1, message
    call = message.tool_calls[0]
    assert call["name"] == "get_weather" and call["id"]
    assert set(call["args"]) == {"city", "unit"} and all(isinstance(v, str) for v in call["args"].values())
    assert not message.invalid_tool_calls
    # The framework's own loop: the tool runs on the call it got.
    assert get_weather.invoke(call["args"]) == "sunny"


def test_langchain_auto_tool_choice_streams_a_call(server):
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_time(zone: str) -> str:
        """Get the local time in a timezone."""
        return "12:00"

    llm = ChatOpenAI(model="smollm2", base_url=server.url + "/v1", api_key="unused", max_tokens=64,
                     temperature=0, max_retries=0, streaming=True)
    chunks = list(llm.bind_tools([get_time], tool_choice="any").stream("What time is it in Tokyo?"))
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c
    assert [c["name"] for c in merged.tool_calls] == ["get_time"], merged
    assert isinstance(merged.tool_calls[0]["args"].get("zone"), str)


def test_instructor_tools_mode_returns_the_model(server):
    import instructor
    from openai import OpenAI

    client = instructor.from_openai(OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0),
                                    mode=instructor.Mode.TOOLS)
    weather = client.chat.completions.create(
        model="smollm2", max_tokens=64, temperature=0, max_retries=0, response_model=Weather,
        messages=[{"role": "user", "content": "What is the weather in Oslo, in celsius?"}])
    assert isinstance(weather, Weather)
    assert weather.unit in ("c", "f") and 0 < len(weather.city) <= 20


def test_instructor_async_client_too(server):
    import instructor
    from openai import AsyncOpenAI

    client = instructor.from_openai(AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0),
                                    mode=instructor.Mode.TOOLS)

    async def ask():
        return await client.chat.completions.create(
            model="smollm2", max_tokens=64, temperature=0, max_retries=0, response_model=Person,
            messages=[{"role": "user", "content": "Ada is 36 years old."}])

    person = asyncio.run(ask())
    assert isinstance(person, Person) and 0 <= person.age <= 130


def test_pydantic_ai_agent_with_an_output_type(server):
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIChatModel("smollm2", provider=OpenAIProvider(base_url=server.url + "/v1", api_key="unused"))
    agent = Agent(model, output_type=Weather, retries=0, model_settings={"max_tokens": 64, "temperature": 0})
    result = agent.run_sync("What is the weather in Oslo, in celsius?")
    assert isinstance(result.output, Weather)
    assert result.output.unit in ("c", "f")
    # The output came through a tool call, not text: the agent's own output tool.
    calls = [p for m in result.all_messages() for p in getattr(m, "parts", []) if p.part_kind == "tool-call"]
    assert calls and calls[-1].tool_name.startswith("final_result")


def test_openai_agents_responses_model_with_an_output_type(server):
    from agents import Agent, ModelSettings, OpenAIResponsesModel, Runner, set_tracing_disabled
    from openai import AsyncOpenAI

    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    agent = Agent(name="weather", instructions="Answer with the city and the unit asked for.",
                  model=OpenAIResponsesModel(model="smollm2", openai_client=client),
                  model_settings=ModelSettings(max_tokens=64, temperature=0), output_type=Weather)
    result = asyncio.run(Runner.run(agent, "What is the weather in Oslo, in celsius?"))
    assert isinstance(result.final_output, Weather)
    assert result.final_output.unit in ("c", "f")


def test_openai_agents_function_tool_runs_on_the_call(server):
    from agents import Agent, ModelSettings, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
    from openai import AsyncOpenAI

    set_tracing_disabled(True)
    seen = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        seen.append(city)
        return "sunny and 20 degrees"

    client = AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    # The default model, offered the tool again with `auto`, keeps calling it; stopping at
    # the first call's output (the SDK's own option) keeps the test about the call.
    agent = Agent(name="weather", instructions="Use the tool to answer.", tools=[get_weather],
                  model=OpenAIResponsesModel(model="smollm2", openai_client=client),
                  model_settings=ModelSettings(max_tokens=64, temperature=0, tool_choice="get_weather"),
                  tool_use_behavior="stop_on_first_tool")
    result = asyncio.run(Runner.run(agent, "What is the weather in Oslo?", max_turns=2))
    # The tool ran once, on the model's one call, and its output is the answer.
    assert len(seen) == 1 and isinstance(seen[0], str) and seen[0]
    assert result.final_output == "sunny and 20 degrees"
