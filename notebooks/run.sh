#!/usr/bin/env bash
# Executes every notebook top to bottom in a fresh virtual environment built from the pinned
# notebooks/requirements.txt, against this checkout's release build; fails on any error.
#   notebooks/run.sh [--save DIR] [NOTEBOOK.ipynb...]     (default: every notebooks/*.ipynb)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r notebooks/requirements.txt

cargo build --release --quiet
export ACKSIM="$PWD/target/release/acksim"

args=()
notebooks=()
while (($#)); do
  case "$1" in
    --save) args+=("$1" "$2"); shift 2 ;;
    *) notebooks+=("$1"); shift ;;
  esac
done
((${#notebooks[@]})) || notebooks=(notebooks/*.ipynb)
"$venv/bin/python" notebooks/execute.py "${args[@]}" "${notebooks[@]}"
