//! Shared arrange/act helpers: a plain reqwest client, valid chat, messages, Gemini and Converse
//! bodies, SSE parsers, a SigV4 signer for Bedrock requests (`aws-sigv4`, as the gateway signs)
//! and an event-stream decoder.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use serde_json::{Value, json};
use switchboard_load_tests::{BedrockCredentials, FakeOptions, FakeProvider};

pub const KEY: &str = "sk-test-key-123456";

pub async fn provider() -> FakeProvider {
    FakeProvider::start_with(FakeOptions {
        api_key: Some(KEY.to_owned()),
        models: vec!["gpt-test".to_owned()],
    })
    .await
}

pub fn chat_body() -> Value {
    json!({
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to me"}
        ]
    })
}

/// POSTs `body` to `/v1/chat/completions` with the right key.
pub async fn post_chat(provider: &FakeProvider, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", provider.base_url()))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

pub async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// Splits an SSE body into its `data:` payloads, checking the framing on the way.
pub fn sse_data(text: &str) -> Vec<String> {
    assert!(
        text.ends_with("\n\n"),
        "events end with a blank line: {text:?}"
    );
    text.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("only data lines: {event:?}"));
            assert!(!data.contains('\n'), "one line per event: {event:?}");
            data.to_owned()
        })
        .collect()
}

/// A valid Messages body with the same texts as [`chat_body`], so the same default prompt count
/// (9).
pub fn messages_body() -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 1024,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Say hello to me"}]
    })
}

pub fn weather_tools() -> Value {
    json!([{"name": "get_weather", "description": "Current weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                             "required": ["city"]}}])
}

/// A fake that wants [`KEY`] and knows only `claude-test`.
pub async fn anthropic_provider() -> FakeProvider {
    FakeProvider::start_with(FakeOptions {
        api_key: Some(KEY.to_owned()),
        models: vec!["claude-test".to_owned()],
    })
    .await
}

/// A POST to `path` on the fake, without any headers yet.
pub fn anthropic_request(provider: &FakeProvider, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().post(format!("{}{path}", provider.anthropic_base_url()))
}

/// POSTs `body` to `/v1/messages` with the right key and version.
pub async fn post_messages(provider: &FakeProvider, body: &Value) -> reqwest::Response {
    anthropic_request(provider, "/v1/messages")
        .header("x-api-key", KEY)
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

/// Splits an Anthropic SSE body into (event name, data), checking that every event has both
/// lines and that the data's `type` repeats the name.
pub fn sse_events(text: &str) -> Vec<(String, Value)> {
    assert!(text.ends_with("\n\n"), "events end with a blank line");
    text.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let (head, data) = event.split_once('\n').expect("two lines per event");
            let name = head.strip_prefix("event: ").expect("an event line");
            let data = data.strip_prefix("data: ").expect("a data line");
            assert!(!data.contains('\n'), "one data line: {event:?}");
            let json: Value = serde_json::from_str(data).expect("JSON data");
            assert_eq!(json["type"], name, "type repeats the event name");
            (name.to_owned(), json)
        })
        .collect()
}

pub fn event_names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, json_of(response).await)
}

/// A fake that wants [`KEY`] and knows only `gemini-test`.
pub async fn gemini_provider() -> FakeProvider {
    FakeProvider::start_with(FakeOptions {
        api_key: Some(KEY.to_owned()),
        models: vec!["gemini-test".to_owned()],
    })
    .await
}

/// A valid `GenerateContentRequest` with the same texts as [`chat_body`], so the same default
/// prompt count (9).
pub fn gemini_body() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "Say hello to me"}]}]
    })
}

/// A request to `/v1beta/models/gemini-test:<method_and_query>`, without any headers yet.
pub fn gemini_request(provider: &FakeProvider, method_and_query: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().post(format!(
        "{}/v1beta/models/gemini-test:{method_and_query}",
        provider.gemini_base_url()
    ))
}

/// POSTs `body` to `:<method_and_query>` with the right key in `x-goog-api-key`.
pub async fn post_gemini(
    provider: &FakeProvider,
    method_and_query: &str,
    body: &Value,
) -> reqwest::Response {
    gemini_request(provider, method_and_query)
        .header("x-goog-api-key", KEY)
        .json(body)
        .send()
        .await
        .expect("the fake answers")
}

/// Splits a Gemini SSE body into its chunks, checking that every event is one `data:` line
/// ended by `\r\n\r\n`.
pub fn gemini_chunks(text: &str) -> Vec<Value> {
    assert!(
        text.ends_with("\r\n\r\n"),
        "events end with CRLF CRLF: {text:?}"
    );
    text.split("\r\n\r\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let data = event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("only data lines: {event:?}"));
            assert!(
                !data.contains(['\r', '\n']),
                "one line per event: {event:?}"
            );
            serde_json::from_str(data).expect("JSON chunk")
        })
        .collect()
}

/// The model id every Bedrock test uses, and the same id as it appears in the URL path.
pub const BEDROCK_MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";
pub const BEDROCK_MODEL_IN_PATH: &str = "anthropic.claude-3-5-sonnet-20240620-v1%3A0";

/// How a test signs a Bedrock request: [`BedrockSigner::default`] is what a correctly configured
/// client does with the fake's default credentials; tests break one field at a time.
#[derive(Clone, Debug)]
pub struct BedrockSigner {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: String,
    pub service: String,
    /// Double (the default, right for Bedrock) or single, what S3 uses.
    pub percent_encoding: PercentEncodingMode,
}

impl Default for BedrockSigner {
    fn default() -> Self {
        BedrockSigner {
            access_key_id: BedrockCredentials::DEFAULT_ACCESS_KEY_ID.to_owned(),
            secret_access_key: BedrockCredentials::DEFAULT_SECRET_ACCESS_KEY.to_owned(),
            session_token: None,
            region: BedrockCredentials::DEFAULT_REGION.to_owned(),
            service: "bedrock".to_owned(),
            percent_encoding: PercentEncodingMode::Double,
        }
    }
}

impl BedrockSigner {
    /// The headers `aws-sigv4` adds to a POST of `body` (with `content-type: application/json`)
    /// to `url`: `authorization`, `x-amz-date` and, with a session token, `x-amz-security-token`.
    pub fn headers(&self, url: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let identity = Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "tests",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = self.percent_encoding;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .expect("complete signing params")
            .into();
        let request = SignableRequest::new(
            "POST",
            url,
            [("content-type", "application/json")].into_iter(),
            SignableBody::Bytes(body),
        )
        .expect("a signable request");
        let (instructions, _) = sign(request, &params).expect("signed").into_parts();
        let (headers, _) = instructions.into_parts();
        headers
            .into_iter()
            .map(|header| (header.name(), header.value().to_owned()))
            .collect()
    }
}

/// `{base}/model/{BEDROCK_MODEL_IN_PATH}/{operation}`.
pub fn bedrock_url(provider: &FakeProvider, operation: &str) -> String {
    format!(
        "{}/model/{BEDROCK_MODEL_IN_PATH}/{operation}",
        provider.bedrock_base_url()
    )
}

/// POSTs `sent` to `url` signed (by `signer`) over `signed`: pass the same bytes twice for an
/// honest client, different ones for a tampered request.
pub async fn post_signed(
    url: &str,
    signed: &[u8],
    sent: &[u8],
    signer: &BedrockSigner,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(sent.to_vec());
    for (name, value) in signer.headers(url, signed) {
        request = request.header(name, value);
    }
    request.send().await.expect("the fake answers")
}

/// POSTs `body` to `operation` (`converse` or `converse-stream`), correctly signed.
pub async fn post_bedrock(
    provider: &FakeProvider,
    operation: &str,
    body: &Value,
) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).expect("a JSON body");
    let url = bedrock_url(provider, operation);
    post_signed(&url, &bytes, &bytes, &BedrockSigner::default()).await
}

/// A valid Converse body with the same texts as [`chat_body`], so the same default prompt count
/// (9).
pub fn converse_body() -> Value {
    json!({
        "system": [{"text": "You are terse."}],
        "messages": [{"role": "user", "content": [{"text": "Say hello to me"}]}],
        "inferenceConfig": {"maxTokens": 1024}
    })
}

/// Decodes an event-stream body with `aws-smithy-eventstream`'s frame decoder (which checks both
/// CRCs) into (`:event-type`, JSON payload), checking the other two headers on the way.
pub fn bedrock_events(body: &[u8]) -> Vec<(String, Value)> {
    let mut decoder = MessageFrameDecoder::new();
    let mut buffer = body;
    let mut events = Vec::new();
    while !buffer.is_empty() {
        let DecodedFrame::Complete(message) = decoder.decode_frame(&mut buffer).expect("a frame")
        else {
            panic!("the body ends inside a frame");
        };
        let header = |name: &str| {
            let header = message.headers().iter().find(|h| h.name().as_str() == name);
            let value = header.unwrap_or_else(|| panic!("a {name} header")).value();
            value
                .as_string()
                .expect("a string header")
                .as_str()
                .to_owned()
        };
        assert_eq!(header(":message-type"), "event");
        assert_eq!(header(":content-type"), "application/json");
        let json = serde_json::from_slice(message.payload()).expect("a JSON payload");
        events.push((header(":event-type"), json));
    }
    events
}
