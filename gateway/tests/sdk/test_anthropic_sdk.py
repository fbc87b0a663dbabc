"""The official Anthropic Python SDK, unchanged, against Switchboard (OpenAI-compatible upstream
behind it: the gateway translates both ways)."""

import anthropic
import pytest


MESSAGES = [{"role": "user", "content": "Say hello"}]


def test_message(anthropic_client, model):
    message = anthropic_client.messages.create(model=model, max_tokens=64, system="Be terse.", messages=MESSAGES)

    assert message.type == "message"
    assert message.role == "assistant"
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the fake provider."
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0
    assert message.usage.input_tokens > 0


def test_stream_helper_accumulates_the_same_message(anthropic_client, model):
    with anthropic_client.messages.stream(model=model, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "Hello from the fake provider."
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_raw_stream_events_have_the_documented_order(anthropic_client, model):
    events = list(anthropic_client.messages.create(model=model, max_tokens=64, messages=MESSAGES, stream=True))
    kinds = [event.type for event in events]

    assert kinds[0] == "message_start"
    assert kinds[1] == "content_block_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert "content_block_stop" in kinds


def test_tools_are_accepted(anthropic_client, model):
    message = anthropic_client.messages.create(
        model=model,
        max_tokens=64,
        messages=MESSAGES,
        tools=[
            {
                "name": "get_weather",
                "description": "Current weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
        tool_choice={"type": "auto"},
    )
    assert message.content[0].type == "text"


def test_count_tokens(anthropic_client, model):
    counted = anthropic_client.messages.count_tokens(model=model, messages=MESSAGES)
    assert counted.input_tokens > 0


def test_bad_key_raises_authentication_error(anthropic_base_url, model):
    bad = anthropic.Anthropic(base_url=anthropic_base_url, api_key="sk-wrong-key-000000", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as raised:
        bad.messages.create(model=model, max_tokens=16, messages=MESSAGES)
    assert raised.value.status_code == 401
    assert raised.value.body["error"]["type"] == "authentication_error"


def test_unknown_model_raises_not_found(anthropic_client):
    with pytest.raises(anthropic.NotFoundError) as raised:
        anthropic_client.messages.create(model="no-such-model", max_tokens=16, messages=MESSAGES)
    assert raised.value.body["error"]["type"] == "not_found_error"


def test_invalid_request_raises_bad_request(anthropic_client, model):
    with pytest.raises(anthropic.BadRequestError) as raised:
        anthropic_client.messages.create(model=model, max_tokens=16, messages=MESSAGES, extra_body={"temperature": 1.5})
    assert "temperature" in raised.value.message
