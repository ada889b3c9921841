#!/bin/sh
# Installs wandb-login: picks this machine's release asset, checks it against SHA256SUMS, and puts
# the binary in WANDB_LOGIN_INSTALL_DIR (else /usr/local/bin as root, else ~/.local/bin).
#   curl -fsSL <the latest release's download URL>/install.sh | sh
# Settings (all optional):
#   WANDB_LOGIN_VERSION      a version to pin, e.g. 0.1.0 (default: the latest release)
#   WANDB_LOGIN_BASE_URL     a folder holding the assets and SHA256SUMS (a mirror; overrides the above)
#   WANDB_LOGIN_INSTALL_DIR  where the binary goes
# POSIX sh: runs under dash and busybox sh too. Never prompts.
set -eu

REPO="wandb-login/wandb-login" # the one place the repository slug lives

fail() {
  echo "wandb-login install: $*" >&2
  exit 1
}
note() { echo "wandb-login install: $*" >&2; }

# --- which asset ---

os=$(uname -s)
cpu=$(uname -m)
case "$os" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  MINGW* | MSYS* | CYGWIN*) fail "on Windows, download wandb-login-windows-x64.exe from https://github.com/$REPO/releases instead." ;;
  *) fail "no build for the operating system '$os' (there are builds for Linux, macOS and Windows)." ;;
esac
case "$cpu" in
  x86_64 | amd64) cpu=x64 ;;
  aarch64 | arm64) cpu=arm64 ;;
  *) fail "no build for the CPU '$cpu' (there are builds for x86_64 and arm64)." ;;
esac

suffix=""
musl=no
if [ "$os" = linux ]; then
  if ls /lib/ld-musl-* >/dev/null 2>&1 || (ldd --version 2>&1 | grep -qi musl); then
    musl=yes
    suffix="-musl"
  fi
  if [ "$cpu" = x64 ] && [ -r /proc/cpuinfo ] && ! grep -qw avx2 /proc/cpuinfo; then
    [ "$musl" = yes ] && fail "this CPU lacks AVX2 and there is no baseline musl build; use a glibc-based image."
    suffix="-baseline"
  fi
fi
asset="wandb-login-$os-$cpu$suffix"

version=${WANDB_LOGIN_VERSION:-latest}
if [ -n "${WANDB_LOGIN_BASE_URL:-}" ]; then
  base=${WANDB_LOGIN_BASE_URL%/}
elif [ "$version" = latest ]; then
  base="https://github.com/$REPO/releases/latest/download"
else
  base="https://github.com/$REPO/releases/download/v${version#v}"
fi

if [ -n "${WANDB_LOGIN_INSTALL_DIR:-}" ]; then
  dir=$WANDB_LOGIN_INSTALL_DIR
elif [ "$(id -u)" = 0 ]; then
  dir=/usr/local/bin
else
  [ -n "${HOME:-}" ] || fail "HOME is not set: set WANDB_LOGIN_INSTALL_DIR to the folder to install into."
  dir="$HOME/.local/bin"
fi

# --- tools ---

download() { # url file
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" || fail "could not download $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || fail "could not download $1"
  else
    fail "needs curl or wget to download."
  fi
}

sha256() { # file
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "needs sha256sum or shasum to check the download."
  fi
}

verify() { # file name: the file's checksum must be the one SHA256SUMS lists for that name
  want=$(awk -v name="$2" '$2 == name || $2 == "*" name { print $1; exit }' "$tmp/SHA256SUMS")
  [ -n "$want" ] || fail "SHA256SUMS has no checksum for $2; refusing to install."
  got=$(sha256 "$1")
  [ "$got" = "$want" ] || fail "checksum mismatch for $2 (expected $want, got $got); refusing to install."
}

# --- download, check, install ---

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t wandb-login)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

download "$base/SHA256SUMS" "$tmp/SHA256SUMS"
download "$base/$asset.gz" "$tmp/$asset.gz"
verify "$tmp/$asset.gz" "$asset.gz"
gzip -dc "$tmp/$asset.gz" >"$tmp/$asset" || fail "could not unpack $asset.gz"
verify "$tmp/$asset" "$asset"
chmod 755 "$tmp/$asset"

mkdir -p "$dir" || fail "cannot create $dir: set WANDB_LOGIN_INSTALL_DIR to a folder you can write."
mv -f "$tmp/$asset" "$dir/wandb-login.new" 2>/dev/null || cp "$tmp/$asset" "$dir/wandb-login.new" ||
  fail "cannot write to $dir: set WANDB_LOGIN_INSTALL_DIR to a folder you can write."
mv -f "$dir/wandb-login.new" "$dir/wandb-login"

if ! installed=$("$dir/wandb-login" --version 2>&1); then
  [ "$musl" = yes ] && note "the musl build needs the C++ runtime: apk add libstdc++ libgcc"
  fail "installed $dir/wandb-login, but it does not run: $installed"
fi
case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) note "$dir is not on your PATH; add it with: export PATH=\"$dir:\$PATH\"" ;;
esac
echo "wandb-login $installed installed to $dir/wandb-login ($asset)"
