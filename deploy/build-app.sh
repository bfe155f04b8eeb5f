#!/bin/sh
# Lays out the gateway's runtime in OUT (default /out) from a workspace checkout whose dependencies
# `pnpm install --frozen-lockfile` installed: the gateway package with its production dependencies
# only (`pnpm deploy --prod`; the workspace packages it uses are copied in, not linked), plus tsx,
# which runs the TypeScript (a root devDependency, so deploy leaves it out), plus deploy/'s
# entrypoint and health probe. Run from the checkout's root; the Containerfile's build stage runs it.
set -eu
OUT=${1:-/out}
rm -rf "$OUT"
pnpm --filter @prism/gateway deploy --prod "$OUT"

# tsx exactly as the lockfile pinned it. Its one dependency, esbuild, is already in OUT at the same
# version (the admin UI bundles with it), so copying tsx's store entry keeps its link to esbuild valid.
tsx_package=$(readlink -f node_modules/tsx)            # …/node_modules/.pnpm/tsx@V/node_modules/tsx
tsx_entry=$(dirname "$(dirname "$tsx_package")")       # …/node_modules/.pnpm/tsx@V
cp -a "$tsx_entry" "$OUT/node_modules/.pnpm/"
ln -s ".pnpm/$(basename "$tsx_entry")/node_modules/tsx" "$OUT/node_modules/tsx"
if ! [ -f "$OUT/node_modules/tsx/package.json" ] || ! (cd "$OUT/node_modules/tsx" && node -e 'import("esbuild")' >/dev/null 2>&1); then
  echo "build-app: tsx or its esbuild did not resolve in $OUT (versions drifted apart?)" >&2
  exit 1
fi

mkdir -p "$OUT/deploy"
cp deploy/entrypoint.sh deploy/healthcheck.ts "$OUT/deploy/"
# Tests are not part of the runtime.
find "$OUT/src" -name '*.test.ts' -delete
find -L "$OUT/node_modules/@prism" -name '*.test.ts' -type f -delete 2>/dev/null || true
