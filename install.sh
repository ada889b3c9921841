#!/bin/sh
# Installs wandb-login: picks this machine's release asset, checks it against SHA256SUMS, runs it
# from a temporary folder, and only then moves it into place. A working install is never replaced
# by one that does not run.
#   curl -fsSLo install.sh https://github.com/wandb-login/wandb-login/releases/latest/download/install.sh && sh install.sh
# POSIX sh: runs under dash and busybox sh too. Never prompts. `sh install.sh --help` for options.
set -eu

REPO="wandb-login/wandb-login" # package.json's "repository" (tests/release.test.ts checks they agree)

usage() {
  cat <<'EOF'
Usage: sh install.sh [OPTIONS]

Installs wandb-login for this machine (Linux or macOS, x86_64 or arm64), checked against the
release's SHA256SUMS and run once before it replaces anything.

Options:
  --version VERSION  install this release, e.g. 0.1.0 (default: the latest)
  --dir DIR          install into DIR (default: /usr/local/bin as root, else ~/.local/bin)
  --uninstall        remove wandb-login from DIR (stored keys stay: run `wandb-login logout` first)
  -y, --yes          accepted for scripts; the installer never prompts
  -q, --quiet        print only errors
  -h, --help         show this help

Environment: WANDB_LOGIN_VERSION, WANDB_LOGIN_INSTALL_DIR (as --version, --dir),
WANDB_LOGIN_BASE_URL (a folder with the assets and SHA256SUMS: a mirror).
EOF
}

fail() {
  echo "wandb-login install: $*" >&2
  exit 1
}
note() { [ "$quiet" = yes ] || echo "wandb-login install: $*" >&2; }

# --- arguments ---

version=${WANDB_LOGIN_VERSION:-latest}
dir=${WANDB_LOGIN_INSTALL_DIR:-}
quiet=no
action=install
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage && exit 0 ;;
    --version | --dir)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "wandb-login install: $1 needs a value. See --help." >&2 && exit 2; }
      if [ "$1" = --version ]; then version=$2; else dir=$2; fi
      shift
      ;;
    --version=*) version=${1#*=} ;;
    --dir=*) dir=${1#*=} ;;
    --uninstall) action=uninstall ;;
    -y | --yes) ;;
    -q | --quiet) quiet=yes ;;
    *) echo "wandb-login install: unknown argument '$1'. See --help." >&2 && exit 2 ;;
  esac
  shift
done

if [ -z "$dir" ]; then
  if [ "$(id -u)" = 0 ]; then
    dir=/usr/local/bin
  else
    [ -n "${HOME:-}" ] || fail "HOME is not set: use --dir to choose the folder."
    dir="$HOME/.local/bin"
  fi
fi

if [ "$action" = uninstall ]; then
  [ -e "$dir/wandb-login" ] || { note "no wandb-login in $dir; nothing to remove." && exit 0; }
  rm -f "$dir/wandb-login" || fail "cannot remove $dir/wandb-login."
  note "removed $dir/wandb-login. Keys it stored stay in your netrc file."
  exit 0
fi

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

# musl is what the C library says it is (Alpine, or ldd naming musl); a glibc system with Debian's
# musl package has /lib/ld-musl-* too, and the musl build does not run there.
suffix=""
musl=no
if [ "$os" = linux ]; then
  if [ -e /etc/alpine-release ] || (ldd --version 2>&1 | grep -qi musl); then
    musl=yes
    suffix="-musl"
  fi
  if [ "$cpu" = x64 ] && [ -r /proc/cpuinfo ] && ! grep -qw avx2 /proc/cpuinfo; then
    [ "$musl" = yes ] && fail "this CPU lacks AVX2 and there is no baseline musl build; use a glibc-based image."
    suffix="-baseline"
  fi
fi
asset="wandb-login-$os-$cpu$suffix"

if [ -n "${WANDB_LOGIN_BASE_URL:-}" ]; then
  base=${WANDB_LOGIN_BASE_URL%/}
elif [ "$version" = latest ]; then
  base="https://github.com/$REPO/releases/latest/download"
else
  base="https://github.com/$REPO/releases/download/v${version#v}"
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

# --- download, check, run, install ---

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t wandb-login)
trap 'rm -rf "$tmp"; [ -z "${staged:-}" ] || rm -f "$staged"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# .xz is about a quarter smaller; .gz where xz is missing
if command -v xz >/dev/null 2>&1; then packed=xz; else packed=gz; fi
download "$base/SHA256SUMS" "$tmp/SHA256SUMS"
download "$base/$asset.$packed" "$tmp/$asset.$packed"
verify "$tmp/$asset.$packed" "$asset.$packed"
if [ "$packed" = xz ]; then unpack="xz -dc"; else unpack="gzip -dc"; fi
$unpack "$tmp/$asset.$packed" >"$tmp/$asset" || fail "could not unpack $asset.$packed"
verify "$tmp/$asset" "$asset"
chmod 755 "$tmp/$asset"

if ! installed=$("$tmp/$asset" --version 2>&1); then
  [ "$musl" = yes ] && note "the musl build needs the C++ runtime: apk add libstdc++ libgcc"
  fail "$asset does not run on this machine ($installed); nothing was installed or replaced."
fi

mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir: use --dir to choose a folder you can write."
staged="$dir/.wandb-login.new.$$" # in the target folder, so the final mv is one atomic rename
cp "$tmp/$asset" "$staged" 2>/dev/null || fail "cannot write to $dir: use --dir to choose a folder you can write."
chmod 755 "$staged"
mv -f "$staged" "$dir/wandb-login" || fail "cannot replace $dir/wandb-login."
staged=""

case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) note "$dir is not on your PATH; add it with: export PATH=\"$dir:\$PATH\"" ;;
esac
[ "$quiet" = yes ] || echo "wandb-login $installed installed to $dir/wandb-login ($asset)"
