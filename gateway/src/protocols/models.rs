//! `GET /v1/models` in OpenAI's list shape: the models and aliases the caller's role may use.

use serde::Serialize;

use crate::config::Snapshot;
use crate::policy::Principal;

#[derive(Serialize)]
pub struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelEntry<'a>>,
}

#[derive(Serialize)]
pub struct ModelEntry<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'a str,
}

/// Lists what `principal` may call. `owned_by` names the first channel serving the model.
pub fn list<'a>(snapshot: &'a Snapshot, principal: &Principal, created: u64) -> ModelList<'a> {
    let data = snapshot
        .model_names
        .iter()
        .filter(|name| principal.role.permits(name))
        .map(|name| {
            let served = snapshot.resolve_model(name);
            let owned_by = snapshot
                .routes
                .get(served)
                .and_then(|routes| routes.first())
                .map(|route| route.channel.name.as_str())
                .unwrap_or("switchboard");
            ModelEntry {
                id: name,
                object: "model",
                created,
                owned_by,
            }
        })
        .collect();
    ModelList {
        object: "list",
        data,
    }
}
