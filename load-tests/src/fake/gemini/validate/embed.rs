//! Strict validation of Gemini's `EmbedContentRequest` (`:embedContent`) and
//! `BatchEmbedContentsRequest` (`:batchEmbedContents`) bodies: unknown fields under either
//! spelling, wrong types, a batch of 1 to 100 requests each naming `models/<the URL's model>`,
//! text-only contents, a known `taskType` and an `outputDimensionality` of 1 to 3072.

use serde_json::Value;

use super::content::PART;
use super::proto::{Invalid, Message, enumeration, field, integer, list, message, string};
use super::root_message;
use crate::fake::embeddings::{DEFAULT_DIMENSIONS, MAX_DIMENSIONS};
use crate::fake::validate::Path;

const EMBED: &[&str] = &[
    "model",
    "content",
    "task_type",
    "title",
    "output_dimensionality",
];

const TASK_TYPES: &[&str] = &[
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
];

/// Most requests one batch may carry.
const MAX_BATCH: usize = 100;

/// What one valid embed request asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EmbedRequest {
    /// The texts of its parts, concatenated.
    pub text: String,
    pub dimensions: usize,
}

/// Validates an `EmbedContentRequest` for the URL's `model`; its own `model` is optional.
pub(crate) fn embed_content(body: &Value, model: &str) -> Result<EmbedRequest, Invalid> {
    let fields = root_message(body, "EmbedContentRequest", EMBED)?;
    one(Path::Root(""), fields, model, false)
}

/// Validates a `BatchEmbedContentsRequest` for the URL's `model`.
pub(crate) fn batch_embed(body: &Value, model: &str) -> Result<Vec<EmbedRequest>, Invalid> {
    let root = Path::Root("");
    let fields = root_message(body, "BatchEmbedContentsRequest", &["requests"])?;
    let at = root.key("requests");
    let requests = match fields.get("requests") {
        Some(value) => list(at, value, "EmbedContentRequest")?,
        None => &[],
    };
    if requests.is_empty() {
        return Err(field(at, "requests is not specified"));
    }
    if requests.len() > MAX_BATCH {
        return Err(field(
            at,
            format!("at most {MAX_BATCH} requests can be in one batch"),
        ));
    }
    requests
        .iter()
        .enumerate()
        .map(|(index, request)| {
            let at = at.index(index);
            let fields = message(at, request, "EmbedContentRequest", EMBED)?;
            one(at, fields, model, true)
        })
        .collect()
}

fn one(
    at: Path<'_>,
    fields: Message<'_>,
    model: &str,
    needs_model: bool,
) -> Result<EmbedRequest, Invalid> {
    let model_at = at.key("model");
    match fields.get("model") {
        Some(value) => {
            let named = string(model_at, value)?;
            let expected = format!("models/{model}");
            if named != expected {
                return Err(field(
                    model_at,
                    format!("model {named} does not match the model in the URL, {expected}."),
                ));
            }
        }
        None if needs_model => return Err(field(model_at, "model is required.")),
        None => {}
    }
    let text = content(at.key("content"), fields.get("content"))?;
    if let Some(task) = fields.get("task_type") {
        enumeration(at.key("task_type"), task, "TaskType", TASK_TYPES)?;
    }
    if let Some(title) = fields.get("title") {
        string(at.key("title"), title)?;
    }
    let dimensions_at = at.key("output_dimensionality");
    let dimensions = match fields.get("output_dimensionality") {
        Some(value) => {
            let asked = integer(dimensions_at, value, "TYPE_INT32")?;
            usize::try_from(asked)
                .ok()
                .filter(|asked| (1..=MAX_DIMENSIONS).contains(asked))
                .ok_or_else(|| {
                    field(
                        dimensions_at,
                        format!(
                            "output_dimensionality must be between 1 and {MAX_DIMENSIONS}, got {asked}."
                        ),
                    )
                })?
        }
        None => DEFAULT_DIMENSIONS,
    };
    Ok(EmbedRequest { text, dimensions })
}

/// A `Content` of text parts only; returns their texts concatenated.
fn content(at: Path<'_>, value: Option<&Value>) -> Result<String, Invalid> {
    let Some(value) = value else {
        return Err(field(at, "content is not specified"));
    };
    let content = message(at, value, "Content", &["role", "parts"])?;
    if let Some(role) = content.get("role") {
        string(at.key("role"), role)?;
    }
    let parts_at = at.key("parts");
    let parts = match content.get("parts") {
        Some(parts) => list(parts_at, parts, "Part")?,
        None => &[],
    };
    if parts.is_empty() {
        return Err(field(parts_at, "parts must not be empty"));
    }
    let mut text = String::new();
    for (index, part) in parts.iter().enumerate() {
        let part_at = parts_at.index(index);
        let part = message(part_at, part, "Part", PART)?;
        let Some(value) = part.get("text") else {
            return Err(field(part_at, "only text parts can be embedded"));
        };
        text.push_str(string(part_at.key("text"), value)?);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(text: &str) -> Value {
        json!({"parts": [{"text": text}]})
    }

    #[test]
    fn both_spellings_are_read() {
        let single = json!({"content": texts("hi"), "outputDimensionality": 4,
                            "taskType": "retrieval_query"});
        assert_eq!(
            embed_content(&single, "e").unwrap(),
            EmbedRequest {
                text: "hi".into(),
                dimensions: 4
            }
        );
        let batch = json!({"requests": [
            {"model": "models/e", "content": texts("a")},
            {"model": "models/e", "content": {"parts": [{"text": "b"}, {"text": "c"}]},
             "output_dimensionality": "2", "task_type": "RETRIEVAL_DOCUMENT", "title": "t"}]});
        let read = batch_embed(&batch, "e").unwrap();
        assert_eq!(read[0].dimensions, DEFAULT_DIMENSIONS);
        assert_eq!((read[1].text.as_str(), read[1].dimensions), ("bc", 2));
    }

    #[test]
    fn bad_bodies_are_refused() {
        let refused = |body: Value| batch_embed(&body, "e").expect_err("refused");
        let field_of = |invalid: Invalid| match invalid {
            Invalid::Field { field, .. } => field,
            Invalid::Payload { field, .. } => field.unwrap_or_default(),
            Invalid::Request { message } => message,
        };
        let request = |extra: Value| {
            let mut one = json!({"model": "models/e", "content": texts("a")});
            if let (Some(one), Some(extra)) = (one.as_object_mut(), extra.as_object()) {
                one.extend(extra.clone());
            }
            json!({"requests": [one]})
        };
        assert_eq!(field_of(refused(json!({}))), "requests");
        assert_eq!(
            field_of(refused(request(json!({"model": "models/other"})))),
            "requests[0].model"
        );
        assert_eq!(
            field_of(refused(json!({"requests": [{"content": texts("a")}]}))),
            "requests[0].model"
        );
        assert_eq!(field_of(refused(request(json!({"foo": 1})))), "requests[0]");
        assert_eq!(
            field_of(refused(request(json!({"outputDimensionality": 0})))),
            "requests[0].output_dimensionality"
        );
        let image = json!({"inlineData": {"mimeType": "image/png", "data": "AAAA"}});
        assert_eq!(
            field_of(refused(request(json!({"content": {"parts": [image]}})))),
            "requests[0].content.parts[0]"
        );
        assert!(embed_content(&json!({"content": texts("a"), "x": 1}), "e").is_err());
        assert!(embed_content(&json!({"model": "models/f", "content": texts("a")}), "e").is_err());
    }
}
