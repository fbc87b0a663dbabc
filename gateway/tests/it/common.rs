//! The harness: starts the real gateway binary on port 0 with a config written for the test,
//! waits for its `listening on` line (no sleeps), and kills it when the test ends.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const KEY: &str = "sk-test-alice-0001";
pub const UPSTREAM_KEY: &str = "sk-upstream-secret";

pub struct Gateway {
    pub addr: SocketAddr,
    child: Child,
    _config: tempfile::NamedTempFile,
    logs: Arc<Mutex<String>>,
}

impl Gateway {
    /// Starts the gateway on `yaml`; panics with its stderr if it does not come up.
    pub fn start(yaml: &str) -> Gateway {
        Self::start_with_env(yaml, &[])
    }

    pub fn start_with_env(yaml: &str, env: &[(&str, &str)]) -> Gateway {
        let mut config = tempfile::Builder::new()
            .suffix(".yaml")
            .tempfile()
            .expect("temp config");
        config.write_all(yaml.as_bytes()).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
            .arg("--config")
            .arg(config.path())
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gateway");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            panic!("gateway did not start: stdout={line:?} stderr={stderr}");
        };
        let addr = addr.parse().expect("address");
        // Drain stderr continuously so a chatty gateway never blocks on a full pipe.
        let logs = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let sink = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut logs) = sink.lock() {
                        logs.push_str(&line);
                        logs.push('\n');
                    }
                }
            });
        }
        Gateway {
            addr,
            child,
            _config: config,
            logs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit status.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "gateway did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the gateway has written to stderr so far.
    pub fn logs(&self) -> String {
        self.logs
            .lock()
            .map(|logs| logs.clone())
            .unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config with one OpenAI-compatible channel (`primary`) at `base_url` serving `gpt-test`
/// (upstream name `gpt-test-upstream`) and `alias: fast → gpt-test`, plus `extra` YAML appended
/// under `channels:`.
pub fn config(base_url: &str, extra_channels: &str) -> String {
    format!(
        r#"
server:
  max_body_bytes: 65536
  body_read_timeout_ms: 1000
channels:
  - name: primary
    provider: openai
    base_url: {base_url}
    api_key: {UPSTREAM_KEY}
    models:
      - {{name: gpt-test, upstream: gpt-test-upstream}}
    timeouts: {{first_byte_ms: 2000, idle_ms: 2000}}
{extra_channels}
aliases:
  fast: gpt-test
roles:
  - name: full
    models: ["*"]
  - name: limited
    models: ["other-*"]
api_keys:
  - name: alice
    key: {KEY}
    role: full
  - name: bob
    key: sk-test-bob-00002
    role: limited
"#
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

pub fn chat_body(model: &str, stream: bool) -> serde_json::Value {
    let mut body = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to the gateway"}
        ]
    });
    if stream {
        body["stream"] = true.into();
    }
    body
}

/// POSTs JSON to the gateway with alice's key.
pub async fn post(gateway: &Gateway, path: &str, body: &serde_json::Value) -> reqwest::Response {
    client()
        .post(gateway.url(path))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .expect("request")
}

/// GETs an unauthenticated JSON endpoint of the gateway (`/health`, `/ready`, ...).
pub async fn get_json(gateway: &Gateway, path: &str) -> serde_json::Value {
    client()
        .get(gateway.url(path))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// Splits an SSE body into its `data:` payloads.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// Asserts an OpenAI error body: all four keys present, the given type, and returns it.
pub async fn expect_openai_error(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: serde_json::Value = response.json().await.expect("error body is JSON");
    let error = &body["error"];
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "message in {body}"
    );
    assert!(error["type"].is_string(), "type in {body}");
    assert!(error.get("param").is_some(), "param key in {body}");
    assert!(error.get("code").is_some(), "code key in {body}");
    body
}
