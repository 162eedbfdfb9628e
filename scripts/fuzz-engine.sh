#!/usr/bin/env bash
# A long fuzzing campaign against the analyzer: the test suite's harness (tests/it/fuzz.rs:
# mutated fixtures through `tonearm analyze --jsonl`) driving a release binary, with as many
# inputs as asked and a fresh seed unless one is given. Prints the outcome counts, the time
# taken and the peak RSS of any analyze run; keeps reproducers of any crash or hang.
# Usage: [INPUTS=100000] [SEED=N] scripts/fuzz-engine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin tonearm
export TONEARM_FUZZ_BIN=$PWD/target/release/tonearm
export TONEARM_FUZZ_INPUTS=${INPUTS:-100000}
export TONEARM_FUZZ_SEED=${SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
echo "fuzzing $TONEARM_FUZZ_INPUTS inputs, seed $TONEARM_FUZZ_SEED" >&2
cargo test --test it -- fuzz:: --nocapture
