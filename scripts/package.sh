#!/usr/bin/env bash
# Builds the three Lambda packages: target/lambda/<function>/bootstrap.zip (what infra/ deploys).
#
#   scripts/package.sh            (wired as `make package`)
#
# cargo-lambda comes from PyPI into .venv/cargo-lambda: its wheel ships the cargo-lambda binary
# and depends on `ziglang`, whose zig is the C compiler/linker that lets the build target an
# older glibc than this machine's. Nothing is downloaded outside the package registries.
#
# After the build, every `bootstrap` is checked for glibc symbol versions newer than the
# provided.al2023 runtime's glibc (2.34): a binary linked against a newer glibc starts locally
# and fails on Lambda with "version `GLIBC_2.xx' not found".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

FUNCTIONS=(oauth-callback sync-tick sync-status)
MAX_GLIBC="2.34"
VENV="$ROOT/.venv/cargo-lambda"
# Pinned so that a build next month uses the same toolchain wrapper and zig.
CARGO_LAMBDA_SPEC="${CARGO_LAMBDA_SPEC:-cargo-lambda==1.9.2}"

step() { printf '\n== %s\n' "$*"; }

# --- toolchain -------------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/cargo-lambda" ]]; then
  step "installing $CARGO_LAMBDA_SPEC into .venv/cargo-lambda"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$CARGO_LAMBDA_SPEC"
fi
# cargo finds `cargo-lambda` on PATH; cargo-lambda finds zig as `python3 -m ziglang`, so the
# venv's python must come first too.
export PATH="$VENV/bin:$PATH"
step "$(cargo lambda --version)"

# --- build -----------------------------------------------------------------------------------
pkg_args=()
for f in "${FUNCTIONS[@]}"; do pkg_args+=(-p "$f"); done

step "cargo lambda build --release --output-format zip ${pkg_args[*]}"
start=$SECONDS
cargo lambda build --release --output-format zip "${pkg_args[@]}"
echo "built in $((SECONDS - start)) s"

# --- checks ----------------------------------------------------------------------------------
step "glibc check (provided.al2023 has glibc $MAX_GLIBC)"
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
status=0

version_gt() { # version_gt A B: A > B (dotted numeric versions)
  [[ "$1" != "$2" && "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1)" == "$1" ]]
}

for f in "${FUNCTIONS[@]}"; do
  zip="target/lambda/$f/bootstrap.zip"
  if [[ ! -f "$zip" ]]; then
    echo "FAIL $f: $zip missing"; status=1; continue
  fi
  # Check the binary that is actually in the zip, not a neighbouring build output.
  mkdir -p "$workdir/$f"
  unzip -q -o "$zip" -d "$workdir/$f"
  bin="$workdir/$f/bootstrap"
  if [[ ! -x "$bin" ]]; then
    echo "FAIL $f: the zip has no executable 'bootstrap' at its root"; status=1; continue
  fi

  # Static or musl binaries have no dynamic glibc symbols at all: say so rather than pass silently.
  interp="$(readelf -l "$bin" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
  if [[ -z "$interp" ]]; then
    echo "ok   $f: statically linked (no program interpreter): no glibc requirement"
    continue
  fi
  if [[ "$interp" == *musl* ]]; then
    echo "ok   $f: linked against musl ($interp): no glibc requirement"
    continue
  fi
  newest="$(objdump -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)"
  if [[ -z "$newest" ]]; then
    echo "ok   $f: dynamic ($interp) but needs no versioned glibc symbol"
  elif version_gt "$newest" "$MAX_GLIBC"; then
    echo "FAIL $f: needs GLIBC_$newest > $MAX_GLIBC; symbols:"
    objdump -T "$bin" | grep -E "GLIBC_$newest([^0-9.]|$)" | awk '{print "       " $NF}' | head -n 10
    status=1
  else
    echo "ok   $f: newest glibc symbol version GLIBC_$newest <= $MAX_GLIBC (interpreter $interp)"
  fi
  if ! readelf -h "$bin" | grep -q 'X86-64'; then
    echo "FAIL $f: not an x86-64 binary (infra/ deploys architecture x86_64)"; status=1
  fi
done

step "sizes"
printf '%-16s %12s %12s\n' function bootstrap zip
for f in "${FUNCTIONS[@]}"; do
  zip="target/lambda/$f/bootstrap.zip"
  [[ -f "$zip" && -f "$workdir/$f/bootstrap" ]] || continue
  printf '%-16s %12s %12s\n' "$f" \
    "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$workdir/$f/bootstrap")")" \
    "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$zip")")"
done

if [[ $status -ne 0 ]]; then
  echo; echo "package: FAILED"; exit 1
fi
echo; echo "package: ok (target/lambda/<function>/bootstrap.zip)"
