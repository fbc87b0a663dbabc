//! Strict validation of an OpenAI embeddings request body, the way api.openai.com refuses bad
//! ones: unknown top-level fields, wrong types, an unknown `encoding_format`, `dimensions` out of
//! range, and any `input` that is not a non-empty string, 1 to 2048 non-empty strings, one array
//! of token ids or 1 to 2048 non-empty arrays of token ids.

use serde_json::Value;

use super::{DEFAULT_DIMENSIONS, MAX_DIMENSIONS};
use crate::fake::validate::{InvalidRequest, Path, integer, missing, one_of, string, top_level};

/// OpenAI's message for every malformed `input`.
const INVALID_INPUT: &str = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.";

/// Most inputs one request may carry.
const MAX_INPUTS: usize = 2048;

/// One thing to embed.
#[derive(Debug, PartialEq)]
pub(super) enum Input<'a> {
    Text(&'a str),
    /// Token ids, each a JSON integer in `u32`'s range.
    Tokens(&'a [Value]),
}

/// The parts of a valid request the response depends on.
#[derive(Debug)]
pub(super) struct EmbeddingsRequest<'a> {
    /// `None` only for Azure deployments, where the model comes from the path.
    pub model: Option<&'a str>,
    pub inputs: Vec<Input<'a>>,
    pub base64: bool,
    pub dimensions: usize,
}

impl crate::fake::handler::NamesModel for EmbeddingsRequest<'_> {
    fn model(&self) -> Option<&str> {
        self.model
    }
}

/// Validates a parsed body. `model_required` is false for Azure deployment URLs.
pub(super) fn request(
    body: &Value,
    model_required: bool,
) -> Result<EmbeddingsRequest<'_>, InvalidRequest> {
    let (object, model) = top_level(body, model_required, field)?;
    let inputs = inputs(object.get("input"))?;
    let dimensions = object
        .get("dimensions")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_DIMENSIONS);
    Ok(EmbeddingsRequest {
        model,
        inputs,
        base64: object.get("encoding_format").and_then(Value::as_str) == Some("base64"),
        dimensions,
    })
}

/// Checks one top-level field. `null` is accepted for every optional field, as OpenAI does.
fn field(key: &str, value: &Value) -> Result<(), InvalidRequest> {
    if value.is_null() && key != "model" && key != "input" {
        return Ok(());
    }
    let at = Path::Root(key);
    match key {
        "model" => string(at, value).map(drop),
        "input" => Ok(()),
        "encoding_format" => one_of(at, string(at, value)?, &["float", "base64"]),
        "dimensions" => {
            let max = i64::try_from(MAX_DIMENSIONS).unwrap_or(i64::MAX);
            integer(at, value, Some(1), Some(max))
        }
        "user" => string(at, value).map(drop),
        _ => Err(InvalidRequest::new(
            format!("Unrecognized request argument supplied: {key}"),
            None,
            None,
        )),
    }
}

fn inputs(value: Option<&Value>) -> Result<Vec<Input<'_>>, InvalidRequest> {
    let invalid = || InvalidRequest::new(INVALID_INPUT.to_owned(), None, None);
    let value = match value {
        None | Some(Value::Null) => return Err(missing(Path::Root("input"))),
        Some(value) => value,
    };
    let items = match value {
        Value::String(text) if !text.is_empty() => return Ok(vec![Input::Text(text)]),
        Value::Array(items) if !items.is_empty() => items,
        _ => return Err(invalid()),
    };
    if items.iter().all(is_token) {
        return Ok(vec![Input::Tokens(items)]);
    }
    if items.len() > MAX_INPUTS {
        return Err(invalid());
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(text) if !text.is_empty() => Ok(Input::Text(text)),
            Value::Array(tokens) if !tokens.is_empty() && tokens.iter().all(is_token) => {
                Ok(Input::Tokens(tokens))
            }
            _ => Err(invalid()),
        })
        .collect()
}

fn is_token(value: &Value) -> bool {
    value.as_u64().is_some_and(|id| id <= u64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(body: &Value) -> String {
        request(body, true).expect_err("refused").message
    }

    #[test]
    fn every_input_shape_is_read() {
        let text = json!({"model": "m", "input": "hi there"});
        assert_eq!(
            request(&text, true).unwrap().inputs,
            [Input::Text("hi there")]
        );
        let texts = json!({"model": "m", "input": ["a", "b"], "dimensions": 4,
                           "encoding_format": "base64", "user": "u"});
        let read = request(&texts, true).unwrap();
        assert_eq!(read.inputs, [Input::Text("a"), Input::Text("b")]);
        assert_eq!((read.base64, read.dimensions), (true, 4));
        let tokens = json!({"model": "m", "input": [1, 2, 3]});
        assert_eq!(request(&tokens, true).unwrap().inputs.len(), 1);
        let nested = json!({"model": "m", "input": [[1, 2], [3]]});
        assert_eq!(request(&nested, true).unwrap().inputs.len(), 2);
        let azure = json!({"input": "x"});
        assert_eq!(request(&azure, false).unwrap().model, None);
    }

    #[test]
    fn bad_bodies_are_refused() {
        for input in [
            json!(""),
            json!([]),
            json!(["a", ""]),
            json!(["a", 1]),
            json!([[]]),
            json!([-1]),
            json!({"text": "a"}),
            json!(vec!["a"; MAX_INPUTS + 1]),
        ] {
            assert_eq!(
                refusal(&json!({"model": "m", "input": input})),
                INVALID_INPUT
            );
        }
        assert_eq!(
            refusal(&json!({"model": "m"})),
            "Missing required parameter: 'input'."
        );
        assert_eq!(
            refusal(&json!({"input": "a"})),
            "you must provide a model parameter"
        );
        assert_eq!(
            refusal(&json!({"model": "m", "input": "a", "foo": 1})),
            "Unrecognized request argument supplied: foo"
        );
        assert!(refusal(&json!({"model": "m", "input": "a", "dimensions": 0})).contains("minimum"));
        assert!(
            refusal(&json!({"model": "m", "input": "a", "encoding_format": "hex"}))
                .contains("Supported values are: 'float', and 'base64'.")
        );
    }
}
