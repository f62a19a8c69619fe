#!/usr/bin/env bash
# Seeds each fuzz target's corpus from test_data/, so fuzzing starts from the requests,
# settings and images the tests already know. Idempotent; the corpora are not committed.
# Writes to fuzz/corpus/, or to the folder given as the first argument (tools/oracles'
# tests run every oracle over the seeds that way).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${1:-$root/fuzz/corpus}"
mkdir -p "$corpus"/{validate_payload,validate_settings,image_reference,validate_structured}

settings_files=("$root"/test_data/bypass/settings*.json)
inline_settings=(
  '{}'
  'null'
  '{"exempt_namespaces": ["kube-system", "monitoring-*"]}'
  '{"exempt_images": ["quay.io/cilium/*", "ghcr.io/acme/**", "nginx:1.27"]}'
  '{"exempt_images": ["*"]}'
  '{"exempt_namespace": ["kube-system"]}'
  '{"exempt_images": ["nginx", "quay.io/cilium/*"], "short_names": "not-exempt"}'
  '{"short_names": "crio"}'
)

n=0
for settings in "${inline_settings[@]}"; do
  printf '%s' "$settings" > "$corpus/validate_settings/inline-$n.json"
  n=$((n + 1))
done
for file in "${settings_files[@]}"; do
  cp "$file" "$corpus/validate_settings/$(basename "$(dirname "$file")")-$(basename "$file")"
done

# Every fixture as a validate payload, under no settings and under the bypass settings.
bypass_settings="$(cat "$root/test_data/bypass/settings.json")"
for request in "$root"/test_data/*.json "$root"/test_data/bypass/*.json; do
  [[ "$(basename "$request")" == settings*.json || "$(basename "$request")" == reasons.json ]] && continue
  name="$(basename "$(dirname "$request")")-$(basename "$request" .json)"
  printf '{"request": %s, "settings": {}}' "$(cat "$request")" \
    > "$corpus/validate_payload/$name.json"
  printf '{"request": %s, "settings": %s}' "$(cat "$request")" "$bypass_settings" \
    > "$corpus/validate_payload/$name-bypass-settings.json"
done

# Every image the fixtures name, and every image entry, one per file.
{
  grep -rhoE '"image": *"[^"]*"' "$root/test_data" | sed -E 's/"image": *"(.*)"/\1/'
  grep -hoE '"[^"]+"' "$root/test_data/bypass/settings.json" | tr -d '"' | grep -vE '^exempt_' || true
} | sort -u | while IFS= read -r image; do
  file="$corpus/image_reference/$(printf '%s' "$image" | cksum | cut -d' ' -f1)"
  printf '%s' "$image" > "$file"
done

echo "seeded: $(for t in "$corpus"/*; do printf '%s=%s ' "$(basename "$t")" "$(ls "$t" | wc -l)"; done)"
