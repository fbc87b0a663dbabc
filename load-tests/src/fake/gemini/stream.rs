//! The `streamGenerateContent?alt=sse` form of a Gemini answer: the chunk transcript. Pacing,
//! faults and abandonment are the shared body's (`fake/stream.rs`), which counts one chunk as one
//! event.
//!
//! Every event is exactly `data: <GenerateContentResponse JSON>` + `\r\n\r\n`: no `event:` lines,
//! no comments, no `[DONE]`; the stream ends with the body. Google's front end terminates SSE
//! lines with CRLF (observed on Vertex AI; Google's own JS SDKs match `\r\n\r\n` explicitly), and
//! a gateway that splits only on `\n\n` must fail here rather than in production.
//!
//! Chunks, each a partial response carrying only its new parts, `modelVersion` and
//! `responseId`: the thought summary word by word (`thought: true`) when there is one; the text
//! word by word, or all `functionCall` parts whole in one chunk. Every chunk but the last carries
//! `usageMetadata` with `promptTokenCount` only; the last content chunk also carries
//! `finishReason` and the complete usage. An answer without parts (cut to nothing by a
//! stop sequence or `maxOutputTokens`) is one chunk with an empty content.

use std::borrow::Cow;

use bytes::Bytes;

use super::response::{Answer, PartObject, ResponseObject, UsageMetadata, candidates};
use crate::fake::openai::to_vec;
use crate::fake::stream::{Transcript, split_words};

/// Builds the whole transcript up front; the shared body paces it.
pub(crate) fn transcript(answer: &Answer<'_>, model: &str, response_id: &str) -> Transcript {
    let mut chunks: Vec<Vec<PartObject<'_>>> = Vec::new();
    if let Some(thought) = answer.thought {
        for piece in split_words(thought) {
            chunks.push(vec![PartObject::text(Cow::Borrowed(piece), true)]);
        }
    }
    let calls: Vec<PartObject<'_>> = answer
        .parts
        .iter()
        .filter(|part| part.function_call.is_some())
        .cloned()
        .collect();
    if calls.is_empty() {
        for part in &answer.parts {
            let text = part.text.as_deref().unwrap_or_default();
            let pieces = split_words(text);
            if pieces.is_empty() {
                chunks.push(vec![part.clone()]);
            }
            for piece in pieces {
                chunks.push(vec![PartObject::text(Cow::Borrowed(piece), false)]);
            }
        }
    } else {
        chunks.push(calls);
    }
    let first_content = (!chunks.is_empty()).then_some(0);
    if chunks.is_empty() {
        chunks.push(Vec::new());
    }
    let last = chunks.len() - 1;
    let events = chunks
        .iter()
        .enumerate()
        .map(|(index, parts)| {
            let finished = index == last;
            let chunk = ResponseObject {
                candidates: candidates(
                    answer.candidates,
                    parts,
                    finished.then_some(answer.finish_reason),
                ),
                usage_metadata: UsageMetadata::new(&answer.usage, finished),
                model_version: model,
                response_id,
            };
            event(&to_vec(&chunk))
        })
        .collect();
    Transcript {
        events,
        first_content,
    }
}

/// `data: <json>\r\n\r\n`.
fn event(json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 10);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\r\n\r\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::gemini::response::FunctionCall;
    use crate::fake::script::Usage;
    use serde_json::{Value, json};

    fn chunks(transcript: &Transcript) -> Vec<Value> {
        transcript
            .events
            .iter()
            .map(|event| {
                let text = std::str::from_utf8(event).unwrap();
                let json = text.strip_prefix("data: ").unwrap();
                let json = json.strip_suffix("\r\n\r\n").unwrap();
                assert!(!json.contains('\n'));
                serde_json::from_str(json).unwrap()
            })
            .collect()
    }

    fn usage() -> Usage {
        Usage {
            prompt_tokens: 4,
            completion_tokens: 3,
            cached_tokens: 0,
            reasoning_tokens: 0,
        }
    }

    #[test]
    fn text_arrives_word_by_word_and_the_last_chunk_finishes() {
        let answer = Answer {
            thought: Some("Hmm, ok."),
            parts: vec![PartObject::text(Cow::Borrowed("Hello big world"), false)],
            finish_reason: "STOP",
            usage: usage(),
            candidates: 1,
        };
        let transcript = transcript(&answer, "gemini-test", "r1");
        let chunks = chunks(&transcript);
        assert_eq!(transcript.first_content, Some(0));
        assert_eq!(chunks.len(), 5);
        assert_eq!(
            chunks[0]["candidates"][0]["content"]["parts"][0],
            json!({"text": "Hmm,", "thought": true})
        );
        assert_eq!(
            chunks[2]["candidates"][0]["content"]["parts"][0],
            json!({"text": "Hello"})
        );
        for chunk in &chunks[..4] {
            assert!(chunk["candidates"][0].get("finishReason").is_none());
            assert_eq!(chunk["usageMetadata"], json!({"promptTokenCount": 4}));
            assert_eq!(chunk["modelVersion"], "gemini-test");
            assert_eq!(chunk["responseId"], "r1");
        }
        assert_eq!(chunks[4]["candidates"][0]["finishReason"], "STOP");
        assert_eq!(
            chunks[4]["candidates"][0]["content"]["parts"][0]["text"],
            " world"
        );
        assert_eq!(chunks[4]["usageMetadata"]["totalTokenCount"], 7);
    }

    #[test]
    fn function_calls_arrive_whole_in_one_chunk() {
        let call = |name| PartObject {
            text: None,
            thought: None,
            function_call: Some(FunctionCall {
                name,
                args: json!({"city": "Oslo"}),
            }),
            thought_signature: None,
        };
        let answer = Answer {
            thought: None,
            parts: vec![call("a"), call("b")],
            finish_reason: "STOP",
            usage: usage(),
            candidates: 1,
        };
        let chunks = chunks(&transcript(&answer, "m", "r"));
        assert_eq!(chunks.len(), 1);
        let parts = &chunks[0]["candidates"][0]["content"]["parts"];
        assert_eq!(
            parts[1],
            json!({"functionCall": {"name": "b", "args": {"city": "Oslo"}}})
        );
        assert_eq!(chunks[0]["candidates"][0]["finishReason"], "STOP");
    }
}
