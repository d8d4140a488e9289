#!/usr/bin/env bash
# Conformance harness: runs each case in acksim and on a real embedded ActiveMQ 5.17.2 broker
# (Debian's libactivemq-java) and compares. See conformance/README.md.
#
#   conformance/run.sh [--quick] [--retries N] [CASE.yaml|NAME ...]
#
# --retries N re-runs a case on the real broker up to N more times when it disagrees (the real
# broker's timing varies run to run); a case that agrees only on a retry is reported as such.
# Environment: ACKSIM (an acksim binary; default: cargo build --release in the repo root),
# JAVA_HOME / JAVA, JAVAC, AMQ_JARS (default /usr/share/java), RESULTS (default
# conformance/results). Exit 0 only when every compared metric agrees.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RESULTS=${RESULTS:-$HERE/results}
JARS_DIR=${AMQ_JARS:-/usr/share/java}
if [[ -n "${JAVA_HOME:-}" ]]; then
  JAVA=${JAVA:-$JAVA_HOME/bin/java}
  JAVAC=${JAVAC:-$JAVA_HOME/bin/javac}
else
  JAVA=${JAVA:-java}
  JAVAC=${JAVAC:-javac}
fi

quick=0
retries=0
cases=()
expect_retries=0
for arg in "$@"; do
  if [[ $expect_retries -eq 1 ]]; then
    [[ "$arg" =~ ^[0-9]+$ ]] || { echo "run.sh: --retries takes a count" >&2; exit 2; }
    retries=$arg; expect_retries=0; continue
  fi
  case "$arg" in
    --quick) quick=1 ;;
    --retries) expect_retries=1 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
    *) cases+=("$arg") ;;
  esac
done
if [[ ${#cases[@]} -eq 0 ]]; then
  if [[ $quick -eq 1 ]]; then
    while read -r line; do
      line=${line%%#*}
      line=${line//[[:space:]]/}
      [[ -n "$line" ]] && cases+=("$HERE/cases/$line.yaml")
    done < "$HERE/quick.txt"
  else
    for f in "$HERE"/cases/*.yaml; do cases+=("$f"); done
  fi
fi
for i in "${!cases[@]}"; do
  c=${cases[$i]}
  if [[ ! -f "$c" && -f "$HERE/cases/$c.yaml" ]]; then cases[$i]="$HERE/cases/$c.yaml"; fi
  [[ -f "${cases[$i]}" ]] || { echo "run.sh: no such case: $c" >&2; exit 2; }
done

# --- the Debian jars ------------------------------------------------------------------------
jars=(activemq-broker activemq-client geronimo-jms_1.1_spec geronimo-j2ee-management-1.1-spec hawtbuf slf4j-api slf4j-nop)
CP=""
for j in "${jars[@]}"; do
  if [[ ! -f "$JARS_DIR/$j.jar" ]]; then
    echo "run.sh: $JARS_DIR/$j.jar missing: apt-get install -y activemq libactivemq-java libslf4j-java" >&2
    exit 2
  fi
  CP="$CP:$JARS_DIR/$j.jar"
done
CP=${CP#:}

# --- build the driver (javac, only when a source is newer than the last build) -------------
BUILD=$HERE/build
stamp=$BUILD/.stamp
if [[ ! -f "$stamp" ]] || [[ -n "$(find "$HERE/driver" -name '*.java' -newer "$stamp" -print -quit)" ]]; then
  echo "building the driver (javac) ..." >&2
  rm -rf "$BUILD/classes"
  mkdir -p "$BUILD/classes"
  "$JAVAC" -nowarn -d "$BUILD/classes" -cp "$CP" "$HERE"/driver/acksim/conformance/*.java
  touch "$stamp"
fi
RUNCP="$BUILD/classes:$CP"

# --- acksim ---------------------------------------------------------------------------------
if [[ -z "${ACKSIM:-}" ]]; then
  echo "building acksim (cargo build --release) ..." >&2
  (cd "$ROOT" && cargo build --release --quiet)
  ACKSIM=$ROOT/target/release/acksim
fi

# --- run ------------------------------------------------------------------------------------
mkdir -p "$RESULTS/runs"
table=$RESULTS/latest.csv
rm -f "$table"
status=0
start=$(date +%s)
for c in "${cases[@]}"; do
  name=$(basename "$c" .yaml)
  dir=$RESULTS/runs/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%-48s' "$name" >&2
  t=$(date +%s)
  if ! "$ACKSIM" check --flat "$c" > "$dir/scenario.flat" 2> "$dir/acksim-check.txt"; then
    [[ -f "$table" ]] || echo "case,metric,acksim,activemq,verdict,note" > "$table"
    echo "$name,acksim check,failed,,ERROR,see $dir/acksim-check.txt" >> "$table"
    echo " ERROR (acksim check)" >&2; status=1; continue
  fi
  if ! "$ACKSIM" run "$c" --out "$dir/acksim" --trace > "$dir/acksim.txt" 2>&1; then
    [[ -f "$table" ]] || echo "case,metric,acksim,activemq,verdict,note" > "$table"
    echo "$name,acksim run,failed,,ERROR,see $dir/acksim.txt" >> "$table"
    echo " ERROR (acksim run)" >&2; status=1; continue
  fi
  # The real run's hard limit: 3 x acksim's simulated end + 20 s.
  end_s=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="end_s") k=i} NR==2{print $k}' "$dir/acksim/summary.csv")
  limit=$(awk -v e="${end_s:-10}" 'BEGIN{printf "%.1f", 3*e+20}')
  verdict=""
  for attempt in $(seq 0 "$retries"); do
    rm -rf "$dir/activemq" "$dir/compare.csv"
    if ! "$JAVA" -XX:+UseSerialGC -cp "$RUNCP" acksim.conformance.Driver "$dir/scenario.flat" "$dir/activemq" "$limit" \
        > "$dir/driver.txt" 2>&1; then
      verdict="ERROR (driver, see $dir/driver.txt)"
      echo "$name,driver,,failed,ERROR,see $dir/driver.txt" > "$dir/compare.csv"
      continue
    fi
    if "$JAVA" -cp "$RUNCP" acksim.conformance.Compare "$name" "$dir/acksim" "$dir/activemq" "$dir/compare.csv"; then
      verdict="agree"
      [[ $attempt -gt 0 ]] && verdict="agree on retry $attempt (an earlier run disagreed: timing)"
      break
    fi
    verdict="DISAGREE"
  done
  [[ -f "$table" ]] || echo "case,metric,acksim,activemq,verdict,note" > "$table"
  grep -v '^case,metric,' "$dir/compare.csv" >> "$table" || true
  echo " $verdict ($(( $(date +%s) - t )) s)" >&2
  [[ $verdict == agree* ]] || status=1
done
echo >&2
"$JAVA" -cp "$RUNCP" acksim.conformance.Compare --table "$table"
echo
echo "wrote $table ($(( $(date +%s) - start )) s)"
if [[ $status -eq 0 ]]; then
  echo "conformance: all ${#cases[@]} case(s) agree with ActiveMQ 5.17.2"
else
  echo "conformance: DISAGREEMENT (rows marked !!)"
fi
exit $status
