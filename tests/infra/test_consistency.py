"""infra/ agrees with the code: the store's table schema, the tick's frequency keys, the
function crates and their environment variables, and the IAM rules of docs/deploy.md.

Each check has a twin that mutates its input and asserts the check notices, so that a check
that silently compares nothing cannot pass."""

import copy

import pytest

import infra_model as m


def mutated(value, path, new):
    value = copy.deepcopy(value)
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(m.INFRA.glob("*.tf")), ids=lambda p: p.name)
def test_every_tf_file_parses(path):
    assert isinstance(m.parse_file(path), dict)


def test_store_schema_has_what_the_checks_read(schema, crates):
    assert set(schema) >= {"table", "environment", "frequencies"}
    assert sorted(schema["environment"]) == sorted(crates)
    assert schema["frequencies"], "the tick accepts no frequency?"


# --- DynamoDB table ----------------------------------------------------------------------------


def test_table_matches_store_schema(infra, schema):
    assert m.check_table(infra, schema) == []


@pytest.mark.parametrize(
    "path,new",
    [
        (["table", "key", "hash_key"], "PK"),
        (["table", "key", "range_key"], "sort"),
        (["table", "global_secondary_indexes", 0, "name"], "gsi2"),
        (["table", "global_secondary_indexes", 0, "hash_key"], "gsi1_pk"),
        (["table", "global_secondary_indexes", 0, "projection"], "KEYS_ONLY"),
        (["table", "ttl_attribute"], "ttl"),
        (["table", "billing_mode"], "PROVISIONED"),
        (["table", "attribute_type"], "N"),
    ],
    ids=lambda v: "/".join(map(str, v)) if isinstance(v, list) else str(v),
)
def test_table_check_detects_schema_change(infra, schema, path, new):
    assert m.check_table(infra, mutated(schema, path, new)) != []


def test_table_check_detects_missing_encryption(infra, schema):
    broken = infra.copy()
    del broken.resources["aws_dynamodb_table"]["state"]["server_side_encryption"]
    assert m.check_table(broken, schema) != []


# --- schedules -------------------------------------------------------------------------------


def test_schedules_match_tick_frequencies(infra, schema):
    assert m.check_frequencies(infra, schema) == []


def test_frequency_check_detects_new_key(infra, schema):
    assert m.check_frequencies(infra, mutated(schema, ["frequencies"], schema["frequencies"] + ["2h"])) != []


def test_frequency_check_detects_wrong_input(infra, schema):
    broken = infra.copy()
    broken.resources["aws_scheduler_schedule"]["tick"]["target"][0]["input"] = "${jsonencode({freq = each.key})}"
    assert m.check_frequencies(broken, schema) != []


def test_frequency_check_detects_wrong_rate(infra, schema):
    broken = infra.copy()
    broken.locals["schedule_rates"]["3h"]["expression"] = "rate(2 hours)"
    assert m.check_frequencies(broken, schema) != []


# --- packages ----------------------------------------------------------------------------------


def test_function_zips_match_crates(infra, crates):
    assert sorted(crates) == ["oauth-callback", "sync-status", "sync-tick"]
    assert m.check_packages(infra, crates) == []


def test_package_check_detects_new_crate(infra, crates):
    assert m.check_packages(infra, crates + ["sync-export"]) != []


def test_package_check_detects_wrong_zip_path(infra, crates):
    broken = infra.copy()
    broken.resources["aws_lambda_function"]["sync_tick"]["filename"] = "${path.module}/../target/lambda/sync-tick/sync-tick.zip"
    assert m.check_packages(broken, crates) != []


# --- environment -------------------------------------------------------------------------------


def test_environment_matches_store_schema(infra, schema):
    assert m.check_environment(infra, schema) == []


@pytest.mark.parametrize("function", ["oauth-callback", "sync-tick", "sync-status"])
def test_environment_check_detects_new_variable(infra, schema, function):
    changed = mutated(schema, ["environment", function], schema["environment"][function] + ["NEW_SETTING"])
    assert m.check_environment(infra, changed) != []


def test_environment_check_detects_dropped_variable(infra, schema):
    changed = mutated(schema, ["environment", "sync-status"], schema["environment"]["sync-status"][:-1])
    assert m.check_environment(infra, changed) != []


# --- IAM -------------------------------------------------------------------------------------


def test_no_wildcard_actions(infra):
    assert m.check_no_wildcard_actions(infra) == []


@pytest.mark.parametrize("action", ["*", "dynamodb:*", "s3:*"])
def test_wildcard_check_detects_wildcard(infra, action):
    broken = infra.copy()
    broken.data["aws_iam_policy_document"]["sync_status"]["statement"].append(
        {"sid": "Oops", "effect": "Allow", "actions": [action], "resources": ["*"]}
    )
    assert m.check_no_wildcard_actions(broken) != []


def test_wildcard_check_detects_wildcard_through_local(infra):
    broken = infra.copy()
    broken.locals["dynamodb_read_actions"] = broken.locals["dynamodb_read_actions"] + ["dynamodb:*"]
    assert m.check_no_wildcard_actions(broken) != []


def test_wildcard_resources_only_where_aws_requires(infra):
    assert m.check_wildcard_resources(infra) == []


def test_wildcard_resource_check_detects_star(infra):
    broken = infra.copy()
    broken.data["aws_iam_policy_document"]["sync_tick"]["statement"].append(
        {"sid": "Oops", "effect": "Allow", "actions": ["sqs:SendMessage"], "resources": ["*"]}
    )
    assert m.check_wildcard_resources(broken) != []


def test_secret_access_per_function(infra):
    assert m.check_secret_access(infra) == []


def test_secret_check_detects_extra_grant_to_status(infra):
    broken = infra.copy()
    broken.data["aws_iam_policy_document"]["sync_status"]["statement"].append(
        {"sid": "Oops", "effect": "Allow", "actions": ["secretsmanager:GetSecretValue"], "resources": ["${local.token_secret_arn_pattern}"]}
    )
    assert m.check_secret_access(broken) != []


def test_secret_check_detects_tick_deleting_tokens(infra):
    broken = infra.copy()
    for st in broken.data["aws_iam_policy_document"]["sync_tick"]["statement"]:
        if st.get("sid") == "TokenSecrets":
            st["actions"] = st["actions"] + ["secretsmanager:DeleteSecret"]
    assert m.check_secret_access(broken) != []


def test_secret_check_detects_missing_create(infra):
    rules = copy.deepcopy(m.SECRET_RULES)
    rules["oauth-callback"]["tokens"].add("secretsmanager:UpdateSecret")
    assert m.check_secret_access(infra, rules) != []


def test_secret_check_detects_wider_prefix(infra):
    broken = infra.copy()
    broken.locals["token_secret_prefix"] = "${var.name_prefix}/"
    assert m.check_secret_access(broken) != []


# --- HTTP API --------------------------------------------------------------------------------


def test_api_routes_and_outputs(infra):
    assert m.check_api(infra) == []


def test_api_check_detects_missing_route(infra):
    routes = copy.deepcopy(m.API_ROUTES)
    routes["sync-status"].add("GET /status/history")
    assert m.check_api(infra, routes) != []


def test_api_check_detects_unscoped_permission(infra):
    broken = infra.copy()
    broken.resources["aws_lambda_permission"]["sync_status_api"]["source_arn"] = "arn:aws:execute-api:*"
    assert m.check_api(broken) != []


# --- IAM actions vs the code's SDK calls ---------------------------------------------------------

STORE_SOURCE = (m.SHARED_SRC / "store" / "dynamo.rs").read_text(encoding="utf-8")
SECRETS_SOURCE = (m.SHARED_SRC / "secrets.rs").read_text(encoding="utf-8")


def test_table_actions_match_store_calls(infra):
    assert m.check_dynamodb_actions(infra, STORE_SOURCE) == []


def test_table_action_check_detects_new_call(infra):
    assert m.check_dynamodb_actions(infra, STORE_SOURCE + "\nclient.scan().send();") != []


def test_table_action_check_reads_the_items_of_a_transaction(infra):
    # IAM authorises each item of TransactWriteItems as its own action: a condition check
    # needs dynamodb:ConditionCheckItem, which no role has.
    assert "transact_write_items" in STORE_SOURCE
    extra = "\nTransactWriteItem::builder().condition_check(check).build();"
    assert m.check_dynamodb_actions(infra, STORE_SOURCE + extra) != []


def test_table_action_check_detects_status_write(infra):
    broken = infra.copy()
    for st in broken.data["aws_iam_policy_document"]["sync_status"]["statement"]:
        if st.get("sid") == "StateTableReadOnly":
            st["actions"] = "${concat(local.dynamodb_read_actions, local.dynamodb_write_actions)}"
    assert m.check_dynamodb_actions(broken, STORE_SOURCE) != []


def test_secret_rules_match_vault_calls():
    assert m.check_secret_calls(SECRETS_SOURCE) == []


def test_secret_call_check_detects_new_call():
    assert m.check_secret_calls(SECRETS_SOURCE + "\nclient.describe_secret().send();") != []


# --- routes the code serves -----------------------------------------------------------------------

RUST_SOURCES = "\n".join(p.read_text(encoding="utf-8") for p in sorted(m.SHARED_SRC.rglob("*.rs")))


def test_code_routes_are_routed():
    assert m.check_code_routes(RUST_SOURCES) == []


def test_code_route_check_detects_unrouted_path():
    assert m.check_code_routes(RUST_SOURCES + '\n("GET", "/export") => x,') != []
