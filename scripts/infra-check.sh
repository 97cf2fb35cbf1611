#!/usr/bin/env bash
# Static checks of infra/ (wired as `make infra-check`). No AWS account and no Terraform
# provider are needed (none can be downloaded here), so the checks are:
#   1. terraform fmt -check -recursive infra   (when a terraform binary is present)
#   2. every infra/*.tf parses with python-hcl2
#   3. checkov passes; every skip is written inline in the .tf with its reason (no config file)
#   4. pytest tests/infra: infra/ agrees with the code (table schema, frequencies, function
#      crates and zips, environment variables, IAM rules)
#
# Tools live in venvs under the repository, installed on first use:
#   .venv/hcl2     python-hcl2 + pytest
#   .venv/checkov  checkov (its own venv: it pins many libraries, among them its own HCL parser)
#
# STORE_SCHEMA_JSON=<file> reuses an already printed `cargo run -q -p shared --example
# store_schema`; otherwise it is run once here. INFRA_VENV_ROOT moves the venvs (used to time a
# cold run without touching .venv/).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV_ROOT="${INFRA_VENV_ROOT:-$ROOT/.venv}"
# No __pycache__ left in tests/infra (it is not in .gitignore).
export PYTHONDONTWRITEBYTECODE=1
# Exact versions: a new checkov release adds checks, which must not turn CI red on its own.
HCL2_SPECS=(python-hcl2==8.1.4 pytest==9.2.0)
CHECKOV_SPEC="checkov==3.3.30"

declare -a SUMMARY=()
failed=0
t0=$SECONDS

record() { # record NAME STATUS SECONDS [NOTE]
  SUMMARY+=("$(printf '%-10s %-5s %4ss  %s' "$1" "$2" "$3" "${4:-}")")
  [[ "$2" == FAIL ]] && failed=1
  return 0
}

ensure_venv() { # ensure_venv DIR PROBE_MODULE SPEC...
  local dir="$1" probe="$2"; shift 2
  if [[ -x "$dir/bin/python" ]] && "$dir/bin/python" -c "import $probe" >/dev/null 2>&1; then
    return 0
  fi
  echo "installing $* into ${dir#"$ROOT"/}"
  python3 -m venv "$dir" && "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}

# --- tools -----------------------------------------------------------------------------------
s=$SECONDS
if ensure_venv "$VENV_ROOT/hcl2" "hcl2, pytest" "${HCL2_SPECS[@]}" \
  && ensure_venv "$VENV_ROOT/checkov" "checkov" "$CHECKOV_SPEC"; then
  record tools ok $((SECONDS - s))
else
  record tools FAIL $((SECONDS - s)) "pip install failed"
  printf '%s\n' "${SUMMARY[@]}"; exit 1
fi

# --- 1. terraform fmt ------------------------------------------------------------------------
s=$SECONDS
if command -v terraform >/dev/null 2>&1; then
  # An empty CLI config silences the "no credentials / plugin cache" warnings; fmt needs none.
  tfrc="$(mktemp)"
  if TF_CLI_CONFIG_FILE="$tfrc" terraform fmt -check -recursive -diff infra; then
    record fmt ok $((SECONDS - s))
  else
    record fmt FAIL $((SECONDS - s)) "run: terraform fmt -recursive infra"
  fi
  rm -f "$tfrc"
else
  echo "terraform not installed: fmt check skipped"
  record fmt skip 0 "no terraform binary"
fi

# --- 2. HCL parse ----------------------------------------------------------------------------
s=$SECONDS
if "$VENV_ROOT/hcl2/bin/python" - <<'PY'
import sys, pathlib
sys.path.insert(0, "tests/infra")
import infra_model
bad = 0
files = sorted(pathlib.Path("infra").glob("*.tf"))
if not files:
    print("no .tf files in infra/"); sys.exit(1)
for p in files:
    try:
        infra_model.parse_file(p)
    except Exception as e:  # noqa: BLE001 - report every file, then fail
        bad += 1
        print(f"{p}: {type(e).__name__}: {e}")
print(f"{len(files) - bad}/{len(files)} .tf files parse")
sys.exit(1 if bad else 0)
PY
then
  record parse ok $((SECONDS - s))
else
  record parse FAIL $((SECONDS - s))
fi

# --- 3. checkov ------------------------------------------------------------------------------
s=$SECONDS
# Skips belong inline, next to the resource and with a reason; a config file would hide them.
if ls .checkov.y*ml infra/.checkov.y*ml >/dev/null 2>&1; then
  echo "a .checkov.yaml exists: write skips inline as #checkov:skip=CKV_...:reason instead"
  record checkov FAIL $((SECONDS - s)) "config file present"
elif grep -rnE '#\s*checkov:skip=[A-Z0-9_]+\s*$' infra; then
  echo "the skips above have no reason (#checkov:skip=CKV_...:reason)"
  record checkov FAIL $((SECONDS - s)) "skip without reason"
else
  ck_out="$(mktemp)"
  "$VENV_ROOT/checkov/bin/checkov" -d infra --framework terraform --skip-download --compact --quiet >"$ck_out" 2>&1
  rc=$?
  cat "$ck_out"
  counts="$(grep -o 'Passed checks: [0-9]*, Failed checks: [0-9]*, Skipped checks: [0-9]*' "$ck_out" | head -n1)"
  rm -f "$ck_out"
  if [[ $rc -eq 0 ]]; then
    record checkov ok $((SECONDS - s)) "$counts"
  else
    record checkov FAIL $((SECONDS - s)) "$counts"
  fi
fi

# --- 4. consistency tests --------------------------------------------------------------------
s=$SECONDS
schema_note=""
if [[ -z "${STORE_SCHEMA_JSON:-}" ]]; then
  schema_file="$(mktemp)"
  trap 'rm -f "$schema_file"' EXIT
  if cargo run -q -p shared --example store_schema >"$schema_file"; then
    export STORE_SCHEMA_JSON="$schema_file"
  else
    record pytest FAIL $((SECONDS - s)) "cargo run -p shared --example store_schema failed"
    schema_file=""
  fi
else
  schema_note="(precomputed store_schema)"
fi
if [[ -n "${STORE_SCHEMA_JSON:-}" ]]; then
  py_out="$(mktemp)"
  # -p no:cacheprovider: leave no .pytest_cache in the tree.
  "$VENV_ROOT/hcl2/bin/python" -m pytest -q --tb=short -p no:cacheprovider tests/infra 2>&1 | tee "$py_out"
  rc=${PIPESTATUS[0]}
  last="$(grep -E '[0-9]+ (passed|failed)' "$py_out" | tail -n1 | sed 's/=//g; s/^ *//; s/ *$//')"
  rm -f "$py_out"
  if [[ $rc -eq 0 ]]; then
    record pytest ok $((SECONDS - s)) "$last $schema_note"
  else
    record pytest FAIL $((SECONDS - s)) "$last"
  fi
fi

# --- summary ---------------------------------------------------------------------------------
echo
echo "infra-check summary ($((SECONDS - t0)) s):"
printf '  %s\n' "${SUMMARY[@]}"
if [[ $failed -ne 0 ]]; then
  echo "infra-check: FAILED"
  exit 1
fi
echo "infra-check: ok"
