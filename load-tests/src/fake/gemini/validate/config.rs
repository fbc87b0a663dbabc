//! `generationConfig` (with `thinkingConfig`), `safetySettings` and `labels`: types, ranges and
//! the combinations Gemini refuses. Returns the few settings the answer depends on.

use serde_json::Value;

use super::proto::{
    Invalid, boolean, enumeration, field, float, integer, list, message, string, strings, structure,
};
use super::tools::{json_schema, schema};
use crate::fake::validate::Path;

const GENERATION_CONFIG: &[&str] = &[
    "stop_sequences",
    "response_mime_type",
    "response_schema",
    "response_json_schema",
    "response_modalities",
    "candidate_count",
    "max_output_tokens",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_logprobs",
    "logprobs",
    "enable_enhanced_civic_answers",
    "speech_config",
    "thinking_config",
    "image_config",
    "media_resolution",
];

const MIME_TYPES: &[&str] = &[
    "text/plain",
    "application/json",
    "application/xml",
    "application/yaml",
    "text/x.enum",
];

const HARM_CATEGORIES: &[&str] = &[
    "HARM_CATEGORY_UNSPECIFIED",
    "HARM_CATEGORY_DEROGATORY",
    "HARM_CATEGORY_TOXICITY",
    "HARM_CATEGORY_VIOLENCE",
    "HARM_CATEGORY_SEXUAL",
    "HARM_CATEGORY_MEDICAL",
    "HARM_CATEGORY_DANGEROUS",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_JAILBREAK",
];

const THRESHOLDS: &[&str] = &[
    "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
    "BLOCK_LOW_AND_ABOVE",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_NONE",
    "OFF",
];

/// What the answer depends on in `generationConfig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub max_output_tokens: Option<u64>,
    pub candidate_count: usize,
    /// `thinkingConfig` turns thinking on: `includeThoughts`, a `thinkingBudget` other than 0
    /// (`-1` is dynamic thinking) or any `thinkingLevel`.
    pub thinking: bool,
    pub include_thoughts: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_output_tokens: None,
            candidate_count: 1,
            thinking: false,
            include_thoughts: false,
        }
    }
}

/// Validates `generationConfig`.
pub(super) fn generation_config(at: Path<'_>, value: &Value) -> Result<Settings, Invalid> {
    let config = message(at, value, "GenerationConfig", GENERATION_CONFIG)?;
    let mut settings = Settings::default();
    let number = |key: &str, min: f64, max: f64| -> Result<(), Invalid> {
        let Some(value) = config.get(key) else {
            return Ok(());
        };
        let number = float(at.key(key), value, "TYPE_FLOAT")?;
        if (min..=max).contains(&number) {
            return Ok(());
        }
        Err(field(
            at.key(key),
            format!("{key} must be between {min} and {max}, got {number}."),
        ))
    };
    number("temperature", 0.0, 2.0)?;
    number("top_p", 0.0, 1.0)?;
    number("presence_penalty", -2.0, 2.0)?;
    number("frequency_penalty", -2.0, 2.0)?;
    let whole = |key: &str, min: i64, max: i64| -> Result<Option<i64>, Invalid> {
        let Some(value) = config.get(key) else {
            return Ok(None);
        };
        let number = integer(at.key(key), value, "TYPE_INT32")?;
        if (min..=max).contains(&number) {
            return Ok(Some(number));
        }
        Err(field(
            at.key(key),
            format!("{key} must be between {min} and {max}, got {number}."),
        ))
    };
    whole("top_k", 1, i64::from(i32::MAX))?;
    whole("seed", i64::from(i32::MIN), i64::from(i32::MAX))?;
    whole("logprobs", 0, 20)?;
    if let Some(count) = whole("candidate_count", 1, 8)? {
        settings.candidate_count = usize::try_from(count).unwrap_or(1);
    }
    if let Some(max) = whole("max_output_tokens", 1, i64::from(i32::MAX))? {
        settings.max_output_tokens = u64::try_from(max).ok();
    }
    if let Some(stops) = config.get("stop_sequences") {
        let stops_at = at.key("stop_sequences");
        if strings(stops_at, stops)?.len() > 5 {
            return Err(field(
                stops_at,
                "stop_sequences must have at most 5 elements.",
            ));
        }
    }
    for key in ["response_logprobs", "enable_enhanced_civic_answers"] {
        if let Some(flag) = config.get(key) {
            boolean(at.key(key), flag)?;
        }
    }
    for key in ["speech_config", "image_config"] {
        if let Some(value) = config.get(key) {
            structure(at.key(key), value)?;
        }
    }
    if let Some(resolution) = config.get("media_resolution") {
        let allowed = [
            "MEDIA_RESOLUTION_UNSPECIFIED",
            "MEDIA_RESOLUTION_LOW",
            "MEDIA_RESOLUTION_MEDIUM",
            "MEDIA_RESOLUTION_HIGH",
        ];
        enumeration(
            at.key("media_resolution"),
            resolution,
            "MediaResolution",
            &allowed,
        )?;
    }
    if let Some(modalities) = config.get("response_modalities") {
        let modalities_at = at.key("response_modalities");
        let allowed = ["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"];
        for (index, modality) in list(modalities_at, modalities, "TYPE_ENUM")?
            .iter()
            .enumerate()
        {
            enumeration(
                modalities_at.index(index),
                modality,
                "GenerationConfig.Modality",
                &allowed,
            )?;
        }
    }
    response_format(at, config)?;
    if let Some(thinking) = config.get("thinking_config") {
        thinking_config(at.key("thinking_config"), thinking, &mut settings)?;
    }
    Ok(settings)
}

/// `responseMimeType`, `responseSchema` and `responseJsonSchema`.
fn response_format(at: Path<'_>, config: super::proto::Message<'_>) -> Result<(), Invalid> {
    let mime_type = match config.get("response_mime_type") {
        Some(value) => Some(string(at.key("response_mime_type"), value)?),
        None => None,
    };
    if let Some(mime_type) = mime_type
        && !MIME_TYPES.contains(&mime_type)
    {
        return Err(field(
            at.key("response_mime_type"),
            "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` and `text/x.enum`.",
        ));
    }
    let schema_value = config.get("response_schema");
    let json_value = config.get("response_json_schema");
    if let Some(value) = schema_value {
        schema(at.key("response_schema"), value)?;
    }
    if let Some(value) = json_value {
        json_schema(at.key("response_json_schema"), value)?;
    }
    if schema_value.is_some() && json_value.is_some() {
        return Err(field(
            at,
            "response_schema and response_json_schema cannot both be set.",
        ));
    }
    let wants_schema = schema_value.is_some() || json_value.is_some();
    if wants_schema && !matches!(mime_type, Some("application/json" | "text/x.enum")) {
        return Err(field(
            at.key("response_mime_type"),
            "a response schema requires response_mime_type `application/json` or `text/x.enum`.",
        ));
    }
    Ok(())
}

fn thinking_config(at: Path<'_>, value: &Value, settings: &mut Settings) -> Result<(), Invalid> {
    let known = ["include_thoughts", "thinking_budget", "thinking_level"];
    let config = message(at, value, "ThinkingConfig", &known)?;
    if let Some(include) = config.get("include_thoughts") {
        settings.include_thoughts = boolean(at.key("include_thoughts"), include)?;
    }
    let budget = match config.get("thinking_budget") {
        Some(value) => Some(integer(at.key("thinking_budget"), value, "TYPE_INT32")?),
        None => None,
    };
    if let Some(budget) = budget
        && budget != -1
        && !(0..=32_768).contains(&budget)
    {
        return Err(field(
            at.key("thinking_budget"),
            format!("thinking_budget must be -1 (dynamic) or between 0 and 32768, got {budget}."),
        ));
    }
    let level = match config.get("thinking_level") {
        Some(value) => {
            let allowed = [
                "THINKING_LEVEL_UNSPECIFIED",
                "MINIMAL",
                "LOW",
                "MEDIUM",
                "HIGH",
            ];
            let level_at = at.key("thinking_level");
            Some(enumeration(
                level_at,
                value,
                "ThinkingConfig.ThinkingLevel",
                &allowed,
            )?)
        }
        None => None,
    };
    if budget.is_some() && level.is_some() {
        return Err(field(
            at,
            "thinking_budget and thinking_level cannot both be set.",
        ));
    }
    settings.thinking = settings.include_thoughts
        || budget.is_some_and(|budget| budget != 0)
        || level.is_some_and(|level| level != "THINKING_LEVEL_UNSPECIFIED");
    Ok(())
}

/// `safetySettings`: a list of `{category, threshold}`.
pub(super) fn safety_settings(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    for (index, setting) in list(at, value, "SafetySetting")?.iter().enumerate() {
        let at = at.index(index);
        let known = ["category", "threshold", "method"];
        let setting = message(at, setting, "SafetySetting", &known)?;
        for (key, enum_name, allowed) in [
            ("category", "HarmCategory", HARM_CATEGORIES),
            ("threshold", "SafetySetting.HarmBlockThreshold", THRESHOLDS),
        ] {
            match setting.get(key) {
                Some(value) => enumeration(at.key(key), value, enum_name, allowed).map(drop)?,
                None => return Err(field(at.key(key), format!("{key} must be specified."))),
            }
        }
        if let Some(method) = setting.get("method") {
            string(at.key("method"), method)?;
        }
    }
    Ok(())
}

/// `labels`: a map of strings to strings.
pub(super) fn labels(at: Path<'_>, value: &Value) -> Result<(), Invalid> {
    let labels = structure(at, value)?;
    for (index, label) in labels.values().enumerate() {
        let entry = at.index(index);
        string(entry.key("value"), label)?;
    }
    Ok(())
}
