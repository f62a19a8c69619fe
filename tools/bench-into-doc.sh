#!/usr/bin/env bash
# Writes the output of `runner bench-suite` (first argument) into docs/performance.md
# (second argument), between its two `make bench` marker lines, with a line naming the
# machine, so the figures the document gives are those of the latest `make bench`.
set -euo pipefail

output="$1"
doc="$2"
begin='<!-- make bench writes from here -->'
end='<!-- to here -->'

for marker in "$begin" "$end"; do
  if [ "$(grep -cxF "$marker" "$doc")" != 1 ]; then
    echo "error: $doc must have the line '$marker' exactly once" >&2
    exit 1
  fi
done
[ -s "$output" ] || { echo "error: $output is empty" >&2; exit 1; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
wasmtime=$(awk '$0 == "name = \"wasmtime\"" { getline; gsub(/version = |"/, ""); print; exit }' "$(dirname "$0")/../Cargo.lock")
machine="$(nproc)-core ${cpu:-$(uname -m) CPU} ($(uname -m), Linux $(uname -r)), $(rustc --version | cut -d' ' -f1-2), wasmtime ${wasmtime:-?}"

block=$(mktemp)
trap 'rm -f "$block"' EXIT
{
  printf 'Measured with `make bench` on %s, on %s:\n\n' "$machine" "$(date -u +%Y-%m-%d)"
  printf '```\n'
  cat "$output"
  printf '```\n'
} >"$block"

awk -v begin="$begin" -v end="$end" -v block="$block" '
  $0 == begin { print; while ((getline line < block) > 0) print line; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }
' "$doc" >"$doc.new"
mv "$doc.new" "$doc"
echo "wrote the figures into $doc"
