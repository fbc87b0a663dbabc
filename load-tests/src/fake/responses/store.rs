//! The Responses API's share of the provider's state: the responses it stored (for
//! `previous_response_id`), their output items by id (for `item_reference` and reasoning items
//! sent back by id), and the counters its ids are made from.
//!
//! A stored response is kept as its whole conversation: the stored conversation of its own
//! previous response, then its input items (a string input as one user message, references
//! resolved), then its output items. `instructions` are not kept, as OpenAI does not carry them
//! over. Responses made with `store: false` are not kept. Nothing is ever evicted: a benchmark
//! that sends many stored responses should send `store: false`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

/// The responses and items this fake stored, and its id counters.
#[derive(Debug, Default)]
pub(crate) struct State {
    stored: Mutex<Stored>,
    /// The `n` of the next item or response id.
    ids: AtomicU64,
    /// The `n` of the next `call_<n>`.
    calls: AtomicU64,
}

#[derive(Debug, Default)]
struct Stored {
    conversations: HashMap<String, Arc<Vec<Value>>>,
    items: HashMap<String, Value>,
}

impl State {
    /// The stored conversation that ends with response `id`.
    pub(crate) fn conversation(&self, id: &str) -> Option<Arc<Vec<Value>>> {
        self.lock().conversations.get(id).cloned()
    }

    /// The output item `id` of a stored response.
    pub(crate) fn item(&self, id: &str) -> Option<Value> {
        self.lock().items.get(id).cloned()
    }

    /// Keeps response `id`, whose whole conversation is `conversation` and whose own output
    /// items are `output`.
    pub(crate) fn keep(&self, id: &str, conversation: Vec<Value>, output: &[Value]) {
        let mut stored = self.lock();
        for item in output {
            if let Some(item_id) = item.get("id").and_then(Value::as_str) {
                stored.items.insert(item_id.to_owned(), item.clone());
            }
        }
        stored
            .conversations
            .insert(id.to_owned(), Arc::new(conversation));
    }

    /// A fresh id such as `msg_00000000000000000000000000000007`.
    pub(crate) fn next_id(&self, prefix: &str) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}_{n:032x}")
    }

    /// A fresh `call_<n>`, unique across the provider's answers so a conversation never holds
    /// two calls with one id.
    pub(crate) fn next_call_id(&self) -> String {
        format!("call_{}", self.calls.fetch_add(1, Ordering::Relaxed))
    }

    fn lock(&self) -> MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kept_responses_and_their_items_can_be_found() {
        let state = State::default();
        let output = [json!({"id": "msg_1", "type": "message"})];
        let conversation = vec![json!({"role": "user", "content": "hi"}), output[0].clone()];

        state.keep("resp_1", conversation.clone(), &output);

        assert_eq!(state.conversation("resp_1").as_deref(), Some(&conversation));
        assert_eq!(state.item("msg_1"), Some(output[0].clone()));
        assert_eq!(state.conversation("resp_2"), None);
        assert_eq!(state.item("rs_1"), None);
    }

    #[test]
    fn ids_are_fresh() {
        let state = State::default();
        assert_eq!(state.next_id("rs"), "rs_00000000000000000000000000000000");
        assert_eq!(state.next_id("msg"), "msg_00000000000000000000000000000001");
        assert_eq!(state.next_call_id(), "call_0");
        assert_eq!(state.next_call_id(), "call_1");
    }
}
