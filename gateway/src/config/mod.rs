//! Configuration: the YAML schema, loading with environment overrides, and compilation into the
//! runtime [`Snapshot`] that the request path reads through `arc-swap`.

mod compile;
mod load;
pub mod schema;
mod snapshot;

pub use compile::{EnvLookup, ProcessEnv, compile, hash_key};
pub use load::load_file;
pub use snapshot::{
    AwsSettings, Channel, ChannelTimeouts, MockSettings, Route, RoutingSettings, Rule, Secret,
    ServerSettings, Snapshot,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {file}: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("invalid config in {file}: {field}: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::schema::ConfigFile;
    use super::*;
    use std::collections::HashMap;

    struct FakeEnv(HashMap<&'static str, &'static str>);

    impl EnvLookup for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|value| (*value).to_owned())
        }
    }

    fn parse(yaml: &str) -> ConfigFile {
        use figment::providers::Format;
        figment::Figment::from(figment::providers::Yaml::string(yaml))
            .extract()
            .expect("valid yaml")
    }

    fn compile_err(yaml: &str) -> String {
        let env = FakeEnv(HashMap::from([("UPSTREAM_KEY", "sk-upstream")]));
        match compile(&parse(yaml), "test.yaml", &env) {
            Ok(_) => panic!("expected an error for:\n{yaml}"),
            Err(error) => error.to_string(),
        }
    }

    const GOOD: &str = r#"
channels:
  - name: primary
    provider: openai
    base_url: http://127.0.0.1:9/v1
    api_key: ${UPSTREAM_KEY}
    models: [gpt-4o, {name: small, upstream: gpt-4o-mini}]
  - name: local
    provider: mock
    models: [small]
aliases:
  fast: small
roles:
  - name: dev
    models: ["gpt-*", small]
api_keys:
  - name: alice
    key: sk-alice-123456
    role: dev
    metadata: {tenant: acme}
"#;

    #[test]
    fn good_config_compiles_into_routes_aliases_and_hashed_keys() {
        let env = FakeEnv(HashMap::from([("UPSTREAM_KEY", "sk-upstream")]));
        let snapshot = compile(&parse(GOOD), "test.yaml", &env).expect("compiles");
        assert_eq!(snapshot.routes["small"].len(), 2);
        assert_eq!(&*snapshot.routes["small"][0].upstream_model, "gpt-4o-mini");
        assert_eq!(snapshot.resolve_model("fast"), "small");
        assert_eq!(
            snapshot.channels[0].credential.as_ref().map(Secret::expose),
            Some("sk-upstream")
        );
        let principal = &snapshot.principals[&hash_key("sk-alice-123456")];
        assert_eq!(principal.key_name, "alice");
        assert_eq!(snapshot.model_names, ["fast", "gpt-4o", "small"]);
        let summary = snapshot.summary();
        assert!(summary.contains("2 channels"), "{summary}");
        assert!(
            !summary.contains("sk-"),
            "summary leaks a secret: {summary}"
        );
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "api_key: ${UPSTREAM_KEY}",
                "api_key: ${MISSING_VAR}",
                "channels[0].api_key: environment variable `MISSING_VAR` is not set",
            ),
            (
                "base_url: http://127.0.0.1:9/v1",
                "base_url: not a url",
                "channels[0].base_url",
            ),
            (
                "fast: small",
                "fast: nothing",
                "aliases.fast: target model `nothing`",
            ),
            (
                "    role: dev",
                "    role: admin",
                "api_keys[0].role: role `admin` is not defined",
            ),
            (
                "key: sk-alice-123456",
                "key: short",
                "api_keys[0].key: API keys must be at least 8",
            ),
            (
                "name: local",
                "name: primary",
                "channels[1].name: duplicate channel name",
            ),
        ];
        for (from, to, expected) in cases {
            let yaml = GOOD.replacen(from, to, 1);
            let error = compile_err(&yaml);
            assert!(
                error.contains(expected),
                "expected `{expected}` in `{error}`"
            );
            assert!(error.contains("test.yaml"), "{error}");
        }
    }

    #[test]
    fn no_channels_is_an_error() {
        assert!(compile_err("roles: []").contains("channels: at least one channel"));
    }
}
