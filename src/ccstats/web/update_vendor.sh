#!/usr/bin/env bash
# Fetch the vendored browser libraries again from their npm releases (static/vendor/README.md):
# `npm pack` each release into a temporary directory, copy the files, check their SHA-256.
# To move to a new release, change the versions here and the hashes in the README.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)/static/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent echarts@6.1.0 swagger-ui-dist@5.35.0 > /dev/null
mkdir e s
tar xzf echarts-6.1.0.tgz -C e
tar xzf swagger-ui-dist-5.35.0.tgz -C s
mkdir -p "$here/echarts" "$here/swagger-ui"
cp e/package/dist/echarts.min.js e/package/LICENSE e/package/NOTICE "$here/echarts/"
cp e/package/licenses/LICENSE-d3 "$here/echarts/LICENSE-d3"
cp s/package/swagger-ui-bundle.js s/package/swagger-ui.css s/package/LICENSE s/package/NOTICE \
  s/package/swagger-ui-bundle.js.LICENSE.txt "$here/swagger-ui/"
cd "$here"
sed -n '/^```$/,/^```$/p' README.md | grep -v '^```' | sha256sum --check
