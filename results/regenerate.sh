#!/usr/bin/env bash
# Regenerates the committed sweep results: every scenarios/sweep-*.yaml into results/<name>/
# (runs.csv, cells.csv, manifest.json and the charts), and the README's quickstart timeline.
# Deterministic except runs.csv's wall_s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet
for f in scenarios/sweep-*.yaml; do
  name=$(basename "$f" .yaml)
  rm -rf "results/$name"
  target/release/acksim sweep "$f" --out "results/$name"
done
# The README's run timeline.
out=$(mktemp -d)
target/release/acksim run scenarios/quickstart.yaml --plot --out "$out" > /dev/null
cp "$out/timeline.png" results/quickstart-timeline.png
rm -rf "$out"
