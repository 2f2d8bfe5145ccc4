#!/usr/bin/env bash
# Installs, through apt-get by package name and only when missing, what building and running
# corral needs beyond the engine: msgpack-c's headers (libmsgpack-dev: the KV events' packer,
# header-only, so nothing links against it) and libzmq (libzmq5: the KV events' ZeroMQ
# sockets, loaded at run time only when NIM_KV_EVENTS_ENDPOINT is set).
set -euo pipefail
need=()
[ -f /usr/include/msgpack.h ] || need+=(libmsgpack-dev)
ldconfig -p 2>/dev/null | grep -q 'libzmq\.so\.5 ' || need+=(libzmq5)
[ ${#need[@]} -eq 0 ] && exit 0
echo "build-deps: installing ${need[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
root=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "build-deps: installing ${need[*]} needs root: run as root, with sudo, or install them first" >&2; exit 1; }
  root=(sudo -E)
fi
"${root[@]}" apt-get update -qq >&2
"${root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
