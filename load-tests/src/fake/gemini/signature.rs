//! The `thoughtSignature`s the fake puts on the first `functionCall` part of a thinking answer,
//! the register of signatures it has handed out, and the check a later request's history must
//! pass. Also the base64 codec the proto-JSON `bytes` fields need.
//!
//! Real signatures are opaque encrypted blobs; the fake's only need to be deterministic, valid
//! base64 (the field is `bytes` in the proto) and checkable, so a test can tell "echoed back
//! unmodified" from "dropped", "moved to another call" or "made up". The scheme:
//!
//! `base64("fake-thought:" + hex16(FNV-1a-64(name + "\n" + canonical_json(args))))`
//!
//! (standard alphabet, padded; canonical JSON = compact, object keys sorted at every level, so a
//! gateway may re-serialize `args` in another key order). It is not a security mechanism.
//!
//! What the fake accepts on a history `functionCall` part, given the signatures it issued:
//! exactly its own signature when it issued one for that call (a missing one is refused with
//! Gemini's "Function call is missing a thought_signature" message; a different one — including
//! Google's documented placeholder `skip_thought_signature_validator` — with "Invalid thought
//! signature." or, when it is not one of the fake's at all, "Corrupted thought signature.");
//! for a call it never signed, no signature or the placeholder. Other parts may carry only the
//! placeholder.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::fake::anthropic::signature::fnv1a;

/// The value Google documents for history whose real signatures were lost.
pub(crate) const PLACEHOLDER: &str = "skip_thought_signature_validator";

const PREFIX: &str = "fake-thought:";

/// The signature the fake gives a `functionCall` part calling `name` with `args` (see the module
/// doc). `args` is the call's JSON object; `Value::Null` stands for absent args and signs like
/// `{}`.
pub fn gemini_thought_signature(name: &str, args: &Value) -> String {
    let mut text = String::with_capacity(name.len() + 32);
    text.push_str(name);
    text.push('\n');
    match args {
        Value::Null => text.push_str("{}"),
        args => canonical(args, &mut text),
    }
    let hash = fnv1a(text.as_bytes());
    encode(format!("{PREFIX}{hash:016x}").as_bytes())
}

/// Compact JSON with object keys sorted, independent of serde_json's `preserve_order`.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Every signature the fake has put on a response, so a later request can be held to it.
#[derive(Debug, Default)]
pub(crate) struct Issued {
    signatures: Mutex<HashSet<String>>,
}

impl Issued {
    pub(crate) fn insert(&self, signature: String) {
        self.lock().insert(signature);
    }

    pub(crate) fn contains(&self, signature: &str) -> bool {
        self.lock().contains(signature)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.signatures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What is wrong with a signature found on a history part.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The fake signed this call and the part carries no signature.
    Missing,
    /// A well-formed fake signature, but not this part's (or the placeholder where the fake's own
    /// signature is required).
    Invalid,
    /// Not a signature the fake could have made.
    Corrupted,
}

/// Checks the signature `found` on a part; `expected` is the signature the part would have if it
/// is a function call (`None` for other parts).
pub(crate) fn check(
    found: Option<&str>,
    expected: Option<&str>,
    issued: &Issued,
) -> Result<(), Problem> {
    let required = expected.filter(|expected| issued.contains(expected));
    match (found, required) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(Problem::Missing),
        (Some(found), Some(required)) if found == required => Ok(()),
        (Some(PLACEHOLDER), None) => Ok(()),
        (Some(found), _) if expected == Some(found) => Ok(()),
        (Some(found), _) if is_fake(found) || found == PLACEHOLDER => Err(Problem::Invalid),
        (Some(_), _) => Err(Problem::Corrupted),
    }
}

/// Whether `signature` decodes to something of the fake's shape.
fn is_fake(signature: &str) -> bool {
    decode(signature).is_some_and(|bytes| {
        bytes
            .strip_prefix(PREFIX.as_bytes())
            .is_some_and(|hex| hex.len() == 16 && hex.iter().all(u8::is_ascii_hexdigit))
    })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (i, byte)| {
            word | (u32::from(*byte) << (16 - 8 * i))
        });
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (word >> (18 - 6 * i)) & 0x3f;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes base64 the way proto3 JSON reads `bytes`: the standard or the URL-safe alphabet,
/// padding optional. `None` when it is not base64.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let body = text.strip_suffix("==").or_else(|| text.strip_suffix('='));
    let body = body.unwrap_or(text);
    if body.len() % 4 == 1 || (body.len() != text.len() && !text.len().is_multiple_of(4)) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in body.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_round_trips() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let encoded = encode(text.as_bytes());
            assert_eq!(decode(&encoded).as_deref(), Some(text.as_bytes()));
        }
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(decode("Zm8").as_deref(), Some(&b"fo"[..]));
        assert!(
            decode(PLACEHOLDER).is_some(),
            "the placeholder is URL-safe base64"
        );
        assert!(decode("not base64!").is_none());
        assert!(decode("Zm9vY").is_none());
    }

    #[test]
    fn signatures_ignore_key_order_and_whitespace() {
        let a = gemini_thought_signature("f", &json!({"b": 1, "a": {"y": [1, 2], "x": "s"}}));
        let b = gemini_thought_signature("f", &json!({"a": {"x": "s", "y": [1, 2]}, "b": 1}));
        assert_eq!(a, b);
        assert_ne!(a, gemini_thought_signature("g", &json!({"b": 1})));
        assert_eq!(
            gemini_thought_signature("f", &Value::Null),
            gemini_thought_signature("f", &json!({}))
        );
        assert!(is_fake(&a));
    }

    #[test]
    fn checks_follow_what_was_issued() {
        let issued = Issued::default();
        let signed = gemini_thought_signature("f", &json!({"a": 1}));
        let other = gemini_thought_signature("g", &json!({}));
        assert_eq!(check(None, Some(&signed), &issued), Ok(()));
        assert_eq!(check(Some(PLACEHOLDER), Some(&signed), &issued), Ok(()));
        issued.insert(signed.clone());
        assert_eq!(check(Some(&signed), Some(&signed), &issued), Ok(()));
        assert_eq!(check(None, Some(&signed), &issued), Err(Problem::Missing));
        assert_eq!(
            check(Some(&other), Some(&signed), &issued),
            Err(Problem::Invalid)
        );
        assert_eq!(
            check(Some(PLACEHOLDER), Some(&signed), &issued),
            Err(Problem::Invalid)
        );
        assert_eq!(
            check(Some("c2lnbmF0dXJl"), Some(&signed), &issued),
            Err(Problem::Corrupted)
        );
        assert_eq!(check(Some(&other), None, &issued), Err(Problem::Invalid));
    }
}
