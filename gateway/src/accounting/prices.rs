//! The price table: USD per token for input, output, cache reads and cache writes, per model.
//!
//! The gateway ships a table (`gateway/data/model-prices.json`, generated from LiteLLM's
//! `model_prices_and_context_window.json` by `gateway/data/update-prices.py`); a config can
//! replace it with its own file in the same format and override single models. Prices are read
//! at load time only, never on the request path.

use std::collections::HashMap;

use serde::Deserialize;

use crate::canonical::Usage;

const BUNDLED: &str = include_str!("../../data/model-prices.json");

/// USD per token.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

impl Price {
    /// What `usage` costs, in micro-dollars, rounded up.
    pub fn cost_micros(&self, usage: &Usage) -> u64 {
        let usd = usage.input_tokens as f64 * self.input
            + usage.cache_read_tokens as f64 * self.cache_read
            + usage.cache_write_tokens as f64 * self.cache_write
            + usage.output_tokens as f64 * self.output;
        // Rounded to a millionth of a micro-dollar first, so that float noise (0.009 becoming
        // 0.009000000000000001) does not round a whole micro-dollar up.
        ((usd * 1e12).round() / 1e6).ceil().max(0.0) as u64
    }

    /// The dearer of two prices, field by field (an estimate that must not fall short).
    pub fn max(self, other: Price) -> Price {
        Price {
            input: self.input.max(other.input),
            output: self.output.max(other.output),
            cache_read: self.cache_read.max(other.cache_read),
            cache_write: self.cache_write.max(other.cache_write),
        }
    }
}

/// One entry of a LiteLLM-format price file; other fields of the format are ignored.
#[derive(Deserialize)]
struct LiteLlmEntry {
    input_cost_per_token: Option<f64>,
    output_cost_per_token: Option<f64>,
    cache_read_input_token_cost: Option<f64>,
    cache_creation_input_token_cost: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    models: HashMap<String, Price>,
}

impl PriceTable {
    /// The table that ships with the gateway.
    pub fn bundled() -> Self {
        Self::from_litellm_json(BUNDLED).unwrap_or_else(|error| {
            // The bundled file is checked by a unit test; this cannot happen in a release.
            tracing::error!(%error, "the bundled price table is unreadable");
            PriceTable::default()
        })
    }

    /// Reads a LiteLLM `model_prices_and_context_window.json`-style file: an object of model
    /// name → `{input_cost_per_token, output_cost_per_token, cache_read_input_token_cost,
    /// cache_creation_input_token_cost, …}`. Entries without an input price (image and audio
    /// models, the `sample_spec` entry) are skipped. Cache prices default to the input price.
    pub fn from_litellm_json(text: &str) -> Result<Self, serde_json::Error> {
        let raw: HashMap<String, serde_json::Value> = serde_json::from_str(text)?;
        let models = raw
            .into_iter()
            .filter_map(|(name, value)| {
                let entry = LiteLlmEntry::deserialize(value).ok()?;
                let input = entry.input_cost_per_token?;
                Some((
                    name,
                    Price {
                        input,
                        output: entry.output_cost_per_token.unwrap_or(0.0),
                        cache_read: entry.cache_read_input_token_cost.unwrap_or(input),
                        cache_write: entry.cache_creation_input_token_cost.unwrap_or(input),
                    },
                ))
            })
            .collect();
        Ok(PriceTable { models })
    }

    pub fn insert(&mut self, model: impl Into<String>, price: Price) {
        self.models.insert(model.into(), price);
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The price of a model by its exact name, else by the name after a provider prefix
    /// (`openai/gpt-4o` → `gpt-4o`).
    pub fn lookup(&self, model: &str) -> Option<Price> {
        self.models.get(model).copied().or_else(|| {
            let (_, bare) = model.rsplit_once('/')?;
            self.models.get(bare).copied()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_prices_common_models() {
        let table = PriceTable::bundled();
        assert!(table.len() > 1000, "only {} models", table.len());
        let mini = table.lookup("gpt-4o-mini").expect("gpt-4o-mini is priced");
        assert_eq!(mini.input, 1.5e-7);
        assert_eq!(mini.output, 6e-7);
        assert_eq!(mini.cache_read, 7.5e-8);
        assert_eq!(table.lookup("openai/gpt-4o-mini"), Some(mini));
        assert!(table.lookup("no-such-model").is_none());
    }

    #[test]
    fn cost_counts_every_kind_of_token_and_rounds_up() {
        let price = Price {
            input: 3e-6,
            output: 15e-6,
            cache_read: 0.3e-6,
            cache_write: 3.75e-6,
        };
        let usage = Usage {
            input_tokens: 1000,
            cache_read_tokens: 2000,
            cache_write_tokens: 100,
            output_tokens: 500,
            reasoning_tokens: 0,
        };
        // 3000 + 600 + 375 + 7500 micro-dollars.
        assert_eq!(price.cost_micros(&usage), 11_475);
        let one = Usage {
            input_tokens: 1,
            ..Usage::default()
        };
        let milli = Price {
            input: 1e-3,
            output: 1e-3,
            ..Price::default()
        };
        let nine = Usage {
            input_tokens: 4,
            output_tokens: 5,
            ..Usage::default()
        };
        assert_eq!(milli.cost_micros(&nine), 9000);
        assert_eq!(
            Price {
                input: 1.5e-7,
                ..Price::default()
            }
            .cost_micros(&one),
            1
        );
    }

    #[test]
    fn litellm_files_with_other_entries_are_read() {
        let table = PriceTable::from_litellm_json(
            r#"{"sample_spec": {"max_tokens": "set to max"},
                "dall-e-3": {"output_cost_per_image": 0.04},
                "m": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "mode": "chat"}}"#,
        )
        .expect("parses");
        assert_eq!(table.len(), 1);
        assert_eq!(
            table.lookup("m"),
            Some(Price {
                input: 1e-6,
                output: 2e-6,
                cache_read: 1e-6,
                cache_write: 1e-6
            })
        );
    }
}
