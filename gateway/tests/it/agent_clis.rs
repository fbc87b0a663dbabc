//! The real coding agents, run headless for one task with a tool call, through the gateway
//! against the fake providers: the Codex CLI (`@openai/codex`, OpenAI Responses) and Claude Code
//! (`@anthropic-ai/claude-code`, Anthropic Messages), each through an upstream of the other
//! family and of its own. The fake scripts a tool call (write a file) and then a closing answer;
//! the agent must run the tool — the file appears — and print the answer.
//!
//! The pinned npm packages are installed once under the target directory; a missing `npm` or an
//! unreachable registry fails the test loudly rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use switchboard_load_tests::{Behaviour, FakeProvider, Reply};

use crate::common::{Gateway, KEY};

/// The agents' versions: the ones the request shapes in `agents.rs` were recorded from.
const PACKAGES: &[&str] = &["@openai/codex@0.171.0", "@anthropic-ai/claude-code@2.1.332"];

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Installs the pinned agents once per version list; returns the install prefix.
fn agents() -> PathBuf {
    let prefix = target_dir().join("agent-clis");
    let stamp = prefix.join("installed-packages.txt");
    let wanted = PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return prefix;
    }
    std::fs::create_dir_all(&prefix).expect("agent prefix");
    let output = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(&prefix)
        .args(PACKAGES)
        .output()
        .unwrap_or_else(|error| panic!("npm install: cannot run npm (install Node.js): {error}"));
    assert!(
        output.status.success(),
        "npm install {PACKAGES:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&stamp, wanted).expect("stamp");
    prefix
}

/// The native binary a package ships for this machine (its JS launcher only finds it).
fn binary(prefix: &Path, package: &str, name: &str) -> PathBuf {
    let base = prefix.join("node_modules").join(package);
    let candidates = [
        base.join(format!("../{}-linux-x64/{name}", package_leaf(package))),
        base.join(format!("bin/{name}.exe")),
        base.join(format!("bin/{name}")),
    ];
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| prefix.join("node_modules/.bin").join(name))
}

fn package_leaf(package: &str) -> &str {
    package.rsplit('/').next().unwrap_or(package)
}

fn gateway(fake: &FakeProvider, provider: &str, model: &str) -> Gateway {
    let base_url = match provider {
        "openai" => fake.base_url(),
        _ => format!("http://{}", fake.addr()),
    };
    Gateway::start(&format!(
        r#"
channels:
  - name: upstream
    provider: {provider}
    base_url: "{base_url}"
    api_key: sk-upstream
    models: [{{name: {model}, upstream: upstream-model}}]
roles: [{{name: all, models: ["*"]}}]
api_keys: [{{name: agent, key: {KEY}, role: all}}]
"#
    ))
}

/// Runs a command with a deadline; returns (success, stdout, stderr).
async fn run(mut command: Command, limit: Duration) -> (bool, String, String) {
    let task = tokio::task::spawn_blocking(move || command.output());
    let output = tokio::time::timeout(limit, task)
        .await
        .expect("the agent finished in time")
        .expect("join")
        .expect("the agent runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs the agent and checks the task was done: the tool wrote the file, the closing answer was
/// printed, and each of the two model turns was one upstream request.
async fn finished(
    command: Command,
    work: &Path,
    provider: &str,
    fake: &FakeProvider,
    gateway: &Gateway,
) {
    let (ok, stdout, stderr) = run(command, Duration::from_secs(120)).await;
    let written = std::fs::read_to_string(work.join("proof.txt")).unwrap_or_default();
    assert!(
        ok && written == "switchboard",
        "{provider}: the tool ran ({written:?}):\n{stdout}\n{stderr}\n{}",
        gateway.logs()
    );
    assert!(
        stdout.contains("Wrote proof.txt for you."),
        "{provider}:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        fake.requests().len(),
        2,
        "{provider}: one upstream request per model turn:\n{}",
        gateway.logs()
    );
}

/// The two answers of a one-tool task: write the file, then say so.
fn script(fake: &FakeProvider, tool: &str, arguments: &str) {
    fake.push(Behaviour {
        reply: Reply::ToolCalls(vec![(tool.to_owned(), arguments.to_owned())]),
        ..Behaviour::default()
    });
    fake.push(Behaviour::text("Wrote proof.txt for you."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codex_cli_runs_a_tool_through_the_gateway() {
    let prefix = tokio::task::spawn_blocking(agents).await.expect("install");
    let codex = binary(&prefix, "@openai/codex", "codex");
    for provider in ["anthropic", "openai"] {
        let fake = FakeProvider::start().await;
        let gateway = gateway(&fake, provider, "gpt-5.1-codex");
        script(
            &fake,
            "exec_command",
            r#"{"cmd":"printf switchboard > proof.txt"}"#,
        );
        let work = tempfile::tempdir().expect("workdir");
        let home = tempfile::tempdir().expect("codex home");
        std::fs::write(
            home.path().join("config.toml"),
            format!(
                r#"model = "gpt-5.1-codex"
model_provider = "switchboard"
check_for_update_on_startup = false
[analytics]
enabled = false
[model_providers.switchboard]
name = "Switchboard"
base_url = "{}"
env_key = "SWITCHBOARD_TEST_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
"#,
                gateway.url("/v1")
            ),
        )
        .expect("config.toml");
        let mut command = Command::new(&codex);
        command
            .args([
                "exec",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
                "Write the word switchboard to proof.txt.",
            ])
            .current_dir(work.path())
            .env("CODEX_HOME", home.path())
            .env("SWITCHBOARD_TEST_KEY", KEY)
            .env_remove("OPENAI_API_KEY");
        finished(command, work.path(), provider, &fake, &gateway).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_runs_a_tool_through_the_gateway() {
    let prefix = tokio::task::spawn_blocking(agents).await.expect("install");
    let claude = binary(&prefix, "@anthropic-ai/claude-code", "claude");
    for provider in ["openai", "anthropic"] {
        let fake = FakeProvider::start().await;
        let gateway = gateway(&fake, provider, "claude-opus-5-5");
        script(
            &fake,
            "Bash",
            r#"{"command":"printf switchboard > proof.txt","description":"Write proof.txt"}"#,
        );
        let work = tempfile::tempdir().expect("workdir");
        let home = tempfile::tempdir().expect("home");
        let mut command = Command::new(&claude);
        command
            .args([
                "-p",
                "Write the word switchboard to proof.txt.",
                "--model",
                "claude-opus-5-5",
                "--dangerously-skip-permissions",
            ])
            .current_dir(work.path())
            .env("HOME", home.path())
            .env("ANTHROPIC_BASE_URL", gateway.url(""))
            .env("ANTHROPIC_API_KEY", KEY)
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("IS_SANDBOX", "1");
        finished(command, work.path(), provider, &fake, &gateway).await;
    }
}
