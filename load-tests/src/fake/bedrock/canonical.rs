//! The SigV4 algorithm itself, written out from the specification rather than borrowed from
//! `aws-sigv4`, so that the fake checks the gateway's signer against an independent
//! implementation (the tests check both against each other and against AWS's test suite):
//! the canonical request, the string to sign, the signing key and the signature, plus the
//! `x-amz-date` arithmetic the verifier needs.
//!
//! The canonical URI follows the rule for every service except S3: the path *as received*
//! (already percent-encoded once by the client), with dot segments and empty segments removed,
//! then URI-encoded again byte by byte, everything but `A-Z a-z 0-9 - _ . ~ /` becoming `%XX`.
//! So a model id sent as `anthropic.claude-3-5-sonnet-20240620-v1%3A0` is signed as
//! `anthropic.claude-3-5-sonnet-20240620-v1%253A0` — the double encoding `aws-sigv4` performs
//! with its default `PercentEncodingMode::Double`.
//!
//! Which headers are signed and whether the request is acceptable is `sigv4.rs`'s business.

use std::fmt::Write;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What goes into a canonical request, as received.
pub(crate) struct CanonicalInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// (lower-case name, normalised value), in `SignedHeaders` order.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The canonical request, one line per component.
pub(crate) fn canonical_request(input: &CanonicalInput<'_>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(input.method);
    out.push('\n');
    out.push_str(&canonical_uri(input.path));
    out.push('\n');
    out.push_str(&canonical_query(input.query));
    out.push('\n');
    for (name, value) in input.headers {
        let _ = writeln!(out, "{name}:{value}");
    }
    out.push('\n');
    let names: Vec<&str> = input
        .headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    out.push_str(&names.join(";"));
    out.push('\n');
    out.push_str(&sha256_hex(input.body));
    out
}

/// `AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of the canonical request>`.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The hex signature of `string_to_sign` with the key derived from `secret` for the scope
/// `date/region/service/aws4_request`.
pub(crate) fn signature(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let key = hmac(&key, region.as_bytes());
    let key = hmac(&key, service.as_bytes());
    let key = hmac(&key, b"aws4_request");
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this constructor cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Trims a header value and collapses runs of spaces to one, as canonical headers require.
pub(crate) fn normalise_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value
        .trim_matches(' ')
        .split(' ')
        .filter(|word| !word.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The normalised path, URI-encoded again (see the module doc).
pub(crate) fn canonical_uri(path: &str) -> String {
    let normalised = normalise_path(path);
    let mut out = String::with_capacity(normalised.len() + 16);
    for byte in normalised.bytes() {
        if byte == b'/' {
            out.push('/');
        } else {
            push_encoded(&mut out, byte);
        }
    }
    out
}

/// Removes `.`, `..` and empty segments, keeping a trailing slash (RFC 3986 §5.2.4).
fn normalise_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    let trailing = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Query parameters form-decoded, URI-encoded, sorted by key then value, joined with `&`.
fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&form_decode(key)),
                uri_encode(&form_decode(value)),
            )
        })
        .collect();
    pairs.sort();
    let pairs: Vec<String> = pairs
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    pairs.join("&")
}

fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for byte in bytes {
        push_encoded(&mut out, *byte);
    }
    out
}

fn push_encoded(out: &mut String, byte: u8) {
    if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
        out.push(char::from(byte));
    } else {
        let _ = write!(out, "%{byte:02X}");
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte, a stray `%` itself.
fn form_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'%' => bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok()),
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` → seconds since the Unix epoch.
pub(crate) fn parse_amz_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let well_formed = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| matches!(i, 8 | 15) || b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Seconds since the Unix epoch → `YYYYMMDDTHHMMSSZ`.
pub(crate) fn format_amz_date(seconds: i64) -> String {
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";
    const SCOPE: &str = "20150830/us-east-1/service/aws4_request";

    fn headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = extra
            .iter()
            .map(|(name, value)| (name.to_string(), normalise_value(value)))
            .collect();
        headers.push(("host".into(), "example.amazonaws.com".into()));
        headers.push(("x-amz-date".into(), DATE.into()));
        headers.sort();
        headers
    }

    fn sign(method: &str, path: &str, query: Option<&str>, headers: &[(String, String)]) -> String {
        let canonical = canonical_request(&CanonicalInput {
            method,
            path,
            query,
            headers,
            body: b"",
        });
        let to_sign = string_to_sign(DATE, SCOPE, &canonical);
        signature(SECRET, "20150830", "us-east-1", "service", &to_sign)
    }

    /// Vectors from AWS's SigV4 test suite (as shipped with `aws-sigv4`).
    #[test]
    fn aws_test_suite_vectors() {
        assert_eq!(
            sign("GET", "/", None, &headers(&[])),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            sign("POST", "/", Some("Param1=value1"), &headers(&[])),
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        );
        let trimmed = headers(&[("my-header1", " value1"), ("my-header2", "\"a   b   c\"")]);
        assert_eq!(
            sign("GET", "/", None, &trimmed),
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
        );
    }

    #[test]
    fn paths_are_encoded_twice_and_normalised() {
        assert_eq!(
            canonical_uri("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"),
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse"
        );
        assert_eq!(
            canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(canonical_uri("//example//"), "/example/");
        assert_eq!(canonical_uri("/a/./b/../c"), "/a/c");
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn queries_are_sorted_and_reencoded() {
        assert_eq!(canonical_query(Some("b=2&a=x+y&c")), "a=x%20y&b=2&c=");
        assert_eq!(canonical_query(Some("k=%7e%2F")), "k=~%2F");
        assert_eq!(canonical_query(None), "");
    }

    #[test]
    fn dates_round_trip() {
        let seconds = parse_amz_date(DATE).unwrap();
        assert_eq!(seconds, 1_440_938_160);
        assert_eq!(format_amz_date(seconds), DATE);
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        assert_eq!(
            format_amz_date(parse_amz_date("20240229T235959Z").unwrap()),
            "20240229T235959Z"
        );
        assert!(parse_amz_date("2015-08-30T12:36:00Z").is_none());
        assert!(parse_amz_date("20151330T123600Z").is_none());
    }
}
