#!/usr/bin/env bash
# Installs what Passerelle needs to build and test on Debian 12, idempotently:
#   - the Debian packages of the toolchain and libraries (apt-get; silent when already present),
#   - the pinned DuckDB 1.4.4 (libduckdb.so and duckdb.h) from the npm registry into
#     third_party/duckdb/ (ignored by git).
# Set PASSERELLE_SKIP_APT=1 to skip the apt step (e.g. in a container without root).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates unzip
  clang-format ccache
  libboost-dev libboost-system-dev libssl-dev libsodium-dev
  libeigen3-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
  libspdlog-dev libfmt-dev libsqlite3-dev libzip-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)

if [[ "${PASSERELLE_SKIP_APT:-0}" != "1" ]]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm may come from elsewhere than Debian (e.g. NodeSource); only ask Debian for it if absent.
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [[ "$(id -u)" -ne 0 ]] && sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# --- DuckDB, pinned -------------------------------------------------------------------------
duck_version="1.4.4"
bindings_pkg="@duckdb/node-bindings-linux-x64@1.4.4-r.1"
header_pkg="duckdb@${duck_version}"
dest="${root}/third_party/duckdb"
stamp="${dest}/.version"

if [[ -n "${DUCKDB_ROOT:-}" ]]; then
  echo "bootstrap: using DUCKDB_ROOT=${DUCKDB_ROOT}"
elif [[ -f "${stamp}" && "$(cat "${stamp}")" == "${duck_version}" && -f "${dest}/lib/libduckdb.so" && -f "${dest}/include/duckdb.h" ]]; then
  : # already there
else
  echo "bootstrap: fetching DuckDB ${duck_version} from the npm registry"
  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' EXIT
  (cd "${tmp}" && npm pack --silent "${bindings_pkg}" >/dev/null && npm pack --silent "${header_pkg}" >/dev/null)
  mkdir -p "${tmp}/bindings" "${tmp}/header" "${dest}/lib" "${dest}/include"
  tar -xzf "${tmp}"/duckdb-node-bindings-linux-x64-*.tgz -C "${tmp}/bindings"
  tar -xzf "${tmp}/duckdb-${duck_version}.tgz" -C "${tmp}/header" package/src/duckdb/src/include/duckdb.h
  cp "${tmp}/bindings/package/libduckdb.so" "${dest}/lib/libduckdb.so"
  cp "${tmp}/bindings/package/LICENSE" "${dest}/LICENSE" 2>/dev/null || true
  cp "${tmp}/header/package/src/duckdb/src/include/duckdb.h" "${dest}/include/duckdb.h"
  echo "${duck_version}" >"${stamp}"
  echo "bootstrap: DuckDB ${duck_version} installed in ${dest}"
fi
