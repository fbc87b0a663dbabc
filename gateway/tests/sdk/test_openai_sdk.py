"""The official OpenAI Python SDK, unchanged, against Switchboard."""

import asyncio

import openai
import pytest


MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello"},
]


def test_chat_completion(client, model):
    completion = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=20)

    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Hello from the fake provider."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert completion.usage.completion_tokens > 0


def test_raw_response_exposes_gateway_headers(client, model):
    raw = client.chat.completions.with_raw_response.create(model=model, messages=MESSAGES)

    assert raw.headers["x-switchboard-channel"] == "primary"
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.parse().choices[0].message.content


def test_streaming_with_usage(client, model):
    stream = client.chat.completions.create(
        model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Hello from the fake provider."
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert finish == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_streaming_without_usage(client, model):
    chunks = list(client.chat.completions.create(model=model, messages=MESSAGES, stream=True))

    assert all(chunk.usage is None for chunk in chunks)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == "Hello from the fake provider."


def test_async_streaming(async_client, model):
    async def collect():
        stream = await async_client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
        return [chunk async for chunk in stream]

    chunks = asyncio.run(collect())
    assert chunks[0].choices[0].delta.role == "assistant"


def test_list_and_retrieve_models(client, model):
    ids = [entry.id for entry in client.models.list()]

    assert model in ids
    assert "fast" in ids
    assert client.models.retrieve("fast").id == "fast"


def test_alias_resolves(client):
    completion = client.chat.completions.create(model="fast", messages=MESSAGES)
    assert completion.choices[0].message.content


def test_unknown_key_raises_authentication_error(base_url, model):
    bad = openai.OpenAI(base_url=base_url, api_key="sk-wrong-key-000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        bad.chat.completions.create(model=model, messages=MESSAGES)
    assert raised.value.status_code == 401
    assert raised.value.code == "invalid_api_key"


def test_unknown_model_raises_not_found(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    assert raised.value.code == "model_not_found"
    assert "no-such-model" in raised.value.message


def test_invalid_request_raises_bad_request_naming_the_field(client, model):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=model, messages=MESSAGES, temperature=5)
    assert raised.value.param == "temperature"


def test_tools_are_accepted(client, model):
    completion = client.chat.completions.create(
        model=model,
        messages=MESSAGES,
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
        tool_choice="auto",
    )
    assert completion.choices[0].message.content


def test_embeddings_in_the_sdks_default_base64_and_as_floats(client):
    # The SDK asks for base64 by default and decodes it; the gateway must honour that.
    default = client.embeddings.create(model="embed-model", input=["hello world", "hello world", "other"])
    floats = client.embeddings.create(model="embed-model", input=["hello world"], encoding_format="float")

    assert [item.index for item in default.data] == [0, 1, 2]
    assert len(default.data[0].embedding) == 8
    assert default.data[0].embedding == default.data[1].embedding
    assert default.data[0].embedding != default.data[2].embedding
    assert floats.data[0].embedding == pytest.approx(default.data[0].embedding, rel=1e-6)
    assert default.usage.prompt_tokens > 0


def test_embedding_dimensions(client):
    result = client.embeddings.create(model="embed-model", input="short", dimensions=3)
    assert len(result.data[0].embedding) == 3
