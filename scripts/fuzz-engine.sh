#!/usr/bin/env bash
# A long fuzzing campaign against the analyzer: the same harness as the test suite's
# (tests/it/fuzz.rs: mutated fixtures through `tonearm analyze --jsonl`), on a release build,
# with as many inputs as asked and a fresh seed unless one is given. Prints the outcome counts,
# the time taken and the peak RSS of any analyze run; keeps reproducers of any crash or hang.
# Usage: [INPUTS=100000] [SEED=N] scripts/fuzz-engine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export TONEARM_FUZZ_INPUTS=${INPUTS:-100000}
export TONEARM_FUZZ_SEED=${SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
echo "fuzzing $TONEARM_FUZZ_INPUTS inputs, seed $TONEARM_FUZZ_SEED" >&2
cargo test --release --test it -- fuzz:: --nocapture
