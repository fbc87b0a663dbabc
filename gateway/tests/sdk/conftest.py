"""Fixtures for the SDK suite.

The Rust integration test `sdk::openai_python_sdk_suite_passes` starts the real gateway against
the fake provider and runs this suite with SWITCHBOARD_BASE_URL, SWITCHBOARD_API_KEY and
SWITCHBOARD_MODEL set. Run it by hand against any gateway the same way.
"""

import os

import anthropic
import openai
import pytest


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run this suite through `cargo test` or set it by hand", returncode=2)
    return value


@pytest.fixture(scope="session")
def base_url() -> str:
    return _env("SWITCHBOARD_BASE_URL")


@pytest.fixture(scope="session")
def model() -> str:
    return _env("SWITCHBOARD_MODEL")


@pytest.fixture(scope="session")
def client(base_url: str) -> openai.OpenAI:
    # No SDK retries: a retry would hide a wrong status code.
    return openai.OpenAI(base_url=base_url, api_key=_env("SWITCHBOARD_API_KEY"), max_retries=0)


@pytest.fixture(scope="session")
def async_client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key=_env("SWITCHBOARD_API_KEY"), max_retries=0)


@pytest.fixture(scope="session")
def anthropic_base_url(base_url: str) -> str:
    # The Anthropic SDK appends /v1/messages itself.
    return base_url.removesuffix("/v1")


@pytest.fixture(scope="session")
def anthropic_client(anthropic_base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=anthropic_base_url, api_key=_env("SWITCHBOARD_API_KEY"), max_retries=0)


@pytest.fixture(scope="session")
def genai_client(anthropic_base_url: str):
    from google import genai
    from google.genai import types

    return genai.Client(
        api_key=_env("SWITCHBOARD_API_KEY"),
        http_options=types.HttpOptions(base_url=anthropic_base_url, retry_options=None),
    )
