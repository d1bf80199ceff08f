#!/usr/bin/env bash
# Vendors Uppy's prebuilt browser bundle into static/vendor/uppy/ (no build step in the project).
# Reproducible: an exact version from the npm registry, installed into a temporary folder with
# lifecycle scripts disabled; only the dist files, the licence and a VERSION file are copied.
#   scripts/vendor_uppy.sh            # the pinned version below
#   UPPY_VERSION=6.0.2 scripts/vendor_uppy.sh
set -euo pipefail
UPPY_VERSION="${UPPY_VERSION:-6.0.1}"
cd "$(dirname "$0")/.."
dest=static/vendor/uppy
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm install --silent --no-audit --no-fund --ignore-scripts --no-save "uppy@${UPPY_VERSION}")
src="$work/node_modules/uppy"
rm -rf "$dest" && mkdir -p "$dest"
cp "$src/dist/uppy.min.js" "$src/dist/uppy.min.css" "$src/LICENSE" "$dest/"
{
  echo "uppy ${UPPY_VERSION} (npm), MIT licence (LICENSE); vendored by scripts/vendor_uppy.sh"
  (cd "$dest" && sha256sum uppy.min.js uppy.min.css)
} >"$dest/VERSION"
cat "$dest/VERSION"
