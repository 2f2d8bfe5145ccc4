#!/usr/bin/env bash
# Installs the system tools the tests drive, through apt-get by package name, when they are
# missing: Debian's prometheus package (the prometheus server and promtool) for the metrics
# tests, and Debian's kubernetes-client (kubectl, whose `kubectl kustomize` renders
# deploy/kubernetes) for the deployment tests, librsvg2-bin (rsvg-convert renders the bench
# SVG) and openssl (certificates for the TLS tests).
set -euo pipefail
need=()
{ command -v prometheus && command -v promtool; } >/dev/null || need+=(prometheus)
command -v kubectl >/dev/null || need+=(kubernetes-client)
command -v rsvg-convert >/dev/null || need+=(librsvg2-bin)
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
echo "test-tools: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
