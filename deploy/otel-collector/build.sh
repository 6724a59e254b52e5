#!/usr/bin/env bash
# Builds an OpenTelemetry Collector with the components teamsflow's configs and
# tests use, and prints the binary's path on stdout (logs go to stderr).
#
# The binary is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/teamsflow/otelcol-<version>/
# and reused while the component list below is unchanged: a cold build takes
# minutes and half a gigabyte of modules, a cached one nothing.
#
# Usage: deploy/otel-collector/build.sh        # prints the path
#        OTELCOL_VERSION=0.162.0 build.sh      # the pinned default; others may not build
set -euo pipefail

version="${OTELCOL_VERSION:-0.162.0}"
# The confmap providers are versioned separately from the components.
providers_version="${OTELCOL_PROVIDERS_VERSION:-1.68.0}"
# The module proxy does not serve the load-balancing exporter at 0.162.0; the
# release before it builds against the 0.162.0 core.
loadbalancing_version="${OTELCOL_LOADBALANCING_VERSION:-0.161.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/teamsflow/otelcol-${version}"
bin="${cache}/otelcol-teamsflow"
core="go.opentelemetry.io/collector"
contrib="github.com/open-telemetry/opentelemetry-collector-contrib"

manifest="dist:
  name: otelcol-teamsflow
  description: OpenTelemetry Collector for teamsflow configs and tests
  version: ${version}
  output_path: ./src
receivers:
  - gomod: ${core}/receiver/otlpreceiver v${version}
processors:
  - gomod: ${core}/processor/batchprocessor v${version}
  - gomod: ${core}/processor/memorylimiterprocessor v${version}
exporters:
  - gomod: ${core}/exporter/debugexporter v${version}
  - gomod: ${core}/exporter/otlpexporter v${version}
  - gomod: ${core}/exporter/otlphttpexporter v${version}
  - gomod: ${contrib}/exporter/fileexporter v${version}
  - gomod: ${contrib}/exporter/loadbalancingexporter v${loadbalancing_version}
providers:
  - gomod: ${core}/confmap/provider/envprovider v${providers_version}
  - gomod: ${core}/confmap/provider/fileprovider v${providers_version}
  - gomod: ${core}/confmap/provider/yamlprovider v${providers_version}
"
stamp="$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)"

if [[ -x "$bin" && "$(cat "${cache}/manifest.sha256" 2>/dev/null)" == "$stamp" ]]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
# One build at a time per cache directory: tests of several packages may ask at once.
exec 9>"${cache}/.lock"
flock 9
if [[ -x "$bin" && "$(cat "${cache}/manifest.sha256" 2>/dev/null)" == "$stamp" ]]; then
	echo "$bin"
	exit 0
fi

work="$(mktemp -d)"
log="${cache}/build.log"
trap 'rm -rf "$work"' EXIT
fail() {
	echo "otelcol build failed at: $1 (log: $log)" >&2
	tail -n 20 "$log" >&2
	exit 1
}

echo "building otelcol ${version} into ${cache} (cold: a few minutes)" >&2
: >"$log"
printf '%s' "$manifest" >"${work}/manifest.yaml"
GOBIN="${cache}/tools" go install "${core}/cmd/builder@v${version}" >>"$log" 2>&1 ||
	fail "installing the builder"
# The builder's own `go mod tidy` fails on a test-only module of the contrib
# file exporter that the proxy does not serve, after writing go.mod; so its
# tidy with -e ourselves: a go.mod from the builder is all we need from it.
(cd "$work" && "${cache}/tools/builder" --config manifest.yaml --skip-compilation) >>"$log" 2>&1 ||
	[[ -f "${work}/src/go.mod" ]] || fail "generating the sources"
# The proxy does not serve the AWS Cloud Map client the load-balancing
# exporter asks for (v1.48.0); the next release is API compatible.
(cd "${work}/src" && go mod edit -require=github.com/aws/aws-sdk-go-v2/service/servicediscovery@v1.49.0 &&
	go mod tidy -e) >>"$log" 2>&1 || fail "resolving modules"
(cd "${work}/src" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "${bin}.tmp" .) >>"$log" 2>&1 ||
	fail "compiling"
mv "${bin}.tmp" "$bin"
printf '%s' "$stamp" >"${cache}/manifest.sha256"
echo "$bin"
