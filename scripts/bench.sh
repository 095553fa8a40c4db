#!/usr/bin/env bash
# Runs every benchmark program of bench/ (built by `make build`) and prints their figures.
# Each program measures against a named baseline in the same run and prints ratios.
set -euo pipefail
build="${1:-build}"
shopt -s nullglob
ran=0
for b in "${build}"/bench/*_bench; do
  echo "== $(basename "$b")"
  "$b"
  ran=$((ran + 1))
done
echo "ran ${ran} benchmark programs"
