//! Strict validation of the `InvokeModel` bodies of the two embedding families the fake Bedrock
//! serves, each a model's native JSON, refused the way Bedrock's schema validation refuses them
//! (400 `ValidationException`, `Malformed input request: <path>: <problem>, please reformat your
//! input and try again.`):
//!
//! - Amazon Titan text embeddings (`amazon.titan-embed*`): `{"inputText", "dimensions"?: 256 |
//!   512 | 1024, "normalize"?, "embeddingTypes"?: ["float" | "binary", …]}`;
//! - Cohere Embed (`cohere.embed-*`): `{"texts": [1 to 96 strings], "input_type", "truncate"?,
//!   "embedding_types"?: ["float" | "int8" | "uint8" | "binary" | "ubinary", …]}`.
//!
//! Unknown keys, wrong types and values outside the enums are refused; the model is the caller's.

use serde_json::{Map, Value};

use super::checks::{Checked, array, boolean, integer, malformed, object, only, required, string};
use crate::fake::validate::Path;

/// Which body an embedding model takes, chosen by its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Titan,
    Cohere,
}

impl Family {
    /// The family of a (decoded) model id, or `None` for a model `/invoke` does not serve.
    pub(crate) fn of(model: &str) -> Option<Family> {
        if model.starts_with("amazon.titan-embed") {
            Some(Family::Titan)
        } else if model.starts_with("cohere.embed-") {
            Some(Family::Cohere)
        } else {
            None
        }
    }
}

/// Titan's default and permitted output sizes.
pub(crate) const TITAN_DIMENSIONS: [usize; 3] = [256, 512, 1024];
/// Titan's longest `inputText`, in characters.
const TITAN_MAX_CHARS: usize = 50_000;
/// Most texts one Cohere request may carry.
const COHERE_MAX_TEXTS: usize = 96;

/// A valid Titan request.
#[derive(Debug, PartialEq)]
pub(crate) struct TitanRequest<'a> {
    pub text: &'a str,
    pub dimensions: usize,
    /// `embeddingTypes`, when given.
    pub types: Option<Vec<&'a str>>,
}

/// A valid Cohere request.
#[derive(Debug, PartialEq)]
pub(crate) struct CohereRequest<'a> {
    pub texts: Vec<&'a str>,
    /// `embedding_types`, when given.
    pub types: Option<Vec<&'a str>>,
}

/// Validates a Titan text-embeddings body.
pub(crate) fn titan(body: &Value) -> Checked<TitanRequest<'_>> {
    let fields = root(
        body,
        &["inputText", "dimensions", "normalize", "embeddingTypes"],
    )?;
    let at = Path::Root("inputText");
    let text = string(at, required(Path::Root("#"), fields, "inputText")?)?;
    let count = text.chars().count();
    if count == 0 {
        return Err(malformed(at, "expected minLength: 1, actual: 0"));
    }
    if count > TITAN_MAX_CHARS {
        let problem = format!("expected maxLength: {TITAN_MAX_CHARS}, actual: {count}");
        return Err(malformed(at, problem));
    }
    let dimensions = match present(fields, "dimensions") {
        Some(value) => {
            let at = Path::Root("dimensions");
            let number = integer(at, value, i64::MIN)?;
            TITAN_DIMENSIONS
                .into_iter()
                .find(|size| i64::try_from(*size) == Ok(number))
                .ok_or_else(|| malformed(at, format!("{number} is not a valid enum value")))?
        }
        None => 1024,
    };
    if let Some(value) = present(fields, "normalize") {
        boolean(Path::Root("normalize"), value)?;
    }
    let types = present(fields, "embeddingTypes")
        .map(|value| kinds(Path::Root("embeddingTypes"), value, &["float", "binary"]))
        .transpose()?;
    Ok(TitanRequest {
        text,
        dimensions,
        types,
    })
}

/// Validates a Cohere Embed body.
pub(crate) fn cohere(body: &Value) -> Checked<CohereRequest<'_>> {
    let fields = root(
        body,
        &["texts", "input_type", "truncate", "embedding_types"],
    )?;
    let at = Path::Root("texts");
    let items = array(at, required(Path::Root("#"), fields, "texts")?)?;
    if items.is_empty() {
        return Err(malformed(at, "expected minItems: 1, actual: 0"));
    }
    if items.len() > COHERE_MAX_TEXTS {
        let problem = format!(
            "expected maxItems: {COHERE_MAX_TEXTS}, actual: {}",
            items.len()
        );
        return Err(malformed(at, problem));
    }
    let texts = items
        .iter()
        .enumerate()
        .map(|(index, item)| string(at.index(index), item))
        .collect::<Checked<Vec<&str>>>()?;
    let input_type = required(Path::Root("#"), fields, "input_type")?;
    let input_types = [
        "search_document",
        "search_query",
        "classification",
        "clustering",
    ];
    choice(Path::Root("input_type"), input_type, &input_types)?;
    if let Some(value) = present(fields, "truncate") {
        choice(Path::Root("truncate"), value, &["NONE", "START", "END"])?;
    }
    let allowed = ["float", "int8", "uint8", "binary", "ubinary"];
    let types = present(fields, "embedding_types")
        .map(|value| kinds(Path::Root("embedding_types"), value, &allowed))
        .transpose()?;
    Ok(CohereRequest { texts, types })
}

/// The body as an object with only `allowed` keys.
fn root<'a>(body: &'a Value, allowed: &[&str]) -> Checked<&'a Map<String, Value>> {
    let at = Path::Root("#");
    let fields = object(at, body)?;
    only(at, fields, allowed)?;
    Ok(fields)
}

/// `fields[key]` unless it is absent or `null`.
fn present<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    fields.get(key).filter(|value| !value.is_null())
}

/// A string from `allowed`.
fn choice<'a>(at: Path<'_>, value: &'a Value, allowed: &[&str]) -> Checked<&'a str> {
    let text = string(at, value)?;
    if allowed.contains(&text) {
        return Ok(text);
    }
    Err(malformed(at, format!("{text} is not a valid enum value")))
}

/// A non-empty array of distinct strings from `allowed`.
fn kinds<'a>(at: Path<'_>, value: &'a Value, allowed: &[&str]) -> Checked<Vec<&'a str>> {
    let items = array(at, value)?;
    if items.is_empty() {
        return Err(malformed(at, "expected minItems: 1, actual: 0"));
    }
    let mut kinds: Vec<&str> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let kind = choice(at.index(index), item, allowed)?;
        if kinds.contains(&kind) {
            return Err(malformed(at, "array items are not unique"));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn titan_refusal(body: &Value) -> String {
        titan(body).expect_err("refused").message
    }

    fn cohere_refusal(body: &Value) -> String {
        cohere(body).expect_err("refused").message
    }

    #[test]
    fn families_follow_the_model_prefix() {
        assert_eq!(
            Family::of("amazon.titan-embed-text-v2:0"),
            Some(Family::Titan)
        );
        assert_eq!(
            Family::of("amazon.titan-embed-g1-text-02"),
            Some(Family::Titan)
        );
        assert_eq!(Family::of("cohere.embed-english-v3"), Some(Family::Cohere));
        assert_eq!(Family::of("amazon.titan-text-express-v1"), None);
        assert_eq!(Family::of("cohere.command-r-v1:0"), None);
    }

    #[test]
    fn titan_bodies_are_read() {
        let plain = json!({"inputText": "hi there"});
        let read = titan(&plain).unwrap();
        assert_eq!(
            (read.text, read.dimensions, read.types),
            ("hi there", 1024, None)
        );
        let full = json!({"inputText": "x", "dimensions": 256, "normalize": false,
                          "embeddingTypes": ["float", "binary"]});
        let read = titan(&full).unwrap();
        assert_eq!(read.dimensions, 256);
        assert_eq!(read.types, Some(vec!["float", "binary"]));
    }

    #[test]
    fn bad_titan_bodies_are_refused() {
        assert_eq!(
            titan_refusal(&json!({"inputText": "a", "foo": 1})),
            "Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again."
        );
        assert!(titan_refusal(&json!({})).contains("#: required key [inputText] not found"));
        assert!(titan_refusal(&json!({"inputText": ""})).contains("inputText: expected minLength"));
        assert!(titan_refusal(&json!({"inputText": 3})).contains("expected type: String"));
        assert!(
            titan_refusal(&json!({"inputText": "a", "dimensions": 300}))
                .contains("dimensions: 300 is not a valid enum value")
        );
        assert!(titan_refusal(&json!({"inputText": "a", "normalize": "yes"})).contains("Boolean"));
        for types in [
            json!([]),
            json!(["int8"]),
            json!(["float", "float"]),
            json!("float"),
        ] {
            let body = json!({"inputText": "a", "embeddingTypes": types});
            assert!(titan_refusal(&body).contains("embeddingTypes"), "{types}");
        }
        assert!(titan_refusal(&json!(["a"])).contains("expected type: JSONObject"));
    }

    #[test]
    fn cohere_bodies_are_read() {
        let body = json!({"texts": ["a", "b c"], "input_type": "search_query", "truncate": "END",
                          "embedding_types": ["float", "int8"]});
        let read = cohere(&body).unwrap();
        assert_eq!(read.texts, ["a", "b c"]);
        assert_eq!(read.types, Some(vec!["float", "int8"]));
    }

    #[test]
    fn bad_cohere_bodies_are_refused() {
        let valid = |extra: Value| {
            let mut body = json!({"texts": ["a"], "input_type": "clustering"});
            if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                body.extend(extra.clone());
            }
            body
        };
        assert!(cohere_refusal(&valid(json!({"model": "m"}))).contains("extraneous key [model]"));
        assert!(cohere_refusal(&json!({"texts": ["a"]})).contains("[input_type] not found"));
        assert!(cohere_refusal(&json!({"input_type": "clustering"})).contains("[texts] not found"));
        assert!(cohere_refusal(&valid(json!({"texts": []}))).contains("minItems: 1"));
        let many = vec!["a"; COHERE_MAX_TEXTS + 1];
        assert!(cohere_refusal(&valid(json!({"texts": many}))).contains("maxItems: 96"));
        assert!(cohere_refusal(&valid(json!({"texts": ["a", 1]}))).contains("texts.1"));
        assert!(
            cohere_refusal(&valid(json!({"input_type": "query"})))
                .contains("input_type: query is not a valid enum value")
        );
        assert!(cohere_refusal(&valid(json!({"truncate": "LEFT"}))).contains("truncate"));
        let bits = valid(json!({"embedding_types": ["bits"]}));
        assert!(cohere_refusal(&bits).contains("embedding_types.0"));
    }
}
