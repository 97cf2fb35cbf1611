"""Reads infra/*.tf with python-hcl2 and checks it against the code.

Every check is a function that returns a list of problems (empty: consistent), so that the
tests can both assert that the real configuration passes and that a mutated input fails.
Terraform expressions are not evaluated; only the few forms this configuration uses are
resolved (`${local.x}`, `${concat(local.a, local.b)}`), and anything else where a literal is
expected is reported as a problem rather than skipped.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
FUNCTIONS = REPO / "functions"


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def parse_file(path: Path) -> dict:
    """Parses one .tf file into plain dicts (string literals without their quotes)."""
    with open(path, encoding="utf-8") as f:
        options = getattr(hcl2, "SerializationOptions", None)
        if options is None:  # python-hcl2 < 7 already strips quotes and has no options
            return hcl2.load(f)
        return hcl2.load(
            f,
            serialization_options=options(
                with_comments=False, explicit_blocks=False, strip_string_quotes=True
            ),
        )


@dataclass
class Infra:
    """All .tf files of a folder merged: resources[type][name], data[type][name], ..."""

    resources: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    locals: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    terraform: list = field(default_factory=list)

    def copy(self) -> "Infra":
        return copy.deepcopy(self)

    def __repr__(self) -> str:  # keeps pytest failure output short
        return f"Infra({sum(len(v) for v in self.resources.values())} resources)"


def load_infra(folder: Path = INFRA) -> Infra:
    infra = Infra()
    files = sorted(folder.glob("*.tf"))
    if not files:
        raise FileNotFoundError(f"no .tf files in {folder}")
    for path in files:
        doc = parse_file(path)
        for kind, target in (("resource", infra.resources), ("data", infra.data)):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        if name in target.setdefault(rtype, {}):
                            raise ValueError(f"{rtype}.{name} defined twice")
                        target[rtype][name] = body
        for block in doc.get("locals", []):
            infra.locals.update(block)
        for block in doc.get("variable", []):
            infra.variables.update(block)
        for block in doc.get("output", []):
            infra.outputs.update(block)
        infra.terraform.extend(doc.get("terraform", []))
    return infra


def store_schema() -> dict:
    """The store_schema example's JSON: from $STORE_SCHEMA_JSON (a file) when the caller
    already ran it, otherwise from cargo."""
    precomputed = os.environ.get("STORE_SCHEMA_JSON")
    if precomputed:
        return json.loads(Path(precomputed).read_text(encoding="utf-8"))
    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "shared", "--example", "store_schema"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def function_crates(functions_dir: Path = FUNCTIONS) -> list[str]:
    """Package names of the function crates under functions/."""
    names = []
    for manifest in sorted(functions_dir.glob("*/Cargo.toml")):
        with open(manifest, "rb") as f:
            names.append(tomllib.load(f)["package"]["name"])
    return names


# --------------------------------------------------------------------------------------------
# Expression helpers
# --------------------------------------------------------------------------------------------

REF = re.compile(r"^\$\{([A-Za-z0-9_.\-\[\]\"]+)\}$")


def ref(value) -> str | None:
    """`${a.b.c}` -> `a.b.c`; anything else -> None."""
    if isinstance(value, str):
        m = REF.match(value)
        if m:
            return m.group(1)
    return None


def resolve_list(value, infra: Infra) -> list | None:
    """A list literal, `${local.x}` or `${concat(local.a, local.b)}` -> list; else None."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        return None
    r = ref(value)
    if r and r.startswith("local."):
        return resolve_list(infra.locals.get(r[len("local."):]), infra)
    m = re.match(r"^\$\{concat\(([^()]*)\)\}$", value)
    if m:
        out = []
        for part in m.group(1).split(","):
            part = part.strip()
            if not part.startswith("local."):
                return None
            items = resolve_list(infra.locals.get(part[len("local."):]), infra)
            if items is None:
                return None
            out.extend(items)
        return out
    return None


def single(body: dict, key: str):
    """A nested block (parsed as a list of one dict) -> the dict."""
    value = body.get(key)
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return value[0]
    if isinstance(value, dict):
        return value
    return None


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def check_table(infra: Infra, schema: dict) -> list[str]:
    """The DynamoDB table equals shared::store::schema::table_schema()."""
    t = schema["table"]
    tables = infra.resources.get("aws_dynamodb_table", {})
    if len(tables) != 1:
        return [f"expected exactly one aws_dynamodb_table, found {sorted(tables)}"]
    (name, body), = tables.items()
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append(f"table {name}: {what} is {got!r}, the store expects {want!r}")

    expect("billing_mode", body.get("billing_mode"), t["billing_mode"])
    expect("hash_key", body.get("hash_key"), t["key"]["hash_key"])
    expect("range_key", body.get("range_key"), t["key"]["range_key"])

    attributes = {a.get("name"): a.get("type") for a in body.get("attribute", [])}
    key_attributes = {t["key"]["hash_key"], t["key"]["range_key"]}
    for gsi in t["global_secondary_indexes"]:
        key_attributes |= {gsi["hash_key"], gsi["range_key"]}
    # Terraform (and DynamoDB) require attribute blocks for key attributes only, and all of them.
    expect("attributes", attributes, {a: t["attribute_type"] for a in sorted(key_attributes)})

    got_gsis = {
        g.get("name"): {
            "hash_key": g.get("hash_key"),
            "range_key": g.get("range_key"),
            "projection": g.get("projection_type"),
        }
        for g in body.get("global_secondary_index", [])
    }
    want_gsis = {
        g["name"]: {"hash_key": g["hash_key"], "range_key": g["range_key"], "projection": g["projection"]}
        for g in t["global_secondary_indexes"]
    }
    expect("global secondary indexes", got_gsis, want_gsis)

    ttl = single(body, "ttl") or {}
    expect("ttl attribute", ttl.get("attribute_name"), t["ttl_attribute"])
    expect("ttl enabled", ttl.get("enabled"), True)
    pitr = single(body, "point_in_time_recovery") or {}
    expect("point-in-time recovery", pitr.get("enabled"), True)
    sse = single(body, "server_side_encryption") or {}
    expect("server-side encryption", sse.get("enabled"), True)
    if not (ref(sse.get("kms_key_arn")) or "").startswith("aws_kms_key."):
        problems.append(f"table {name}: server-side encryption does not use a customer-managed aws_kms_key")
    return problems


def check_frequencies(infra: Infra, schema: dict) -> list[str]:
    """Default frequencies, their validation, rate map and schedule inputs match the tick's keys."""
    keys = schema["frequencies"]
    problems = []
    var = infra.variables.get("frequencies")
    if var is None:
        return ["no variable \"frequencies\""]
    if var.get("default") != keys:
        problems.append(f"var.frequencies default {var.get('default')!r} != tick keys {keys!r}")
    # The validation must name exactly the accepted keys.
    conditions = " ".join(v.get("condition", "") for v in var.get("validation", []))
    listed = re.findall(r'contains\(\[([^\]]*)\]', conditions)
    accepted = [s.strip().strip('"') for s in listed[0].split(",")] if listed else None
    if accepted is None or sorted(accepted) != sorted(keys):
        problems.append(f"var.frequencies validation accepts {accepted!r}, the tick accepts {keys!r}")

    rates = infra.locals.get("schedule_rates", {})
    if sorted(rates) != sorted(keys):
        problems.append(f"local.schedule_rates keys {sorted(rates)} != tick keys {sorted(keys)}")
    for key, rate in rates.items():
        m = re.fullmatch(r"(\d+)([mh])", key)
        expr = rate.get("expression") if isinstance(rate, dict) else None
        if not m or not expr:
            problems.append(f"schedule rate {key!r}: unreadable")
            continue
        n, unit = int(m.group(1)), {"m": "minute", "h": "hour"}[m.group(2)]
        want = f"rate({n} {unit}{'s' if n != 1 else ''})"
        if expr != want:
            problems.append(f"schedule rate {key!r} is {expr!r}, expected {want!r}")

    schedules = infra.resources.get("aws_scheduler_schedule", {})
    if len(schedules) != 1:
        return problems + [f"expected one aws_scheduler_schedule (for_each over frequencies), found {sorted(schedules)}"]
    (name, body), = schedules.items()
    if body.get("for_each") != "${toset(var.frequencies)}":
        problems.append(f"schedule {name}: for_each is {body.get('for_each')!r}, expected toset(var.frequencies)")
    target = single(body, "target") or {}
    input_expr = (target.get("input") or "").replace(" ", "")
    if input_expr != "${jsonencode({frequency=each.key})}":
        problems.append(f"schedule {name}: input is {target.get('input')!r}, expected jsonencode({{ frequency = each.key }})")
    tick = infra.resources.get("aws_lambda_function", {}).get("sync_tick")
    if target.get("arn") != "${aws_lambda_function.sync_tick.arn}" or tick is None:
        problems.append(f"schedule {name}: target is {target.get('arn')!r}, expected the sync-tick function")
    if not single(target, "retry_policy"):
        problems.append(f"schedule {name}: no retry policy")
    if not single(target, "dead_letter_config"):
        problems.append(f"schedule {name}: no dead-letter queue")
    return problems


ZIP = re.compile(r"^\$\{path\.module\}/\.\./(target/lambda/[^/]+/bootstrap\.zip)$")


def lambda_functions_by_crate(infra: Infra) -> tuple[dict, list[str]]:
    """{crate name: (resource name, body)} from each function's zip path."""
    out, problems = {}, []
    for name, body in infra.resources.get("aws_lambda_function", {}).items():
        m = ZIP.match(body.get("filename", ""))
        if not m:
            problems.append(f"aws_lambda_function.{name}: filename {body.get('filename')!r} is not ${{path.module}}/../target/lambda/<fn>/bootstrap.zip")
            continue
        crate = m.group(1).split("/")[2]
        out[crate] = (name, body)
    return out, problems


def check_packages(infra: Infra, crates: list[str]) -> list[str]:
    """One function per crate under functions/, each with the zip `make package` produces."""
    functions, problems = lambda_functions_by_crate(infra)
    if sorted(functions) != sorted(crates):
        problems.append(f"functions with zips {sorted(functions)} != crates under functions/ {sorted(crates)}")
    for crate, (name, body) in functions.items():
        path = f"${{path.module}}/../target/lambda/{crate}/bootstrap.zip"
        if body.get("source_code_hash") != f'${{filebase64sha256("{path}")}}':
            problems.append(f"aws_lambda_function.{name}: source_code_hash is not filebase64sha256 of its own zip")
        if body.get("function_name") != f"${{local.fn_{crate.replace('-', '_')}}}":
            problems.append(f"aws_lambda_function.{name}: function_name {body.get('function_name')!r} is not local.fn_{crate.replace('-', '_')}")
        if infra.locals.get(f"fn_{crate.replace('-', '_')}") != f"${{var.name_prefix}}-{crate}":
            problems.append(f"local.fn_{crate.replace('-', '_')} is not \"${{var.name_prefix}}-{crate}\"")
        for attr, want in (("runtime", "provided.al2023"), ("handler", "bootstrap"), ("architectures", ["x86_64"])):
            if body.get(attr) != want:
                problems.append(f"aws_lambda_function.{name}: {attr} is {body.get(attr)!r}, expected {want!r}")
        tracing = single(body, "tracing_config") or {}
        if tracing.get("mode") != "Active":
            problems.append(f"aws_lambda_function.{name}: X-Ray tracing is not Active")
    return problems


def check_environment(infra: Infra, schema: dict) -> list[str]:
    """Each function's environment variable names equal shared::config::env_vars_for()."""
    functions, problems = lambda_functions_by_crate(infra)
    for crate, want in schema["environment"].items():
        if crate not in functions:
            problems.append(f"no Lambda function for {crate}")
            continue
        name, body = functions[crate]
        env = single(body, "environment") or {}
        variables = env.get("variables")
        if not isinstance(variables, dict):
            problems.append(f"aws_lambda_function.{name}: environment variables are not a literal map")
            continue
        if sorted(variables) != sorted(want):
            problems.append(f"aws_lambda_function.{name}: environment {sorted(variables)} != {crate}'s {sorted(want)}")
        if schema["table"]["table_env"] in variables and variables[schema["table"]["table_env"]] != "${aws_dynamodb_table.state.name}":
            problems.append(f"aws_lambda_function.{name}: {schema['table']['table_env']} is not the state table")
        if "SECRET_PREFIX" in variables and variables["SECRET_PREFIX"] != "${local.token_secret_prefix}":
            problems.append(f"aws_lambda_function.{name}: SECRET_PREFIX is not local.token_secret_prefix")
    extra = sorted(set(functions) - set(schema["environment"]))
    if extra:
        problems.append(f"functions {extra} have no environment list in the store_schema JSON")
    return problems


def all_statements(infra: Infra):
    """(document name, statement) for every aws_iam_policy_document statement."""
    for doc_name, doc in infra.data.get("aws_iam_policy_document", {}).items():
        for st in doc.get("statement", []):
            yield doc_name, st


def check_no_wildcard_actions(infra: Infra) -> list[str]:
    """No statement allows "*" or "<service>:*", uses not_actions, or has unreadable actions;
    inline JSON policies (which this check cannot read) are not used."""
    problems = []
    for doc_name, st in all_statements(infra):
        sid = st.get("sid", "?")
        if "not_actions" in st:
            problems.append(f"{doc_name}/{sid}: not_actions")
        actions = resolve_list(st.get("actions"), infra)
        if actions is None:
            problems.append(f"{doc_name}/{sid}: actions {st.get('actions')!r} cannot be read statically")
            continue
        for a in actions:
            if a == "*" or a.endswith(":*"):
                problems.append(f"{doc_name}/{sid}: wildcard action {a!r}")
    for rtype in ("aws_iam_role_policy", "aws_iam_policy", "aws_iam_role", "aws_sqs_queue_policy", "aws_sns_topic_policy", "aws_kms_key"):
        for name, body in infra.resources.get(rtype, {}).items():
            for attr in ("policy", "assume_role_policy", "inline_policy"):
                value = body.get(attr)
                if value is not None and not re.fullmatch(r"\$\{data\.aws_iam_policy_document\.[a-z0-9_]+\.json\}", str(value)):
                    problems.append(f"{rtype}.{name}.{attr} is not an aws_iam_policy_document (cannot be checked)")
    return problems


def check_wildcard_resources(infra: Infra) -> list[str]:
    """Resource "*" only for X-Ray (no resource-level permissions) and in KMS key policies
    (where "*" means the key itself)."""
    key_policies = {
        ref(body.get("policy", "")).split(".")[2]
        for body in infra.resources.get("aws_kms_key", {}).values()
        if ref(body.get("policy", ""))
    }
    problems = []
    for doc_name, st in all_statements(infra):
        resources = resolve_list(st.get("resources", []), infra) or []
        if "*" in resources and doc_name not in key_policies:
            actions = resolve_list(st.get("actions"), infra) or []
            if not actions or not all(a.startswith("xray:") for a in actions):
                problems.append(f"{doc_name}/{st.get('sid', '?')}: resource \"*\" for {actions}")
    return problems


# The secrets each function may reach (see infra/iam.tf).
SECRET_RULES = {
    "oauth-callback": {
        "tokens": {"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"},
        "app": {"secretsmanager:GetSecretValue"},
    },
    "sync-tick": {
        "tokens": {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"},
        "app": {"secretsmanager:GetSecretValue"},
    },
    "sync-status": {},
}


def role_documents(infra: Infra, function_body: dict) -> tuple[str | None, list[str], list[str]]:
    """The role of a function and the policy documents attached to it."""
    problems = []
    role_ref = ref(function_body.get("role", "")) or ""
    m = re.fullmatch(r"aws_iam_role\.([a-z0-9_]+)\.arn", role_ref)
    if not m:
        return None, [], [f"role {function_body.get('role')!r} is not an aws_iam_role of this configuration"]
    role = m.group(1)
    docs = []
    for pname, p in infra.resources.get("aws_iam_role_policy", {}).items():
        if ref(p.get("role", "")) in (f"aws_iam_role.{role}.id", f"aws_iam_role.{role}.name"):
            dm = re.fullmatch(r"data\.aws_iam_policy_document\.([a-z0-9_]+)\.json", ref(p.get("policy", "")) or "")
            if not dm:
                problems.append(f"aws_iam_role_policy.{pname} is not an aws_iam_policy_document")
                continue
            docs.append(dm.group(1))
    # Managed or extra policies would grant access this check cannot see.
    for rtype in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_role_policies_exclusive", "aws_iam_role_policy_attachments_exclusive"):
        for pname, p in infra.resources.get(rtype, {}).items():
            if f"aws_iam_role.{role}." in json.dumps(p):
                problems.append(f"{rtype}.{pname} attaches another policy to role {role}")
    return role, docs, problems


def check_secret_access(infra: Infra, rules: dict = SECRET_RULES) -> list[str]:
    """Each function role reaches exactly the secrets and actions of SECRET_RULES, and only the
    roles that read secrets may use the secrets KMS key."""
    problems = []
    if infra.locals.get("token_secret_prefix") != "${var.name_prefix}/tokens/":
        problems.append(f"local.token_secret_prefix is {infra.locals.get('token_secret_prefix')!r}")
    pattern = infra.locals.get("token_secret_arn_pattern", "")
    if not pattern.endswith(":secret:${local.token_secret_prefix}*"):
        problems.append(f"local.token_secret_arn_pattern {pattern!r} does not end in :secret:<prefix>*")
    targets = {"${local.token_secret_arn_pattern}": "tokens", "${aws_secretsmanager_secret.app.arn}": "app"}
    secrets_key = "${aws_kms_key.secrets.arn}"

    functions, problems_fn = lambda_functions_by_crate(infra)
    problems += problems_fn
    for crate, want in rules.items():
        if crate not in functions:
            problems.append(f"no Lambda function for {crate}")
            continue
        name, body = functions[crate]
        role, docs, p = role_documents(infra, body)
        problems += p
        if role is None:
            continue
        got: dict[str, set] = {}
        uses_secrets_key = False
        for doc_name in docs:
            for st in infra.data.get("aws_iam_policy_document", {}).get(doc_name, {}).get("statement", []):
                actions = resolve_list(st.get("actions"), infra) or []
                resources = resolve_list(st.get("resources", []), infra) or []
                if st.get("effect", "Allow") != "Allow":
                    continue
                if secrets_key in resources:
                    uses_secrets_key = True
                sm = {a for a in actions if a.lower().startswith("secretsmanager:")}
                if not sm:
                    continue
                for r in resources:
                    if r not in targets:
                        problems.append(f"{crate}: secretsmanager actions {sorted(sm)} on unexpected resource {r!r}")
                        continue
                    got.setdefault(targets[r], set()).update(sm)
        if got != want:
            problems.append(f"{crate}: secret access {({k: sorted(v) for k, v in got.items()})} != {({k: sorted(v) for k, v in want.items()})}")
        if uses_secrets_key != bool(want):
            problems.append(f"{crate}: {'uses' if uses_secrets_key else 'does not use'} the secrets KMS key")
    return problems


# The HTTP API routes each function serves (functions/*/src/main.rs route on these).
API_ROUTES = {
    "oauth-callback": {
        "GET /",
        "GET /oauth/zoho/start",
        "GET /oauth/google/start",
        "GET /oauth/zoho/callback",
        "GET /oauth/google/callback",
        "GET /settings",
        "POST /settings",
        "POST /sync-now",
        "POST /disconnect",
    },
    "sync-status": {"GET /status"},
}


def check_api(infra: Infra, routes: dict = API_ROUTES) -> list[str]:
    """Routes go to the right function through payload-2.0 proxy integrations, every route's
    function has a permission scoped to this API, and the callback outputs match the routes."""
    problems = []
    functions, p = lambda_functions_by_crate(infra)
    problems += p
    integrations = infra.resources.get("aws_apigatewayv2_integration", {})
    got: dict[str, set] = {}
    for rname, route in infra.resources.get("aws_apigatewayv2_route", {}).items():
        keys = resolve_list(route.get("for_each"), infra) if "for_each" in route else [route.get("route_key")]
        if keys is None:
            m = re.fullmatch(r"\$\{(local\.[a-z0-9_]+)\}", route.get("for_each", ""))
            value = infra.locals.get(m.group(1)[6:]) if m else None
            tm = re.fullmatch(r"\$\{toset\(\[(.*)\]\)\}", value or "", re.S)
            keys = [k.strip().strip('"') for k in tm.group(1).split(",") if k.strip()] if tm else None
        if keys is None:
            problems.append(f"aws_apigatewayv2_route.{rname}: route keys cannot be read statically")
            continue
        im = re.fullmatch(r"integrations/\$\{aws_apigatewayv2_integration\.([a-z0-9_]+)\.id\}", route.get("target", ""))
        integ = integrations.get(im.group(1)) if im else None
        if integ is None:
            problems.append(f"aws_apigatewayv2_route.{rname}: target {route.get('target')!r} is not an integration here")
            continue
        if integ.get("payload_format_version") != "2.0" or integ.get("integration_type") != "AWS_PROXY":
            problems.append(f"integration {im.group(1)}: not an AWS_PROXY integration with payload format 2.0")
        fm = re.fullmatch(r"\$\{aws_lambda_function\.([a-z0-9_]+)\.invoke_arn\}", integ.get("integration_uri", ""))
        crate = next((c for c, (n, _) in functions.items() if fm and n == fm.group(1)), None)
        if crate is None:
            problems.append(f"integration {im.group(1)}: uri {integ.get('integration_uri')!r} is not a function here")
            continue
        got.setdefault(crate, set()).update(keys)
    if got != routes:
        problems.append(f"routes {({k: sorted(v) for k, v in got.items()})} != {({k: sorted(v) for k, v in routes.items()})}")

    for pname, perm in infra.resources.get("aws_lambda_permission", {}).items():
        if perm.get("principal") == "apigateway.amazonaws.com" and not str(perm.get("source_arn", "")).startswith(
            "${aws_apigatewayv2_api.http.execution_arn}/"
        ):
            problems.append(f"aws_lambda_permission.{pname}: source_arn is not scoped to the API")
    stage = infra.resources.get("aws_apigatewayv2_stage", {}).get("default", {})
    throttle = single(stage, "default_route_settings") or {}
    if "throttling_rate_limit" not in throttle or "throttling_burst_limit" not in throttle:
        problems.append("stage $default: no default route throttling")
    if not single(stage, "access_log_settings"):
        problems.append("stage $default: no access logs")

    for output, path in (("home_url", "/"), ("google_redirect_uri", "/oauth/google/callback"), ("zoho_redirect_uri", "/oauth/zoho/callback"), ("status_url", "/status"), ("settings_url", "/settings")):
        value = infra.outputs.get(output, {}).get("value")
        if value != f"${{local.public_base_url}}{path}":
            problems.append(f"output {output} is {value!r}, expected <public_base_url>{path}")
        if not any(k.split(" ", 1)[1] == path for ks in routes.values() for k in ks):
            problems.append(f"output {output}: no route serves {path}")
    return problems


# --------------------------------------------------------------------------------------------
# IAM actions vs the SDK calls in the code
# --------------------------------------------------------------------------------------------

SHARED_SRC = REPO / "shared" / "src"

DYNAMODB_DATA_OPS = {
    "get_item", "put_item", "update_item", "delete_item", "query", "scan", "batch_get_item",
    "batch_write_item", "transact_get_items", "transact_write_items", "execute_statement",
    "batch_execute_statement", "execute_transaction",
}
# Used by tests and the local run to create the table; in AWS, Terraform owns the table.
DYNAMODB_TABLE_OPS = {"create_table", "update_time_to_live", "describe_table", "delete_table", "list_tables", "describe_time_to_live"}
SECRETS_OPS = {
    "get_secret_value", "put_secret_value", "create_secret", "delete_secret", "describe_secret",
    "update_secret", "tag_resource", "untag_resource", "restore_secret", "list_secrets",
    "batch_get_secret_value", "rotate_secret", "update_secret_version_stage",
}


TRANSACT_ITEM_ACTIONS = {
    "put": "dynamodb:PutItem",
    "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem",
    "condition_check": "dynamodb:ConditionCheckItem",
}


def sdk_calls(source: str, ops: set[str]) -> set[str]:
    """SDK operations called as `.op()` (the fluent builders take no arguments)."""
    return {op for op in re.findall(r"\.\s*([a-z_]+)\(\)", source) if op in ops}


def iam_action(service: str, op: str) -> str:
    return f"{service}:" + "".join(part.capitalize() for part in op.split("_"))


def granted_actions(infra: Infra, doc_name: str, prefix: str) -> set[str]:
    out = set()
    for st in infra.data.get("aws_iam_policy_document", {}).get(doc_name, {}).get("statement", []):
        for a in resolve_list(st.get("actions"), infra) or []:
            if a.startswith(prefix):
                out.add(a)
    return out


def check_dynamodb_actions(infra: Infra, store_source: str) -> list[str]:
    """The table actions of the read-write roles are exactly the store's data-plane calls; the
    read-only role (sync-status) gets only read actions among them."""
    problems = []
    used = sdk_calls(store_source, DYNAMODB_DATA_OPS)
    if not used:
        return ["no DynamoDB call found in the store source (did the adapter move?)"]
    if any(op.startswith(("transact_get", "execute", "batch_execute")) for op in used):
        problems.append(f"the store uses {sorted(used)}: PartiQL and read transactions need their per-item actions listed in infra/iam.tf and in this check")
    # IAM has no TransactWriteItems action: each item of a transaction is authorised as the
    # single-item action it performs (`TransactWriteItem::builder().put(..)` needs PutItem, ...).
    want = {iam_action("dynamodb", op) for op in used if op != "transact_write_items"}
    if "transact_write_items" in used:
        kinds = set(re.findall(r"TransactWriteItem::builder\(\)\s*\.\s*(put|update|delete|condition_check)\(", store_source))
        if not kinds:
            problems.append("the store calls transact_write_items but no TransactWriteItem::builder().put/update/delete/condition_check was found")
        want |= {TRANSACT_ITEM_ACTIONS[k] for k in kinds}
    functions, p = lambda_functions_by_crate(infra)
    problems += p
    for crate in ("oauth-callback", "sync-tick", "sync-status"):
        if crate not in functions:
            problems.append(f"no Lambda function for {crate}")
            continue
        _, docs, p = role_documents(infra, functions[crate][1])
        problems += p
        got = set().union(*(granted_actions(infra, d, "dynamodb:") for d in docs)) if docs else set()
        if crate == "sync-status":
            reads = {a for a in want if a.split(":")[1].startswith(("Get", "BatchGet", "Query", "Scan"))}
            if not got or not got <= reads:
                problems.append(f"sync-status: table actions {sorted(got)} are not a non-empty subset of the store's reads {sorted(reads)}")
        elif got != want:
            problems.append(f"{crate}: table actions {sorted(got)} != the store's calls {sorted(want)} (shared/src/store/dynamo.rs)")
    return problems


def check_secret_calls(secrets_source: str, rules: dict = SECRET_RULES) -> list[str]:
    """The Secrets Manager calls in shared/src/secrets.rs are exactly those the rules grant."""
    used = {iam_action("secretsmanager", op) for op in sdk_calls(secrets_source, SECRETS_OPS)}
    granted = set().union(*(a for r in rules.values() for a in r.values()))
    if used != granted:
        return [f"shared/src/secrets.rs calls {sorted(used)}, the IAM rules grant {sorted(granted)}"]
    return []


def code_routes(source: str) -> set[str]:
    """Routes the Rust code dispatches on: `("GET", "/path")` match arms."""
    return {f"{m_} {p}" for m_, p in re.findall(r'\(\s*"(GET|POST|PUT|PATCH|DELETE)"\s*,\s*"(/[^"]*)"\s*\)', source)}


def check_code_routes(source: str, routes: dict = API_ROUTES) -> list[str]:
    """Every route the code serves is routed by the HTTP API (else API Gateway answers 404)."""
    served = code_routes(source)
    if not served:
        return ["no route found in the code (did the dispatcher change shape?)"]
    routed = set().union(*routes.values())
    missing = sorted(served - routed)
    return [f"the code serves {missing}, which the HTTP API does not route"] if missing else []
