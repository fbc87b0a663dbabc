//! Who may call the fake and how: OpenAI's bearer key, Azure's `api-key` header and Azure's
//! mandatory `api-version` query parameter, Anthropic's `x-api-key` (or bearer) key and mandatory
//! `anthropic-version` header, each failing with the error the real service sends.
//!
//! Routing and everything after authentication belong to `handler.rs`.

use hyper::header::{AUTHORIZATION, HeaderMap};

use super::FakeOptions;
use super::script::ErrorReply;

pub(crate) fn bearer_auth(options: &FakeOptions, headers: &HeaderMap) -> Result<(), ErrorReply> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| !key.is_empty());
    let Some(presented) = presented else {
        return Err(ErrorReply::new(
            401,
            "invalid_request_error",
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ));
    };
    match &options.api_key {
        Some(expected) if expected != presented => Err(ErrorReply::new(
            401,
            "invalid_request_error",
            &format!(
                "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                mask(presented)
            ),
        )
        .with_code("invalid_api_key")),
        _ => Ok(()),
    }
}

pub(crate) fn azure_auth(options: &FakeOptions, headers: &HeaderMap) -> Result<(), ErrorReply> {
    let presented = headers
        .get("api-key")
        .and_then(|value| value.to_str().ok())
        .filter(|key| !key.is_empty());
    let valid = match (&options.api_key, presented) {
        (_, None) => false,
        (Some(expected), Some(presented)) => expected == presented,
        (None, Some(_)) => true,
    };
    if valid {
        return Ok(());
    }
    Err(ErrorReply::new(
        401,
        "invalid_request_error",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
    )
    .with_code("401"))
}

/// Azure's dated API needs `api-version=YYYY-MM-DD` or `YYYY-MM-DD-preview`.
pub(crate) fn azure_api_version(query: Option<&str>) -> Result<(), ErrorReply> {
    let version = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("api-version="));
    let Some(version) = version else {
        return Err(ErrorReply::new(
            400,
            "invalid_request_error",
            "Missing required query parameter: api-version.",
        )
        .with_code("BadRequest"));
    };
    let date = version.strip_suffix("-preview").unwrap_or(version);
    let well_formed = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if well_formed {
        return Ok(());
    }
    Err(
        ErrorReply::new(400, "invalid_request_error", "API version not supported")
            .with_code("BadRequest"),
    )
}

/// Anthropic accepts `x-api-key: <key>` (what its SDK sends) or `Authorization: Bearer <key>`.
pub(crate) fn anthropic_auth(options: &FakeOptions, headers: &HeaderMap) -> Result<(), ErrorReply> {
    fn non_empty(key: &str) -> Option<&str> {
        Some(key.trim()).filter(|key| !key.is_empty())
    }
    let presented = headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .and_then(non_empty)
        .or_else(|| {
            headers
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .and_then(non_empty)
        });
    let message = match (&options.api_key, presented) {
        (_, None) => "x-api-key header is required",
        (Some(expected), Some(presented)) if expected != presented => "invalid x-api-key",
        _ => return Ok(()),
    };
    Err(ErrorReply::new(401, "authentication_error", message))
}

/// The versions of the Messages API that exist; `2023-06-01` is the one every SDK sends.
const ANTHROPIC_VERSIONS: &[&str] = &["2023-06-01", "2023-01-01"];

pub(crate) fn anthropic_version(headers: &HeaderMap) -> Result<(), ErrorReply> {
    let Some(version) = headers.get("anthropic-version") else {
        return Err(ErrorReply::new(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ));
    };
    let version = String::from_utf8_lossy(version.as_bytes());
    if ANTHROPIC_VERSIONS.contains(&version.as_ref()) {
        return Ok(());
    }
    Err(ErrorReply::new(
        400,
        "invalid_request_error",
        &format!("anthropic-version: \"{version}\" is not a valid version"),
    ))
}

/// `sk-abcdefghijkl` → `sk-********ijkl`, the way OpenAI echoes a wrong key.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_api_versions() {
        assert!(azure_api_version(Some("api-version=2024-10-21")).is_ok());
        assert!(azure_api_version(Some("x=1&api-version=2025-04-01-preview")).is_ok());
        assert!(azure_api_version(Some("api-version=latest")).is_err());
        assert!(azure_api_version(None).is_err());
    }

    #[test]
    fn anthropic_keys_and_versions() {
        let options = FakeOptions {
            api_key: Some("sk-ant".to_owned()),
            models: Vec::new(),
        };
        let mut headers = HeaderMap::new();
        assert_eq!(
            anthropic_auth(&options, &headers).map_err(|e| e.message),
            Err("x-api-key header is required".to_owned())
        );
        headers.insert("x-api-key", "wrong".parse().unwrap());
        assert_eq!(anthropic_auth(&options, &headers).unwrap_err().status, 401);
        headers.insert("x-api-key", "sk-ant".parse().unwrap());
        assert!(anthropic_auth(&options, &headers).is_ok());
        let mut bearer = HeaderMap::new();
        bearer.insert(AUTHORIZATION, "Bearer sk-ant".parse().unwrap());
        assert!(anthropic_auth(&options, &bearer).is_ok());

        assert!(anthropic_version(&HeaderMap::new()).is_err());
        let mut versioned = HeaderMap::new();
        versioned.insert("anthropic-version", "2023-06-01".parse().unwrap());
        assert!(anthropic_version(&versioned).is_ok());
        versioned.insert("anthropic-version", "2099-01-01".parse().unwrap());
        assert!(anthropic_version(&versioned).is_err());
    }

    #[test]
    fn keys_are_masked_like_openai() {
        assert_eq!(mask("sk-abcdefghijkl"), "sk-********ijkl");
        assert_eq!(mask("short"), "*****");
    }
}
