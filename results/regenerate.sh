#!/usr/bin/env bash
# Regenerates the committed results the README's tour shows: every scenarios/sweep-*.yaml into
# results/<name>/ (runs.csv, cells.csv, manifest.json and the charts), every
# scenarios/tune-*.yaml into results/<name>/ (tune.csv and the charts), and two run timelines.
# Deterministic except runs.csv's wall_s.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet
for f in scenarios/sweep-*.yaml; do
  name=$(basename "$f" .yaml)
  rm -rf "results/$name"
  target/release/acksim sweep "$f" --out "results/$name"
done
for f in scenarios/tune-*.yaml; do
  name=$(basename "$f" .yaml)
  rm -rf "results/$name"
  target/release/acksim tune "$f" --out "results/$name" > /dev/null
done
# The README's run timelines.
out=$(mktemp -d)
for name in quickstart topic-broker-crash; do
  target/release/acksim run "scenarios/$name.yaml" --plot --out "$out/$name" > /dev/null
  cp "$out/$name/timeline.png" "results/$name-timeline.png"
done
rm -rf "$out"
