//! SigV4 for Bedrock Runtime: service `bedrock`, the region of the channel, the body hashed into
//! the signature. The path goes in percent-encoded (`%3A` in model ids) and the signer encodes it
//! once more for the canonical request, as AWS does for every service but S3.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::config::AwsSettings;
use crate::error::{ErrorKind, GatewayError};

/// Adds `x-amz-date`, `authorization` (and `x-amz-security-token`) to `headers`.
pub fn sign_request(
    aws: &AwsSettings,
    url: &reqwest::Url,
    headers: &mut HeaderMap,
    body: &[u8],
) -> Result<(), GatewayError> {
    let failed = |what: String| {
        GatewayError::new(
            ErrorKind::Internal,
            format!("signing the Bedrock request: {what}"),
        )
    };
    let identity = Credentials::new(
        aws.access_key_id.clone(),
        aws.secret_access_key.expose().to_owned(),
        aws.session_token
            .as_ref()
            .map(|token| token.expose().to_owned()),
        None,
        "switchboard-config",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&aws.region)
        .name("bedrock")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|error| failed(error.to_string()))?
        .into();
    let host = url.host_str().map(|host| match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    });
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|value| (name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    if let Some(host) = host {
        signed.push(("host".to_owned(), host));
    }
    let request = SignableRequest::new(
        "POST",
        url.as_str(),
        signed
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|error| failed(error.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|error| failed(error.to_string()))?
        .into_parts();
    for (name, value) in instructions.headers() {
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|error| failed(error.to_string()))?;
        let mut value = HeaderValue::from_str(value).map_err(|error| failed(error.to_string()))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(())
}
