#!/usr/bin/env python3
"""Regenerates model-prices.json, the gateway's bundled price table, from a LiteLLM
`model_prices_and_context_window` file: chat, completion, responses and embedding models with a
per-token price, keeping only the four prices the gateway charges by.

    python3 gateway/data/update-prices.py ../shared/data/litellm-model-prices.json
"""
import json
import pathlib
import sys

FIELDS = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
)
MODES = {"chat", "completion", "responses", "embedding"}

source = json.loads(pathlib.Path(sys.argv[1]).read_text())
table = {
    name: {field: entry[field] for field in FIELDS if field in entry}
    for name, entry in sorted(source.items())
    if isinstance(entry, dict)
    and entry.get("mode") in MODES
    and isinstance(entry.get("input_cost_per_token"), (int, float))
}
lines = [f"  {json.dumps(name)}: {json.dumps(prices, sort_keys=True)}" for name, prices in table.items()]
out = pathlib.Path(__file__).with_name("model-prices.json")
out.write_text("{\n" + ",\n".join(lines) + "\n}\n")
print(f"{len(table)} models written to {out}")
