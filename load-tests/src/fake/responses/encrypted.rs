//! The `encrypted_content` the fake puts on reasoning items when a request includes
//! `reasoning.encrypted_content`, and the check it passes when it comes back in `input`.
//!
//! Real encrypted content is an opaque, server-encrypted blob that lets a stateless client
//! (`store: false`) hand the model's reasoning back on the next turn. The fake's only needs to be
//! opaque-looking, self-contained (no server state, like the real one) and checkable, so a test
//! can tell "echoed back unmodified" from "edited", "moved to another item" or "made up":
//!
//! `base64("fake-rs:v1\n" + item_id + "\n" + hex16(FNV-1a-64(KEY + "\n" + item_id + "\n" +
//! reasoning)) + "\n" + reasoning)`
//!
//! where `KEY` is a constant only this module knows and `reasoning` is the reasoning text the
//! item stands for. A token verifies when it decodes to that shape, its hash matches, and (when
//! the item carries an `id`) it names that id. It is not a security mechanism.

use crate::fake::anthropic::signature::fnv1a;
use crate::fake::gemini::{base64_decode as decode, base64_encode as encode};

const PREFIX: &str = "fake-rs:v1";
const KEY: &str = "switchboard fake responses reasoning key";

/// The `encrypted_content` the fake gives the reasoning item `item_id` whose reasoning is
/// `reasoning` (see the module doc). Tests use it to build reasoning items the fake accepts.
pub fn responses_encrypted_content(item_id: &str, reasoning: &str) -> String {
    let mut plain = String::with_capacity(PREFIX.len() + item_id.len() + reasoning.len() + 20);
    plain.push_str(PREFIX);
    plain.push('\n');
    plain.push_str(item_id);
    plain.push('\n');
    plain.push_str(&format!("{:016x}", seal(item_id, reasoning)));
    plain.push('\n');
    plain.push_str(reasoning);
    encode(plain.as_bytes())
}

fn seal(item_id: &str, reasoning: &str) -> u64 {
    let text = format!("{KEY}\n{item_id}\n{reasoning}");
    fnv1a(text.as_bytes())
}

/// The item id a token was minted for, when it is one of the fake's and untouched.
pub(crate) fn verified_item(token: &str) -> Option<String> {
    let (item_id, hash, reasoning) = open(token)?;
    let sealed = u64::from_str_radix(&hash, 16).ok()?;
    (hash.len() == 16 && sealed == seal(&item_id, &reasoning)).then_some(item_id)
}

/// The item id a token says it was minted for, verified or not: what an error names.
pub(crate) fn claimed_item(token: &str) -> Option<String> {
    open(token).map(|(item_id, _, _)| item_id)
}

/// (item id, hash, reasoning) of a token of the fake's shape.
fn open(token: &str) -> Option<(String, String, String)> {
    let plain = String::from_utf8(decode(token)?).ok()?;
    let mut parts = plain.splitn(4, '\n');
    if parts.next()? != PREFIX {
        return None;
    }
    let (item_id, hash, reasoning) = (parts.next()?, parts.next()?, parts.next()?);
    Some((item_id.to_owned(), hash.to_owned(), reasoning.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_for_their_item_only() {
        let token = responses_encrypted_content("rs_1", "Let me think.\nMore.");
        assert_eq!(verified_item(&token).as_deref(), Some("rs_1"));
        let other = responses_encrypted_content("rs_2", "Let me think.\nMore.");
        assert_ne!(token, other);
        assert_eq!(verified_item(&other).as_deref(), Some("rs_2"));
    }

    #[test]
    fn edits_and_forgeries_do_not_verify() {
        let token = responses_encrypted_content("rs_1", "Let me think.");
        let mut edited = token.clone();
        edited.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
        assert_eq!(verified_item(&edited), None);
        let forged = encode(b"fake-rs:v1\nrs_1\n0000000000000000\nLet me think.");
        assert_eq!(verified_item(&forged), None);
        assert_eq!(claimed_item(&forged).as_deref(), Some("rs_1"));
        assert_eq!(verified_item("gAAAAABnotours"), None);
        assert_eq!(verified_item(""), None);
    }
}
