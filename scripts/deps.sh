#!/usr/bin/env bash
# Installs the Debian packages custos needs to build, test and benchmark.
set -euo pipefail
PKGS=(
	build-essential pkg-config clang libclang-rt-14-dev libtsan2
	libzstd-dev zstd libssl-dev openssl libsqlite3-dev sqlite3
	libmicrohttpd-dev libarchive-dev libjansson-dev libyajl-dev libexpat1-dev
	libsodium-dev libstemmer-dev libcmocka-dev
	curl python3 valgrind python3-jsonschema jq
	time
	postgresql-15 prosody python3-slixmpp python3-nacl
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
