//! The signatures the fake puts on its `thinking` blocks, and checks when they come back.
//!
//! Real signatures are opaque and cryptographic; the fake's only need to be deterministic and
//! checkable, so a test can tell "echoed back unmodified" from "edited, re-ordered or made up":
//! `sig_` followed by the 16 lowercase hex digits of the 64-bit FNV-1a hash of the thinking
//! text's UTF-8 bytes. Changing one character of the text (or of the signature) makes the pair
//! fail, which is all a gateway test needs. It is not a security mechanism.

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The signature the fake gives a thinking block whose text is `thinking`:
/// `sig_` + hex(FNV-1a-64(thinking)).
pub fn thinking_signature(thinking: &str) -> String {
    format!("sig_{:016x}", fnv1a(thinking.as_bytes()))
}

/// The 64-bit FNV-1a hash of `bytes`; the Gemini side signs with it too.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_fnv1a_of_the_text() {
        // FNV-1a-64 test vectors: "" and "a".
        assert_eq!(thinking_signature(""), "sig_cbf29ce484222325");
        assert_eq!(thinking_signature("a"), "sig_af63dc4c8601ec8c");
        assert_ne!(
            thinking_signature("Let me think."),
            thinking_signature("Let me think!")
        );
    }
}
