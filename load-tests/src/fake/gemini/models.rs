//! The model resources of the fake's Gemini API: `GET /v1beta/models` (every model of
//! [`FakeOptions::models`](crate::FakeOptions)) and `GET /v1beta/models/{model}`, shaped like
//! Google's `Model`. The limits and defaults are plausible constants, not any real model's.

use serde::Serialize;

use crate::fake::openai::to_vec;

/// One entry of `GET /v1beta/models`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelObject<'a> {
    name: String,
    base_model_id: &'a str,
    version: &'static str,
    display_name: &'a str,
    description: &'static str,
    input_token_limit: u64,
    output_token_limit: u64,
    supported_generation_methods: [&'static str; 2],
    temperature: f64,
    max_temperature: f64,
    top_p: f64,
    top_k: u64,
    thinking: bool,
}

impl<'a> ModelObject<'a> {
    fn new(id: &'a str) -> Self {
        ModelObject {
            name: format!("models/{id}"),
            base_model_id: id,
            version: "001",
            display_name: id,
            description: "A model served by the Switchboard fake provider.",
            input_token_limit: 1_048_576,
            output_token_limit: 65_536,
            supported_generation_methods: ["generateContent", "countTokens"],
            temperature: 1.0,
            max_temperature: 2.0,
            top_p: 0.95,
            top_k: 64,
            thinking: true,
        }
    }
}

/// `{"models": [...]}`.
pub(crate) fn models_body(models: &[String]) -> Vec<u8> {
    #[derive(Serialize)]
    struct List<'a> {
        models: Vec<ModelObject<'a>>,
    }
    to_vec(&List {
        models: models.iter().map(|id| ModelObject::new(id)).collect(),
    })
}

/// `GET /v1beta/models/{model}`.
pub(crate) fn model_body(id: &str) -> Vec<u8> {
    to_vec(&ModelObject::new(id))
}
