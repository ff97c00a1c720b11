#!/usr/bin/env bash
# Builds the static `eno` the image ships, to OUT: what deploy/Dockerfile runs, and what CI runs
# to check that binary (it must run with no shared library at all).
set -euo pipefail
out=${1:?usage: deploy/build-static.sh OUT}
cd "$(dirname "$0")/.."
target="$(uname -m)-unknown-linux-gnu"
# With --target, RUSTFLAGS reach only the binary, not build scripts or proc macros.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -p controller --bin eno --target "$target"
install -D -m 0755 "${CARGO_TARGET_DIR:-target}/$target/release/eno" "$out"
