//! Checks a Bedrock request's SigV4 signature the way the AWS front end does, so a gateway that
//! signs the wrong path, the wrong body, the wrong scope or with the wrong secret is refused
//! exactly as Bedrock would refuse it (403, before the body is looked at).
//!
//! Order of checks: an `Authorization` header at all (`AccessDeniedException`, "Authorization
//! header is missing"); a complete `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
//! Signature=…` header and an `x-amz-date` (`IncompleteSignatureException`); the access key
//! (`UnrecognizedClientException`); the credential scope's date, region and service `bedrock`,
//! and a request time within 15 minutes of now (`InvalidSignatureException`); `host` and
//! `x-amz-date` among the signed headers, and `x-amz-security-token` too when one is sent
//! (`IncompleteSignatureException`); finally the signature, recomputed by `canonical.rs` over the
//! received method, path, query, signed headers' values and body (`InvalidSignatureException`,
//! whose message carries the canonical request and string to sign the fake expected, as AWS's
//! does). Any session token is accepted as long as it is signed: the fake has no STS.

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::header::{AUTHORIZATION, HOST};
use hyper::http::request::Parts;

use super::BedrockCredentials;
use super::canonical::{
    ALGORITHM, CanonicalInput, canonical_request, format_amz_date, normalise_value, parse_amz_date,
    signature, string_to_sign,
};
use super::error::Failure;

/// The signing name of Bedrock Runtime (not `bedrock-runtime`).
pub(crate) const SERVICE: &str = "bedrock";

const MAX_SKEW_SECONDS: i64 = 15 * 60;

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

/// Verifies `parts` + `body` against `credentials` at time `now` (see the module doc).
pub(crate) fn verify(
    parts: &Parts,
    body: &[u8],
    credentials: &BedrockCredentials,
    now: SystemTime,
) -> Result<(), Failure> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Err(Failure::missing_authorization());
    };
    let header = String::from_utf8_lossy(header.as_bytes());
    let authorization = parse(&header)?;
    let amz_date = parts
        .headers
        .get("x-amz-date")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .ok_or_else(|| {
            Failure::incomplete_signature(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={header}"
            ))
        })?;
    if authorization.access_key_id != credentials.access_key_id {
        return Err(Failure::unrecognized_client());
    }
    check_scope(&authorization, &amz_date, credentials, now)?;
    check_signed_headers(&authorization, parts)?;
    let headers = signed_values(&authorization, parts)?;
    let canonical = canonical_request(&CanonicalInput {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &headers,
        body,
    });
    let scope = format!(
        "{}/{}/{SERVICE}/aws4_request",
        authorization.date, credentials.region
    );
    let to_sign = string_to_sign(&amz_date, &scope, &canonical);
    let expected = signature(
        &credentials.secret_access_key,
        authorization.date,
        &credentials.region,
        SERVICE,
        &to_sign,
    );
    if expected == authorization.signature {
        return Ok(());
    }
    Err(Failure::invalid_signature(format!(
        "{MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
    )))
}

/// Splits the header into its credential, signed headers and signature.
fn parse(header: &str) -> Result<Authorization<'_>, Failure> {
    if header.starts_with("Bearer ") {
        return Err(Failure::access_denied(
            "The fake Bedrock only accepts SigV4-signed requests (AWS4-HMAC-SHA256); Bedrock API keys (Authorization: Bearer) are not supported.",
        ));
    }
    let Some(parameters) = header
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
    else {
        return Err(Failure::incomplete_signature(format!(
            "Authorization header requires the {ALGORITHM} algorithm. Authorization={header}"
        )));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for parameter in parameters.split(',') {
        match parameter.trim().split_once('=') {
            Some(("Credential", value)) => credential = Some(value),
            Some(("SignedHeaders", value)) => signed_headers = Some(value),
            Some(("Signature", value)) => signature = Some(value),
            _ => {}
        }
    }
    let [credential, signed_headers, signature] =
        [credential, signed_headers, signature].map(|value| value.filter(|v| !v.is_empty()));
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        let mut message = String::new();
        for (name, value) in [
            ("Credential", credential),
            ("Signature", signature),
            ("SignedHeaders", signed_headers),
        ] {
            if value.is_none() {
                message.push_str(&format!(
                    "Authorization header requires '{name}' parameter. "
                ));
            }
        }
        message.push_str(&format!("Authorization={header}"));
        return Err(Failure::incomplete_signature(message));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(Failure::incomplete_signature(format!(
            "Credential should be of the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request, not '{credential}'."
        )));
    };
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// The scope's date, region and service, and the request time.
fn check_scope(
    authorization: &Authorization<'_>,
    amz_date: &str,
    credentials: &BedrockCredentials,
    now: SystemTime,
) -> Result<(), Failure> {
    let Some(signed_at) = parse_amz_date(amz_date) else {
        return Err(Failure::incomplete_signature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    let day = amz_date.get(..8).unwrap_or_default();
    if authorization.date != day {
        return Err(Failure::invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{amz_date}'.",
            authorization.date
        )));
    }
    if authorization.region != credentials.region {
        return Err(Failure::invalid_signature(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            authorization.region
        )));
    }
    if authorization.service != SERVICE {
        return Err(Failure::invalid_signature(format!(
            "Credential should be scoped to correct service: '{SERVICE}'. "
        )));
    }
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
    });
    if signed_at < now - MAX_SKEW_SECONDS {
        return Err(Failure::invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now - MAX_SKEW_SECONDS),
            format_amz_date(now)
        )));
    }
    if signed_at > now + MAX_SKEW_SECONDS {
        return Err(Failure::invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(now + MAX_SKEW_SECONDS),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// `host` and `x-amz-date` must be signed, and so must a session token when one is sent.
fn check_signed_headers(authorization: &Authorization<'_>, parts: &Parts) -> Result<(), Failure> {
    let signed = |name: &str| authorization.signed_headers.contains(&name);
    if !signed("host") {
        return Err(Failure::incomplete_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if !signed("x-amz-date") {
        return Err(Failure::incomplete_signature(
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    if parts.headers.contains_key("x-amz-security-token") && !signed("x-amz-security-token") {
        return Err(Failure::incomplete_signature(
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization when it is sent.",
        ));
    }
    Ok(())
}

/// (name, normalised value) of every signed header, in `SignedHeaders` order. Repeated headers
/// are joined with `,`; `host` falls back to the URI's authority (HTTP/2 sends `:authority`).
fn signed_values(
    authorization: &Authorization<'_>,
    parts: &Parts,
) -> Result<Vec<(String, String)>, Failure> {
    let mut headers = Vec::with_capacity(authorization.signed_headers.len());
    for name in &authorization.signed_headers {
        let values: Vec<String> = parts
            .headers
            .get_all(*name)
            .iter()
            .map(|value| normalise_value(&String::from_utf8_lossy(value.as_bytes())))
            .collect();
        let value = if !values.is_empty() {
            values.join(",")
        } else if *name == HOST.as_str()
            && let Some(authority) = parts.uri.authority()
        {
            authority.as_str().to_owned()
        } else {
            return Err(Failure::invalid_signature(format!(
                "{MISMATCH} The signed header '{name}' is not in the request."
            )));
        };
        headers.push(((*name).to_owned(), value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_complete_header() {
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            parse(header),
            Ok(Authorization {
                access_key_id: "AKID",
                date: "20240101",
                region: "us-east-1",
                service: "bedrock",
                signed_headers: vec!["host", "x-amz-date"],
                signature: "abc",
            })
        );
    }

    #[test]
    fn the_request_time_must_be_within_fifteen_minutes() {
        let authorization = Authorization {
            access_key_id: "AKID",
            date: "20150830",
            region: "us-east-1",
            service: "bedrock",
            signed_headers: vec!["host", "x-amz-date"],
            signature: "abc",
        };
        let credentials = BedrockCredentials::default();
        let at = |amz_date: &str| {
            UNIX_EPOCH
                + std::time::Duration::from_secs(
                    u64::try_from(parse_amz_date(amz_date).unwrap()).unwrap(),
                )
        };
        let check = |amz_date: &str, now: &str| {
            check_scope(&authorization, amz_date, &credentials, at(now))
        };
        assert!(check("20150830T123600Z", "20150830T125000Z").is_ok());
        assert_eq!(
            check("20150830T123600Z", "20150830T130600Z")
                .unwrap_err()
                .message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T125100Z (20150830T130600Z - 15 min.)"
        );
        let early = check("20150830T123600Z", "20150830T120000Z").unwrap_err();
        assert!(early.message.starts_with("Signature not yet current"));
        let other_day = check("20150831T000100Z", "20150831T000100Z").unwrap_err();
        assert!(
            other_day
                .message
                .starts_with("Date in Credential scope does not match")
        );
    }

    #[test]
    fn incomplete_headers_name_what_is_missing() {
        let failure =
            parse("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request")
                .unwrap_err();
        assert_eq!(failure.name, "IncompleteSignatureException");
        assert!(failure.message.contains("requires 'Signature' parameter"));
        assert!(
            failure
                .message
                .contains("requires 'SignedHeaders' parameter")
        );
        let scope =
            parse("AWS4-HMAC-SHA256 Credential=AKID/us-east-1, SignedHeaders=host, Signature=a")
                .unwrap_err();
        assert_eq!(scope.name, "IncompleteSignatureException");
        assert_eq!(
            parse("Bearer key").unwrap_err().name,
            "AccessDeniedException"
        );
        assert_eq!(
            parse("AWS4-HMAC-SHA1 x").unwrap_err().name,
            "IncompleteSignatureException"
        );
    }
}
