//! One HTTP request to the fake provider: record it, route it, authenticate it, validate it, and
//! answer with the scripted behaviour. Anthropic paths are handed to `anthropic/`, Gemini paths
//! to `gemini/` and Bedrock paths (`/model/…`) to `bedrock/` right after recording; everything
//! else is answered here, in OpenAI's dialect (embeddings bodies are `embeddings/`'s, Responses
//! API requests `responses/`'s).
//!
//! Order of checks, as OpenAI's: route (404), authentication (401), Azure `api-version` (400),
//! content type and JSON (400), request validation (400), model (404). Only a request that passes
//! all of them pops a behaviour from the script, so a rejected request never consumes a scripted
//! error or reply.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited, StreamBody};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use super::FakeOptions;
use super::anthropic;
use super::auth::{azure_api_version, azure_auth, bearer_auth};
use super::bedrock;
use super::embeddings;
use super::gemini;
use super::openai::{self, Head};
use super::record::Recorder;
use super::responses;
use super::script::{Behaviour, ErrorReply, Script};
use super::stop;
use super::stream::{self, FrameStream, StreamShape};
use super::validate;

pub(crate) type ResponseBody = Either<Full<Bytes>, StreamBody<FrameStream>>;

const MAX_BODY: usize = 64 * 1024 * 1024;

/// State shared by every connection of one fake provider.
pub(crate) struct Shared {
    pub options: FakeOptions,
    pub script: Script,
    pub recorder: Recorder,
    /// Streams whose reader went away before the stream was complete.
    pub abandoned: Arc<stream::Abandoned>,
    /// Thought signatures handed out on Gemini function calls, which later requests must echo.
    pub gemini_signatures: gemini::Issued,
    /// Bedrock's credentials, reasoning signatures and tool-call counter.
    pub bedrock: bedrock::State,
    /// The Responses API's stored responses and id counters.
    pub responses: responses::State,
    counter: AtomicU64,
}

impl Shared {
    pub(crate) fn new(options: FakeOptions) -> Self {
        Shared {
            options,
            script: Script::default(),
            recorder: Recorder::default(),
            abandoned: Arc::default(),
            gemini_signatures: gemini::Issued::default(),
            bedrock: bedrock::State::default(),
            responses: responses::State::default(),
            counter: AtomicU64::new(0),
        }
    }
}

/// Which URL style an OpenAI request came in on.
pub(crate) enum Flavour<'a> {
    OpenAi,
    Azure { deployment: &'a str },
}

pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let number = shared.counter.fetch_add(1, Ordering::Relaxed) + 1;
    let (parts, body) = request.into_parts();
    let bytes = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|collected| collected.to_bytes());
    let json = match &bytes {
        Ok(bytes) if !bytes.is_empty() => serde_json::from_slice(bytes).ok(),
        _ => None,
    };
    if shared.recorder.enabled() {
        shared
            .recorder
            .record(&parts, json.as_ref().unwrap_or(&Value::Null));
    }
    if let Some(endpoint) = gemini::endpoint(&parts) {
        let body = match (&bytes, &json) {
            (Err(_), _) => gemini::Body::Unreadable,
            (Ok(bytes), _) if bytes.is_empty() => gemini::Body::Empty,
            (Ok(_), None) => gemini::Body::NotJson,
            (Ok(_), Some(json)) => gemini::Body::Json(json),
        };
        return Ok(gemini::handle(&shared, &parts, body, endpoint, number).await);
    }
    if let Some(endpoint) = bedrock::endpoint(&parts) {
        let body = bytes.as_ref().ok();
        let response = bedrock::handle(&shared, &parts, body, json.as_ref(), endpoint, number);
        return Ok(response.await);
    }
    if parts.method == Method::POST
        && let Some(endpoint) = anthropic::endpoint(parts.uri.path())
    {
        let body = bytes.as_ref().ok().map(|_| json.as_ref());
        return Ok(anthropic::handle(&shared, &parts, body, endpoint, number).await);
    }
    let reply = Responder { number };
    if bytes.is_err() {
        return Ok(reply.invalid("Could not read the request body.", None));
    }
    let path = parts.uri.path();
    let response = match (&parts.method, path) {
        (&Method::POST, "/v1/chat/completions") => {
            chat(&shared, &parts, json.as_ref(), Flavour::OpenAi, reply).await
        }
        (&Method::POST, "/v1/responses") => {
            responses::handle(&shared, &parts, json.as_ref(), reply).await
        }
        (&Method::POST, "/v1/embeddings") => {
            embeddings::openai(&shared, &parts, json.as_ref(), Flavour::OpenAi, reply).await
        }
        (&Method::POST, _) => match azure_route(path) {
            Some((deployment, AzureCall::Chat)) => {
                let flavour = Flavour::Azure { deployment };
                chat(&shared, &parts, json.as_ref(), flavour, reply).await
            }
            Some((deployment, AzureCall::Embeddings)) => {
                let flavour = Flavour::Azure { deployment };
                embeddings::openai(&shared, &parts, json.as_ref(), flavour, reply).await
            }
            None => not_found(&parts, reply),
        },
        (&Method::GET, "/v1/models") => match bearer_auth(&shared.options, &parts.headers) {
            Err(error) => reply.error(&error),
            Ok(()) => reply.json(
                StatusCode::OK,
                openai::models_body(&shared.options.models),
                Duration::ZERO,
            ),
        },
        _ => not_found(&parts, reply),
    };
    Ok(response)
}

async fn chat(
    shared: &Shared,
    parts: &Parts,
    json: Option<&Value>,
    flavour: Flavour<'_>,
    reply: Responder,
) -> Response<ResponseBody> {
    let (request, model, behaviour) =
        match prepare(shared, parts, json, &flavour, validate::chat_request).await {
            Ok(prepared) => prepared,
            Err(refusal) => return reply.refuse(refusal),
        };
    let said = stop::reply_until_stop(&behaviour.reply, &request.stop);
    let usage = behaviour
        .usage
        .unwrap_or_else(|| openai::default_usage(request.messages, &said, request.n));
    let id = format!("chatcmpl-fake{}", reply.number);
    let head = Head {
        id: &id,
        created: unix_now(),
        model: &model,
    };
    if !request.stream {
        let body = openai::completion_body(&head, &said, &usage, request.n);
        return reply.json(StatusCode::OK, body, behaviour.latency);
    }
    let shape = StreamShape {
        n: request.n,
        include_usage: request.include_usage,
        include_obfuscation: request.include_obfuscation,
    };
    let transcript = stream::transcript(&head, &said, &usage, &shape);
    reply.stream(transcript, &behaviour, Arc::clone(&shared.abandoned))
}

/// Why an OpenAI POST is refused before it is answered.
pub(crate) enum Refusal {
    Error(ErrorReply),
    Invalid(crate::fake::validate::InvalidRequest),
}

/// A validated OpenAI request that names its model (`None` for Azure, whose path does).
pub(crate) trait NamesModel {
    fn model(&self) -> Option<&str>;
}

/// Everything an OpenAI or Azure POST passes before it is answered: [`admit`], the endpoint's
/// own validation, a known model (the body's, or Azure's deployment) and the scripted
/// behaviour, which may itself be an error.
pub(crate) async fn prepare<'j, R: NamesModel>(
    shared: &Shared,
    parts: &Parts,
    json: Option<&'j Value>,
    flavour: &Flavour<'_>,
    validate: impl FnOnce(&'j Value, bool) -> Result<R, crate::fake::validate::InvalidRequest>,
) -> Result<(R, String, Arc<Behaviour>), Refusal> {
    let json = admit(shared, parts, json, flavour).map_err(Refusal::Error)?;
    let request = validate(json, matches!(flavour, Flavour::OpenAi)).map_err(Refusal::Invalid)?;
    let model = match flavour {
        Flavour::Azure { deployment } => (*deployment).to_owned(),
        Flavour::OpenAi => request.model().unwrap_or_default().to_owned(),
    };
    known_model(shared, &model, flavour).map_err(Refusal::Error)?;
    let behaviour = shared.script.play().await;
    if let Some(error) = behaviour.error.clone() {
        return Err(Refusal::Error(error));
    }
    Ok((request, model, behaviour))
}

/// Authentication, Azure's `api-version`, the content type and a JSON body: what every OpenAI
/// POST passes before its body is validated.
pub(crate) fn admit<'j>(
    shared: &Shared,
    parts: &Parts,
    json: Option<&'j Value>,
    flavour: &Flavour<'_>,
) -> Result<&'j Value, ErrorReply> {
    match flavour {
        Flavour::OpenAi => bearer_auth(&shared.options, &parts.headers)?,
        Flavour::Azure { .. } => {
            azure_auth(&shared.options, &parts.headers)?;
            azure_api_version(parts.uri.query())?;
        }
    }
    let is_json = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    let invalid = |message: &str| ErrorReply::new(400, "invalid_request_error", message);
    if !is_json {
        return Err(invalid(
            "Invalid Content-Type header, expected application/json.",
        ));
    }
    json.ok_or_else(|| invalid(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
    ))
}

/// OpenAI's 404 `model_not_found` (Azure's `DeploymentNotFound`) for a model outside the list.
pub(crate) fn known_model(
    shared: &Shared,
    model: &str,
    flavour: &Flavour<'_>,
) -> Result<(), ErrorReply> {
    let models = &shared.options.models;
    if models.is_empty() || models.iter().any(|known| known == model) {
        return Ok(());
    }
    Err(match flavour {
        Flavour::OpenAi => ErrorReply::new(
            404,
            "invalid_request_error",
            &format!("The model `{model}` does not exist or you do not have access to it."),
        )
        .with_code("model_not_found"),
        Flavour::Azure { .. } => ErrorReply::new(
            404,
            "invalid_request_error",
            "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
        )
        .with_code("DeploymentNotFound"),
    })
}

/// What an Azure deployment URL asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AzureCall {
    Chat,
    Embeddings,
}

/// `/openai/deployments/{deployment}/chat/completions` (or `/embeddings`) → the deployment and
/// the call.
fn azure_route(path: &str) -> Option<(&str, AzureCall)> {
    let rest = path.strip_prefix("/openai/deployments/")?;
    let (deployment, call) = match rest.strip_suffix("/chat/completions") {
        Some(deployment) => (deployment, AzureCall::Chat),
        None => (rest.strip_suffix("/embeddings")?, AzureCall::Embeddings),
    };
    (!deployment.is_empty() && !deployment.contains('/')).then_some((deployment, call))
}

fn not_found(parts: &Parts, reply: Responder) -> Response<ResponseBody> {
    let message = format!("Invalid URL ({} {})", parts.method, parts.uri.path());
    reply.error(&ErrorReply::new(404, "invalid_request_error", &message))
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Builds responses that carry OpenAI's headers for request `number`.
pub(crate) struct Responder {
    number: u64,
}

impl Responder {
    fn invalid(self, message: &str, param: Option<&str>) -> Response<ResponseBody> {
        self.invalid_with(message, param, None)
    }

    pub(crate) fn invalid_with(
        self,
        message: &str,
        param: Option<&str>,
        code: Option<&str>,
    ) -> Response<ResponseBody> {
        let body = openai::error_body(message, "invalid_request_error", param, code);
        self.json(StatusCode::BAD_REQUEST, body, Duration::ZERO)
    }

    pub(crate) fn refuse(self, refusal: Refusal) -> Response<ResponseBody> {
        match refusal {
            Refusal::Error(error) => self.error(&error),
            Refusal::Invalid(invalid) => {
                self.invalid_with(&invalid.message, invalid.param.as_deref(), invalid.code)
            }
        }
    }

    pub(crate) fn error(self, error: &ErrorReply) -> Response<ResponseBody> {
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = openai::error_body(
            &error.message,
            &error.error_type,
            None,
            error.code.as_deref(),
        );
        let mut response = self.json(status, body, Duration::ZERO);
        if let Some(seconds) = error.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    pub(crate) fn json(
        self,
        status: StatusCode,
        body: Vec<u8>,
        took: Duration,
    ) -> Response<ResponseBody> {
        let mut response = stream::json_response(status, body, "application/json");
        let headers = response.headers_mut();
        self.common_headers(headers, took);
        response
    }

    pub(crate) fn stream(
        self,
        transcript: stream::Transcript,
        behaviour: &Behaviour,
        abandoned: Arc<stream::Abandoned>,
    ) -> Response<ResponseBody> {
        let mut response =
            stream::paced_response(transcript, behaviour, abandoned, "text/event-stream");
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        self.common_headers(headers, behaviour.latency);
        response
    }

    fn common_headers(&self, headers: &mut HeaderMap, took: Duration) {
        if let Ok(id) = HeaderValue::try_from(format!("req_{}", self.number)) {
            headers.insert(HeaderName::from_static("x-request-id"), id);
        }
        let millis = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        headers.insert(
            HeaderName::from_static("openai-processing-ms"),
            HeaderValue::from(millis),
        );
        headers.insert(
            HeaderName::from_static("openai-version"),
            HeaderValue::from_static("2020-10-01"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_paths() {
        assert_eq!(
            azure_route("/openai/deployments/gpt-4o/chat/completions"),
            Some(("gpt-4o", AzureCall::Chat))
        );
        assert_eq!(
            azure_route("/openai/deployments/emb/embeddings"),
            Some(("emb", AzureCall::Embeddings))
        );
        assert_eq!(azure_route("/openai/deployments//chat/completions"), None);
        assert_eq!(
            azure_route("/openai/deployments/a/b/chat/completions"),
            None
        );
        assert_eq!(azure_route("/openai/deployments/a/completions"), None);
    }
}
