//! Runs the Python SDK suite in `gateway/tests/sdk/` with the official `openai`, `anthropic` and
//! `google-genai` packages against the real gateway and the fake provider. The virtualenv lives
//! under the target directory and is created on first use; a missing Python or an unreachable
//! package index fails the test loudly rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard_load_tests::FakeProvider;

use crate::common::{Gateway, KEY, config};

fn target_dir() -> PathBuf {
    // target/<profile>/switchboard-gateway → target/
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-gateway"));
    binary
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: cannot run: {error}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Creates the venv and installs the pinned requirements once per requirements file version.
fn python_env(suite: &Path) -> PathBuf {
    let venv = target_dir().join("sdk-venv");
    let python = venv.join("bin/python");
    let requirements = suite.join("requirements.txt");
    let stamp = venv.join("installed-requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return python;
    }
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (install python3-venv)",
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "pip install -r gateway/tests/sdk/requirements.txt",
    );
    std::fs::write(&stamp, wanted).expect("stamp");
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_suites_pass() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    let python = tokio::task::spawn_blocking({
        let suite = suite.clone();
        move || python_env(&suite)
    })
    .await
    .expect("venv");
    let fake = FakeProvider::start().await;
    // A mock channel serves embeddings (the fake provider speaks chat only).
    let embeddings = "  - name: local\n    provider: mock\n    models: [embed-model]\n";
    let gateway = Gateway::start(&config(&fake.base_url(), embeddings));

    let mut pytest = Command::new(python);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&suite)
        .env("SWITCHBOARD_BASE_URL", gateway.url("/v1"))
        .env("SWITCHBOARD_API_KEY", KEY)
        .env("SWITCHBOARD_MODEL", "gpt-test");
    let output = tokio::task::spawn_blocking(move || pytest.output())
        .await
        .expect("join")
        .expect("pytest runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the SDK suite failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "pytest ran no test:\n{stdout}");
    assert!(
        !fake.requests().is_empty(),
        "the SDK calls reached the upstream through the gateway"
    );
}
