#!/usr/bin/env bash
# Installs the runtimes that test/runtimes runs the built package on (Node.js 22 and 24, Bun,
# Deno, workerd), from the npm registry, into node_modules/.cache/bearer-guard-runtimes/toolchain
# (or $BEARER_GUARD_RUNTIMES_DIR): outside the project's dependencies, so `npm ci` and the
# package's users install none of them. Versions are pinned by test/runtimes/toolchain/; the
# install runs again only when those files change. .ci/run calls this before `npm test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source=test/runtimes/toolchain
dir="${BEARER_GUARD_RUNTIMES_DIR:-node_modules/.cache/bearer-guard-runtimes/toolchain}"
stamp="$dir/.installed-from"
want="$(cat "$source/package.json" "$source/package-lock.json" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "runtimes: already installed in $dir"
else
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$source/package.json" "$source/package-lock.json" "$dir/"
  started=$(date +%s)
  # The node, bun, deno and workerd packages put their binaries in place from install scripts;
  # toolchain/package.json allows exactly those (allowScripts).
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
  echo "runtimes: installed in $(($(date +%s) - started)) s, $(du -sh "$dir" | cut -f1) on disk"
fi

bins=(
  "node22/bin/node --version"
  "node24/bin/node --version"
  "bun/bin/bun.exe --version"
  "deno/deno --version"
  "workerd/bin/workerd --version"
)
for entry in "${bins[@]}"; do
  read -r bin flag <<<"$entry"
  printf 'runtimes: %-22s %s\n' "$bin" "$("$dir/node_modules/$bin" "$flag" | head -n 1)"
done
