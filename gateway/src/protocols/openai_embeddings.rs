//! OpenAI embeddings (`POST /v1/embeddings`): requests into the canonical embedding request,
//! answers in OpenAI's list shape — as float arrays, or as base64 of little-endian f32 when the
//! client asked for `encoding_format: "base64"` (what the official SDKs send by default), whatever
//! format the upstream used.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::canonical::{EmbeddingInput, EmbeddingRequest, EmbeddingResponse};
use crate::error::{ErrorKind, GatewayError};

#[derive(Debug, Deserialize)]
struct WireRequest {
    #[serde(default)]
    model: String,
    input: Option<Value>,
    #[serde(default)]
    encoding_format: Option<String>,
    #[serde(default)]
    dimensions: Option<u32>,
    #[serde(default)]
    user: Option<String>,
}

/// The most inputs OpenAI accepts in one request.
const MAX_INPUTS: usize = 2048;

pub fn decode(body: &[u8]) -> Result<EmbeddingRequest, GatewayError> {
    let wire: WireRequest = serde_json::from_slice(body).map_err(|error| {
        GatewayError::invalid(format!(
            "We could not parse the JSON body of your request: {error}"
        ))
    })?;
    if wire.model.trim().is_empty() {
        return Err(GatewayError::invalid_param(
            "model",
            "you must provide a model parameter",
        ));
    }
    let token = |value: &Value| value.as_u64().and_then(|token| u32::try_from(token).ok());
    let invalid_input = || {
        GatewayError::invalid_param(
            "input",
            "'input' must be a string, an array of strings, or token arrays.",
        )
    };
    let inputs = match wire.input {
        Some(Value::String(text)) => vec![EmbeddingInput::Text(text)],
        Some(Value::Array(items)) if items.iter().all(Value::is_number) && !items.is_empty() => {
            vec![EmbeddingInput::Tokens(
                items
                    .iter()
                    .map(token)
                    .collect::<Option<_>>()
                    .ok_or_else(invalid_input)?,
            )]
        }
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(EmbeddingInput::Text(text)),
                Value::Array(tokens) => tokens
                    .iter()
                    .map(token)
                    .collect::<Option<_>>()
                    .map(EmbeddingInput::Tokens)
                    .ok_or_else(invalid_input),
                _ => Err(invalid_input()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid_input()),
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS {
        return Err(GatewayError::invalid_param(
            "input",
            format!("'input' must hold between 1 and {MAX_INPUTS} items."),
        ));
    }
    let base64 = match wire.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(GatewayError::invalid_param(
                "encoding_format",
                format!("Invalid value: '{other}'. Supported values are: 'float' and 'base64'."),
            ));
        }
    };
    Ok(EmbeddingRequest {
        model: wire.model,
        inputs,
        dimensions: wire.dimensions,
        base64,
        user: wire.user,
    })
}

/// The body for an OpenAI-compatible upstream; floats are always asked for so the gateway can
/// answer in either format.
pub fn encode_request(request: &EmbeddingRequest, upstream_model: &str) -> Value {
    let inputs: Vec<Value> = request
        .inputs
        .iter()
        .map(|input| match input {
            EmbeddingInput::Text(text) => Value::from(text.as_str()),
            EmbeddingInput::Tokens(tokens) => Value::from(tokens.clone()),
        })
        .collect();
    let mut body = json!({"model": upstream_model, "input": inputs, "encoding_format": "float"});
    if let Some(dimensions) = request.dimensions {
        body["dimensions"] = dimensions.into();
    }
    if let Some(user) = &request.user {
        body["user"] = user.clone().into();
    }
    body
}

/// Parses an OpenAI-compatible upstream's answer (float or base64 vectors).
pub fn decode_response(body: &[u8]) -> Result<EmbeddingResponse, GatewayError> {
    let bad = |why: String| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("it sent embeddings the gateway could not read ({why})"),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|error| bad(error.to_string()))?;
    let mut data: Vec<&Value> = value["data"]
        .as_array()
        .map(|data| data.iter().collect())
        .ok_or_else(|| bad("no data".to_owned()))?;
    data.sort_by_key(|entry| entry["index"].as_u64().unwrap_or_default());
    let vectors = data
        .into_iter()
        .map(|entry| match &entry["embedding"] {
            Value::Array(values) => values
                .iter()
                .map(|value| value.as_f64().map(|value| value as f32))
                .collect::<Option<Vec<f32>>>(),
            Value::String(encoded) => decode_base64(encoded),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("an embedding is neither a float array nor base64".to_owned()))?;
    Ok(EmbeddingResponse {
        model: value["model"].as_str().unwrap_or_default().to_owned(),
        vectors,
        input_tokens: value["usage"]["prompt_tokens"].as_u64().unwrap_or_default(),
    })
}

fn decode_base64(encoded: &str) -> Option<Vec<f32>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    (bytes.len() % 4 == 0).then(|| {
        bytes
            .chunks_exact(4)
            .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            .collect()
    })
}

fn encode_base64(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The client's answer.
pub fn encode_response(response: &EmbeddingResponse, base64: bool) -> Value {
    let data: Vec<Value> = response
        .vectors
        .iter()
        .enumerate()
        .map(|(index, vector)| {
            let embedding = if base64 {
                Value::from(encode_base64(vector))
            } else {
                Value::from(vector.clone())
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": response.model,
        "usage": {"prompt_tokens": response.input_tokens, "total_tokens": response.input_tokens},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors_round_trip_as_little_endian_f32() {
        let vector = vec![0.5f32, -1.25, 3.0];
        assert_eq!(decode_base64(&encode_base64(&vector)), Some(vector));
        assert_eq!(decode_base64("AAA="), None, "3 bytes are not a whole f32");
    }

    #[test]
    fn inputs_of_every_shape_decode() {
        let request = decode(br#"{"model":"e","input":["a",[1,2]],"encoding_format":"base64"}"#)
            .expect("decodes");
        assert_eq!(
            request.inputs,
            vec![
                EmbeddingInput::Text("a".into()),
                EmbeddingInput::Tokens(vec![1, 2])
            ]
        );
        assert!(request.base64);
        let single = decode(br#"{"model":"e","input":[5,6]}"#).expect("decodes");
        assert_eq!(single.inputs, vec![EmbeddingInput::Tokens(vec![5, 6])]);
        assert_eq!(
            decode(br#"{"model":"e","input":[]}"#)
                .expect_err("empty")
                .param
                .as_deref(),
            Some("input")
        );
        assert_eq!(
            decode(br#"{"model":"e","input":"x","encoding_format":"hex"}"#)
                .expect_err("format")
                .param
                .as_deref(),
            Some("encoding_format")
        );
    }
}
