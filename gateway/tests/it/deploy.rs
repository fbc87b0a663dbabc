//! The deployment files cannot be run here (no Docker engine), so they are checked for what
//! can go wrong without one: they parse, every file they mount or copy exists, the config they
//! mount passes `check-config`, and the image runs the binary this crate builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use figment::Figment;
use figment::providers::{Format, Yaml};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

fn yaml(path: &Path) -> Value {
    Figment::from(Yaml::file_exact(path))
        .extract()
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn compose_file_references_existing_files_and_a_valid_config() {
    let root = repo();
    let compose = yaml(&root.join("docker-compose.yaml"));
    let services = compose["services"].as_object().expect("services");
    assert!(services.contains_key("gateway"), "a gateway service");

    for (name, service) in services {
        if let Some(dockerfile) = service["build"]["dockerfile"].as_str() {
            assert!(
                root.join(dockerfile).is_file(),
                "{name}: {dockerfile} missing"
            );
        }
        for volume in service["volumes"].as_array().into_iter().flatten() {
            let spec = volume.as_str().expect("short volume syntax");
            let host = spec.split(':').next().unwrap_or_default();
            if host.starts_with("./") {
                assert!(
                    root.join(host).exists(),
                    "{name}: volume source {host} missing"
                );
            }
        }
    }

    let gateway = &services["gateway"];
    let mounted = gateway["volumes"][0]
        .as_str()
        .and_then(|spec| spec.split(':').next())
        .expect("config volume");
    let listen = gateway["environment"]["SWITCHBOARD_SERVER__LISTEN"]
        .as_str()
        .expect("listen env");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .arg("--config")
        .arg(root.join(mounted))
        .arg("check-config")
        .env("SWITCHBOARD_SERVER__LISTEN", listen)
        .output()
        .expect("run check-config");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let port = listen.rsplit(':').next().unwrap_or_default();
    // Every replica shares state through the compose file's Redis.
    assert_eq!(
        gateway["environment"]["SWITCHBOARD_REDIS_URL"],
        "redis://redis:6379"
    );
    assert!(services.contains_key("redis"));

    // Prometheus finds every replica of the gateway service on its port.
    let prometheus = yaml(&root.join("deploy/prometheus/prometheus.yml"));
    let discovery = &prometheus["scrape_configs"][0]["dns_sd_configs"][0];
    assert_eq!(discovery["names"][0], "gateway");
    assert_eq!(
        discovery["port"]
            .as_u64()
            .map(|port| port.to_string())
            .as_deref(),
        Some(port)
    );

    // The load balancer proxies to the gateway service on its port, from its mounted config.
    let lb = &services["lb"];
    let lb_config = lb["volumes"][0]
        .as_str()
        .and_then(|spec| spec.split(':').next())
        .expect("lb config volume");
    let nginx = std::fs::read_to_string(root.join(lb_config)).expect("lb config");
    assert!(
        nginx.contains(&format!("server gateway:{port};")),
        "{lb_config} proxies to gateway:{port}"
    );
    assert!(nginx.contains("proxy_pass http://gateways;"));
    assert!(
        nginx.contains("proxy_buffering off;"),
        "streams are not buffered"
    );
}

#[test]
fn dockerfile_copies_what_exists_and_runs_the_gateway_binary() {
    let root = repo();
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile")).expect("Dockerfile");
    for line in dockerfile
        .lines()
        .filter(|line| line.starts_with("COPY ") && !line.contains("--from="))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        for source in &parts[1..parts.len() - 1] {
            assert!(root.join(source).exists(), "COPY source {source} missing");
        }
    }
    assert!(dockerfile.contains("cargo build --release --locked -p switchboard-gateway"));
    assert!(dockerfile.contains("/src/target/release/switchboard-gateway"));
    let config = dockerfile
        .lines()
        .find(|line| line.starts_with("COPY gateway/config/"))
        .and_then(|line| line.split_whitespace().nth(1))
        .expect("the image ships a config");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .arg("--config")
        .arg(root.join(config))
        .arg("check-config")
        .output()
        .expect("run check-config");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_readme_configuration_reference_is_a_valid_config() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let block = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in the README");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("readme.yaml");
    std::fs::write(&path, block).expect("write");
    // The reference points `prices.file` at a LiteLLM-format file beside the config.
    std::fs::write(
        dir.path().join("model_prices.json"),
        r#"{"gpt-4o": {"input_cost_per_token": 2.5e-6, "output_cost_per_token": 1e-5}}"#,
    )
    .expect("write prices");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .env("OPENAI_API_KEY", "sk-readme-test")
        .env("AZURE_OPENAI_KEY", "azure-readme-test")
        .env("ANTHROPIC_API_KEY", "sk-ant-readme-test")
        .env("GEMINI_API_KEY", "gemini-readme-test")
        .env("AWS_ACCESS_KEY_ID", "AKIDREADME")
        .env("AWS_SECRET_ACCESS_KEY", "readme-secret")
        .output()
        .expect("run check-config");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("6 channels"));
}
