//! A fake OpenAI Chat Completions and Responses, Anthropic Messages, Gemini and AWS Bedrock
//! Converse provider: a real HTTP server on a local port that speaks all five wire formats
//! exactly and refuses what OpenAI, Anthropic, Google and AWS refuse (Bedrock's SigV4 signatures
//! included), so a translation or signing bug in the gateway fails a test instead of passing
//! against a lenient mock.
//!
//! [`FakeProvider`] is the handle tests hold: it records every request, takes a script of
//! [`Behaviour`]s (replies, errors, latency, stream pacing and faults) and stops the server when
//! dropped. The accept loop lives here; `handler.rs` answers one request, `auth.rs` checks keys,
//! `validate/` checks request bodies, `openai.rs` and `stream.rs` render responses, `stop.rs` cuts
//! replies at stop sequences, `responses/`, `anthropic/`, `gemini/` and `bedrock/` do all of
//! that for the Responses, Anthropic, Gemini and Bedrock endpoints, `script.rs` and `record.rs`
//! hold the shared state.
//!
//! Served endpoints: `POST /v1/chat/completions`, `POST /v1/responses`, `POST /v1/embeddings`,
//! Azure's `POST /openai/deployments/{deployment}/chat/completions?api-version=…` and
//! `/embeddings?…`, `GET /v1/models`, Anthropic's `POST /v1/messages` and
//! `POST /v1/messages/count_tokens`, Gemini's `POST /v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:countTokens`, `:embedContent`, `:batchEmbedContents` and
//! `GET /v1beta/models` (also under `/v1/`), Bedrock's `POST /model/{modelId}/converse`,
//! `/converse-stream` and `/invoke` (Titan and Cohere embedding models only); anything else is
//! OpenAI's 404. One script of behaviours serves all five protocols.

mod anthropic;
mod auth;
mod bedrock;
mod embeddings;
mod gemini;
mod handler;
mod openai;
mod record;
mod responses;
mod script;
mod stop;
mod stream;
mod validate;

/// The head of a request with this method and URI, for routing unit tests.
#[cfg(test)]
fn test_parts(method: hyper::Method, uri: &str) -> hyper::http::request::Parts {
    hyper::Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .expect("a valid test request")
        .into_parts()
        .0
}

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use anthropic::thinking_signature;
pub use bedrock::BedrockCredentials;
pub use embeddings::fake_embedding;
pub use gemini::gemini_thought_signature;
pub use record::RecordedRequest;
pub use responses::responses_encrypted_content;
pub use script::{Behaviour, ErrorReply, Reply, Usage};

use handler::Shared;

/// What the fake accepts.
#[derive(Clone, Debug, Default)]
pub struct FakeOptions {
    /// Expected key: `Authorization: Bearer <key>` (OpenAI), `api-key: <key>` (Azure URLs),
    /// `x-api-key: <key>` or bearer (Anthropic), `x-goog-api-key: <key>` or `?key=<key>`
    /// (Gemini). `None` accepts any non-empty key. A wrong or missing key gets the protocol's
    /// error (OpenAI's and Anthropic's 401; Gemini's 400 `API_KEY_INVALID`, or 403 when missing).
    pub api_key: Option<String>,
    /// Models listed by `GET /v1/models` (and Gemini's `GET /v1beta/models`) and accepted by
    /// chat, responses, messages and Gemini's model URLs; any other model gets OpenAI's 404
    /// `model_not_found`, Anthropic's 404 `not_found_error` or Gemini's 404 `NOT_FOUND`. Empty
    /// accepts any model.
    pub models: Vec<String>,
}

/// A running fake provider. Dropping it (or calling [`FakeProvider::shutdown`]) stops the server
/// and closes every open connection.
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl FakeProvider {
    /// Starts with [`FakeOptions::default`] on `127.0.0.1:0`.
    pub async fn start() -> FakeProvider {
        Self::start_with(FakeOptions::default()).await
    }

    /// Starts with `options` on `127.0.0.1:0`.
    pub async fn start_with(options: FakeOptions) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake provider binds 127.0.0.1:0");
        Self::start_on(listener, options).await
    }

    /// Serves on an already bound listener.
    pub async fn start_on(listener: TcpListener, options: FakeOptions) -> FakeProvider {
        let addr = listener
            .local_addr()
            .expect("a bound listener has a local address");
        let shared = Arc::new(Shared::new(options));
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        FakeProvider {
            addr,
            shared,
            stop,
            server: Some(server),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1`, what an OpenAI client takes as its base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT`, what an Anthropic client takes as its base URL (it appends
    /// `/v1/messages`).
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`, what a Gemini client takes as its base URL (it appends
    /// `/v1beta/models/{model}:generateContent` and the like).
    pub fn gemini_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT`, what a Bedrock Runtime client takes as its endpoint (it appends
    /// `/model/{modelId}/converse`, `/converse-stream` or `/invoke`). Requests must be SigV4-signed for
    /// service `bedrock` with the provider's [`BedrockCredentials`].
    pub fn bedrock_base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the credentials Bedrock requests are verified with (default:
    /// [`BedrockCredentials::default`]). Independent of [`FakeOptions`].
    pub fn set_bedrock_credentials(&self, credentials: BedrockCredentials) {
        self.shared.bedrock.set_credentials(credentials);
    }

    /// Every request received so far, valid or not, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.snapshot()
    }

    /// Queues a behaviour for the next `behaviour.times` (default 1) chat, responses, messages,
    /// Gemini generate/stream or Bedrock converse/converse-stream requests (any protocol) that
    /// pass validation. When the queue is empty the
    /// default behaviour is used. Anthropic count_tokens and Gemini countTokens requests never
    /// use one. Embeddings requests (OpenAI, Azure, Gemini, Bedrock `/invoke`) use one too, but
    /// only its `hang`, `latency`, `error` and (OpenAI, Bedrock) `usage.prompt_tokens`.
    pub fn push(&self, behaviour: Behaviour) {
        self.shared.script.push(behaviour);
    }

    /// Replaces the behaviour used when the queue is empty.
    pub fn set_default(&self, behaviour: Behaviour) {
        self.shared.script.set_default(behaviour);
    }

    /// How many streams were abandoned by their reader before they were complete.
    pub fn abandoned_streams(&self) -> usize {
        self.shared.abandoned.count()
    }

    /// Waits until `n` streams have been abandoned by their reader.
    pub async fn wait_for_abandoned_streams(&self, n: usize) {
        self.shared.abandoned.wait_for(n).await;
    }

    /// Turns request recording on or off (on by default). Benchmarks turn it off so the log does
    /// not grow without bound.
    pub fn set_recording(&self, enabled: bool) {
        self.shared.recorder.set_enabled(enabled);
    }

    /// Stops accepting, closes open connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl std::fmt::Debug for FakeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeProvider")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        match accepted {
            Ok((tcp, _)) => {
                tokio::spawn(serve_connection(tcp, Arc::clone(&shared), stopped.clone()));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn serve_connection(tcp: TcpStream, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let _ = tcp.set_nodelay(true);
    let service = service_fn(move |request| handler::handle(Arc::clone(&shared), request));
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(tcp), service);
    tokio::select! {
        _ = connection => {}
        _ = stopped.wait_for(|stop| *stop) => {}
    }
}
