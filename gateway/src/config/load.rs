//! Reading a configuration file: YAML through figment, then `SWITCHBOARD_*` environment overrides.
//!
//! Every field can be overridden from the environment: the variable name is the field's path in
//! upper case, segments joined by `__`, list entries addressed by their index — for example
//! `SWITCHBOARD_SERVER__LISTEN=0.0.0.0:9000` or `SWITCHBOARD_CHANNELS__0__BASE_URL=http://…`.
//! figment's own `Env` provider cannot index into lists, so the overrides are applied here on the
//! parsed document before it is deserialized. Variables whose first segment is not a top-level
//! section (`SWITCHBOARD_BENCH_UPSTREAM`, say) are left alone: they are for `${VAR}` references.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Yaml};
use figment::value::{Dict, Value};

use super::ConfigError;
use super::schema::ConfigFile;

const ENV_PREFIX: &str = "SWITCHBOARD_";
const SECTIONS: &[&str] = &[
    "server",
    "channels",
    "aliases",
    "routing",
    "rules",
    "roles",
    "api_keys",
    "tenants",
    "model_limits",
    "state",
    "prices",
    "budgets",
    "log",
    "unsupported",
];

/// Loads the file, applies the given environment overrides, and deserializes it.
pub fn load_file(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<ConfigFile, ConfigError> {
    let file = path.display().to_string();
    if !path.is_file() {
        return Err(ConfigError::Unreadable {
            file,
            reason: "no such file".to_owned(),
        });
    }
    let mut document: Dict = Figment::from(Yaml::file_exact(path))
        .extract()
        .map_err(|error| figment_error(&file, error))?;
    for (name, value) in env {
        apply_override(&mut document, &name, &value).map_err(|message| ConfigError::Invalid {
            file: file.clone(),
            field: name.clone(),
            message,
        })?;
    }
    Figment::from(Serialized::defaults(document))
        .extract()
        .map_err(|error| figment_error(&file, error))
}

fn figment_error(file: &str, error: figment::Error) -> ConfigError {
    let error = error.into_iter().next();
    match error {
        Some(error) => ConfigError::Invalid {
            file: file.to_owned(),
            field: if error.path.is_empty() {
                "(top level)".to_owned()
            } else {
                error.path.join(".")
            },
            message: error.kind.to_string(),
        },
        None => ConfigError::Unreadable {
            file: file.to_owned(),
            reason: "unknown figment error".to_owned(),
        },
    }
}

/// Sets `SWITCHBOARD_A__B__0__C=value` at `a.b[0].c`; other variables are ignored.
fn apply_override(document: &mut Dict, name: &str, raw: &str) -> Result<(), String> {
    let Some(path) = name.strip_prefix(ENV_PREFIX) else {
        return Ok(());
    };
    let segments: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
    let Some((first, rest)) = segments.split_first() else {
        return Ok(());
    };
    if !SECTIONS.contains(&first.as_str()) {
        return Ok(());
    }
    let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.to_owned()));
    let slot = document
        .entry(first.clone())
        .or_insert_with(|| Value::from(Dict::new()));
    set_path(slot, rest, value, first)
}

fn set_path(slot: &mut Value, path: &[String], value: Value, at: &str) -> Result<(), String> {
    let Some((segment, rest)) = path.split_first() else {
        *slot = value;
        return Ok(());
    };
    let here = format!("{at}.{segment}");
    match slot {
        Value::Dict(_, dict) => {
            let child = dict
                .entry(segment.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            set_path(child, rest, value, &here)
        }
        Value::Array(_, items) => {
            let index: usize = segment
                .parse()
                .map_err(|_| format!("`{at}` is a list: address its entries by index"))?;
            let len = items.len();
            let child = items
                .get_mut(index)
                .ok_or_else(|| format!("`{at}` has {len} entries, there is no entry {index}"))?;
            set_path(child, rest, value, &here)
        }
        _ => Err(format!(
            "`{at}` is a single value and has no field `{segment}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(contents: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(contents.as_bytes()).expect("write");
        file
    }

    const BASE: &str = "server:\n  listen: 127.0.0.1:1\nchannels:\n  - name: a\n    provider: mock\n    models: [m]\n";

    #[test]
    fn env_overrides_reach_list_entries_and_nested_fields() {
        let file = write(BASE);
        let env = [
            (
                "SWITCHBOARD_SERVER__LISTEN".to_owned(),
                "0.0.0.0:9".to_owned(),
            ),
            ("SWITCHBOARD_CHANNELS__0__WEIGHT".to_owned(), "7".to_owned()),
            (
                "SWITCHBOARD_BENCH_UPSTREAM".to_owned(),
                "ignored".to_owned(),
            ),
        ];
        let config = load_file(file.path(), env).expect("loads");
        assert_eq!(config.server.listen, "0.0.0.0:9");
        assert_eq!(config.channels[0].weight, 7);
    }

    #[test]
    fn env_override_out_of_range_names_the_variable() {
        let file = write(BASE);
        let env = [("SWITCHBOARD_CHANNELS__3__WEIGHT".to_owned(), "7".to_owned())];
        let error = load_file(file.path(), env)
            .expect_err("must fail")
            .to_string();
        assert!(error.contains("SWITCHBOARD_CHANNELS__3__WEIGHT"), "{error}");
        assert!(error.contains("has 1 entries"), "{error}");
    }

    #[test]
    fn unknown_field_is_named_with_its_path() {
        let file =
            write("channels:\n  - name: a\n    provider: mock\n    models: [m]\n    wieght: 3\n");
        let error = load_file(file.path(), [])
            .expect_err("must fail")
            .to_string();
        assert!(error.contains("channels.0"), "{error}");
        assert!(error.contains("wieght"), "{error}");
    }

    #[test]
    fn missing_file_is_an_error_not_an_empty_config() {
        let error = load_file(Path::new("/nonexistent/switchboard.yaml"), [])
            .expect_err("must fail")
            .to_string();
        assert!(error.contains("/nonexistent/switchboard.yaml"), "{error}");
    }
}
