#!/usr/bin/env bash
# Seeds each fuzz target's corpus from test_data/, so fuzzing starts from the requests,
# settings and images the tests already know. Idempotent; the corpora are not committed.
# Writes to fuzz/corpus/, or to the folder given as the first argument (tools/oracles'
# tests run every oracle over the seeds that way).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${1:-$root/fuzz/corpus}"
mkdir -p "$corpus"/{validate_payload,validate_settings,image_reference,validate_structured}

table="$root/test_data/scenarios.json"
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
# Every named set of settings of the scenario table, and every case of the settings table.
for name in $(jq -r '.settings | keys[]' "$table"); do
  jq -c --arg name "$name" '.settings[$name]' "$table" > "$corpus/validate_settings/table-$name.json"
done
n=0
while IFS= read -r settings; do
  printf '%s' "$settings" > "$corpus/validate_settings/case-$n.json"
  n=$((n + 1))
done < <(jq -c '.cases[].settings' "$root/test_data/settings.json")

# Every fixture as a validate payload, under no settings and under the bypass corpus's settings.
bypass_settings="$(jq -c '.settings.bypass' "$table")"
for request in "$root"/test_data/*.json "$root"/test_data/bypass/*.json; do
  case "$(basename "$request")" in scenarios.json | settings.json | reasons.json) continue ;; esac
  name="$(basename "$(dirname "$request")")-$(basename "$request" .json)"
  printf '{"request": %s, "settings": {}}' "$(cat "$request")" \
    > "$corpus/validate_payload/$name.json"
  printf '{"request": %s, "settings": %s}' "$(cat "$request")" "$bypass_settings" \
    > "$corpus/validate_payload/$name-bypass-settings.json"
done

# Every image the fixtures name, and every image entry, one per file.
{
  grep -rhoE '"image": *"[^"]*"' "$root/test_data" | sed -E 's/"image": *"(.*)"/\1/'
  jq -r '.settings[].exempt_images // [] | .[]' "$table"
} | sort -u | while IFS= read -r image; do
  file="$corpus/image_reference/$(printf '%s' "$image" | cksum | cut -d' ' -f1)"
  printf '%s' "$image" > "$file"
done

echo "seeded: $(for t in "$corpus"/*; do printf '%s=%s ' "$(basename "$t")" "$(ls "$t" | wc -l)"; done)"
