"""The official Google GenAI Python SDK (google-genai), unchanged, against Switchboard."""

import pytest
from google.genai import errors, types


def test_generate_content(genai_client, model):
    response = genai_client.models.generate_content(
        model=model,
        contents="Say hello",
        config=types.GenerateContentConfig(system_instruction="Be terse.", max_output_tokens=64),
    )

    assert response.text == "Hello from the fake provider."
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.usage_metadata.prompt_token_count > 0
    assert response.usage_metadata.candidates_token_count > 0


def test_stream_generate_content(genai_client, model):
    chunks = list(genai_client.models.generate_content_stream(model=model, contents="Say hello"))

    assert len(chunks) > 1
    assert "".join(chunk.text or "" for chunk in chunks) == "Hello from the fake provider."
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.total_token_count > 0


def test_chat_session_keeps_history(genai_client, model):
    chat = genai_client.chats.create(model=model)
    first = chat.send_message("My name is Ada.")
    second = chat.send_message("What is my name?")

    assert first.text and second.text
    assert len(chat.get_history()) == 4


def test_function_declarations_are_accepted(genai_client, model):
    weather = types.FunctionDeclaration(
        name="get_weather",
        description="Current weather",
        parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    response = genai_client.models.generate_content(
        model=model,
        contents="Weather in Oslo?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[weather])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )
    assert response.text


def test_count_tokens(genai_client, model):
    assert genai_client.models.count_tokens(model=model, contents="Hello there").total_tokens > 0


def test_unknown_model_raises_client_error(genai_client):
    with pytest.raises(errors.ClientError) as raised:
        genai_client.models.generate_content(model="no-such-model", contents="hi")
    assert raised.value.code == 404
    assert raised.value.status == "NOT_FOUND"


def test_bad_key_raises_client_error(anthropic_base_url, model):
    from google import genai

    bad = genai.Client(api_key="sk-wrong-key-000000", http_options=types.HttpOptions(base_url=anthropic_base_url))
    with pytest.raises(errors.ClientError) as raised:
        bad.models.generate_content(model=model, contents="hi")
    assert raised.value.code == 401
