"""Throttles, workers, data, secrets and operations, as the synthesized template states them."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template
from tradebot.http.routes import ROUTES, WORKERS
from tradebot_cdk.catalog import MAX_RECEIVES, needs_of
from tradebot_cdk.config import DeployConfig

from tests.infra.conftest import Synth

DEFAULTS = DeployConfig(deploy_id="test-deploy")


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (resource,) = resources.values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def policy_statements(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        found.update([value] if isinstance(value, str) else value)
    return found


def role_of(synth: Synth, function_id: str) -> str:
    return str(synth.resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0])


def test_stage_throttles_and_tighter_limits_for_login_and_placing_orders(synth: Synth) -> None:
    settings = only(synth.of_type("AWS::ApiGateway::Stage"))["MethodSettings"]
    by_path = {(s["ResourcePath"], s["HttpMethod"]): s for s in settings}
    stage = by_path[("/*", "*")]
    assert stage["ThrottlingRateLimit"] == DEFAULTS.stage_rate_limit
    assert stage["ThrottlingBurstLimit"] == DEFAULTS.stage_burst_limit
    login = by_path[("/~1api~1auth~1login", "POST")]
    place = by_path[("/~1api~1trading~1trades", "POST")]
    assert (
        login["ThrottlingRateLimit"] < place["ThrottlingRateLimit"] < stage["ThrottlingRateLimit"]
    )
    assert login["ThrottlingBurstLimit"] < stage["ThrottlingBurstLimit"]
    for route in ROUTES:
        key = ("/" + route.path.replace("/", "~1"), route.method)
        # "read" and "exempt" routes keep the stage's default, which applies per method.
        assert (key in by_path) is (route.throttle in ("write", "auth")), route.path


def test_gateway_throttles_are_loose_ceilings_above_1000_requests_a_second(synth: Synth) -> None:
    # Shared by every caller: a tight one would let anybody make login 429 for everyone.
    settings = only(synth.of_type("AWS::ApiGateway::Stage"))["MethodSettings"]
    by_path = {(s["ResourcePath"], s["HttpMethod"]): s for s in settings}
    assert by_path[("/*", "*")]["ThrottlingRateLimit"] > 1000
    assert by_path[("/~1api~1auth~1login", "POST")]["ThrottlingRateLimit"] >= 100


def test_no_web_acl_unless_switched_on(synth: Synth) -> None:
    assert DEFAULTS.waf_rate_limit is None
    assert not synth.of_type("AWS::WAFv2::WebACL")
    assert not synth.of_type("AWS::WAFv2::WebACLAssociation")


def test_switched_on_a_web_acl_with_a_rate_rule_per_address_guards_the_stage() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_logs as logs
    from tradebot_cdk.api import Api

    stack = Stack(App(), "WafOn")
    config = DeployConfig(deploy_id="test-deploy", waf_rate_limit=600)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:"
    functions = {
        name: lambda_.Function.from_function_arn(stack, name, arn + name)
        for name in {route.function for route in ROUTES}
    }
    Api(stack, "Api", config=config, functions=functions, log_retention=logs.RetentionDays.ONE_DAY)

    template = Template.from_stack(stack)
    template.resource_count_is("AWS::WAFv2::WebACL", 1)
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "Rules": [
                Match.object_like(
                    {
                        "Statement": {
                            "RateBasedStatement": Match.object_like(
                                {"Limit": 600, "AggregateKeyType": "IP"}
                            )
                        },
                        "Action": {
                            "Block": Match.object_like(
                                {"CustomResponse": Match.object_like({"ResponseCode": 429})}
                            )
                        },
                    }
                )
            ],
        },
    )
    (association,) = template.find_resources("AWS::WAFv2::WebACLAssociation").values()
    (stage_id,) = template.find_resources("AWS::ApiGateway::Stage")
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]


def test_larger_answers_are_gzipped_for_clients_that_accept_it(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"MinimumCompressionSize": 1024})


def test_usage_plan_carries_the_stage_and_method_throttles(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": DEFAULTS.stage_rate_limit},
            "ApiStages": [
                Match.object_like(
                    {"Throttle": Match.object_like({"/api/auth/login/POST": Match.any_value()})}
                )
            ],
        },
    )


def test_access_logs_are_json_without_bodies(synth: Synth) -> None:
    stage = only(synth.of_type("AWS::ApiGateway::Stage"))
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "ip", "status", "latencyMs"} <= set(fields)
    assert all(setting["DataTraceEnabled"] is False for setting in stage["MethodSettings"])
    assert stage["TracingEnabled"] is True


def test_order_queue_is_fifo_and_redrives_after_five_receives(synth: Synth) -> None:
    queues = synth.of_type("AWS::SQS::Queue")
    (orders,) = [q["Properties"] for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    redrive = orders["RedrivePolicy"]
    assert orders["FifoQueue"] is True
    assert redrive["maxReceiveCount"] == MAX_RECEIVES == 5
    dead_letters = queues[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Properties"]
    assert dead_letters["FifoQueue"] is True
    executor = synth.resources["FnOrderExecutor"]["Properties"]
    assert orders["VisibilityTimeout"] >= 6 * executor["Timeout"]
    variables = executor["Environment"]["Variables"]
    assert variables["ORDER_MAX_RECEIVES"] == str(MAX_RECEIVES)
    assert int(variables["ORDER_CLAIM_LEASE_S"]) > executor["Timeout"]
    # The updater's bound on a sync in flight is the queue's own visibility timeout.
    updater = synth.resources["FnPriceUpdater"]["Properties"]["Environment"]["Variables"]
    assert updater["ORDER_VISIBILITY_TIMEOUT_S"] == str(orders["VisibilityTimeout"])


def test_executor_reports_partial_batches_with_bounded_concurrency(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": "FnOrderExecutor"},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": DEFAULTS.executor_max_concurrency},
        },
    )


def test_price_updater_runs_every_minute_alone(synth: Synth, template: Template) -> None:
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": ["FnPriceUpdater", "Arn"]}})],
        },
    )
    updater = synth.resources["FnPriceUpdater"]["Properties"]
    assert updater["ReservedConcurrentExecutions"] == 1
    assert updater["Timeout"] < 60


def test_reconciler_runs_every_minute_alone_in_the_vpc_with_the_keys(
    synth: Synth, template: Template
) -> None:
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": ["FnReconciler", "Arn"]}})],
        },
    )
    reconciler = synth.resources["FnReconciler"]["Properties"]
    assert reconciler["ReservedConcurrentExecutions"] == 1
    assert reconciler["Timeout"] < 60
    assert reconciler["VpcConfig"]["SubnetIds"]
    variables = reconciler["Environment"]["Variables"]
    assert {"DATABASE_URL", "REDIS_URL", "SECRETS_NAME"} <= set(variables)
    granted = actions(policy_statements(synth, role_of(synth, "FnReconciler")))
    assert {"secretsmanager:GetSecretValue", "rds-db:connect"} <= granted


def test_an_alarm_fires_when_the_reconciler_gives_up_on_an_order(synth: Synth) -> None:
    alarms = [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]
    (gave_up,) = [a for a in alarms if a.get("MetricName") == "ReconcileGaveUp"]
    assert gave_up["Namespace"] == DEFAULTS.metrics_namespace
    assert gave_up["Dimensions"] == [{"Name": "service", "Value": "tradebot"}]
    assert gave_up["Statistic"] == "Sum"
    assert gave_up["Threshold"] == 1
    assert gave_up["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert gave_up["AlarmActions"]


def test_data_is_encrypted_backed_up_and_private(synth: Synth) -> None:
    database = only(synth.of_type("AWS::RDS::DBInstance"))
    assert database["StorageEncrypted"] is True
    assert database["BackupRetentionPeriod"] >= 7
    assert database["DeletionProtection"] is True
    assert database["MultiAZ"] is False  # the default; context multiAz=true turns it on
    assert database["PubliclyAccessible"] is False
    proxy = only(synth.of_type("AWS::RDS::DBProxy"))
    assert proxy["RequireTLS"] is True
    assert proxy["Auth"][0]["IAMAuth"] == "REQUIRED"
    cache = only(synth.of_type("AWS::ElastiCache::ReplicationGroup"))
    assert cache["AtRestEncryptionEnabled"] is True
    assert cache["TransitEncryptionEnabled"] is True
    for queue in synth.of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_functions_reach_redis_over_tls_and_the_proxy_without_a_password(synth: Synth) -> None:
    variables = synth.resources["FnHealth"]["Properties"]["Environment"]["Variables"]
    redis_url = variables["REDIS_URL"]["Fn::Join"][1]
    assert redis_url[0] == "rediss://"
    database_url = variables["DATABASE_URL"]["Fn::Join"][1]
    assert database_url[0] == "postgresql://tradebot@"
    assert ":" not in database_url[0].removeprefix("postgresql://")
    assert variables["DATABASE_AUTH"] == "iam"
    assert variables["APP_ENV"] == "aws"


def test_roles_grant_the_queue_and_the_keys_only_where_used(synth: Synth) -> None:
    names = [route.function for route in ROUTES]
    names += ["order_executor", "price_updater", "reconciler", "migrate", "rotate_keys"]
    for name in names:
        function_id = "Fn" + "".join(part.capitalize() for part in name.split("_"))
        granted = actions(policy_statements(synth, role_of(synth, function_id)))
        needs = needs_of(name)
        assert ("sqs:SendMessage" in granted) is needs.sends_orders, name
        assert ("secretsmanager:GetSecretValue" in granted) is needs.reads_app_secrets, name
        assert "rds-db:connect" in granted, name
        assert not any(action.endswith("*") for action in granted), name
    consumer = actions(policy_statements(synth, role_of(synth, "FnOrderExecutor")))
    assert "sqs:ReceiveMessage" in consumer


def test_app_secret_is_seeded_at_deploy_and_kept(synth: Synth) -> None:
    (seed,) = synth.of_type("Custom::AppSecretSeed").values()
    secret_id = seed["Properties"]["SecretId"]["Ref"]
    secret = synth.resources[secret_id]
    assert secret["Properties"]["SecretString"] == "{}"
    assert secret["DeletionPolicy"] == "Retain"


def test_migrations_run_on_every_deploy_before_the_new_code(synth: Synth) -> None:
    (migrations_id, migrations) = next(iter(synth.of_type("Custom::DatabaseMigrations").items()))
    assert migrations["Properties"]["DeployId"] == "test-deploy"
    for route in ROUTES:
        function_id = "Fn" + "".join(part.capitalize() for part in route.function.split("_"))
        assert migrations_id in synth.resources[function_id]["DependsOn"], route.function


def test_alarms_cover_dead_letters_5xx_executor_and_stale_prices(synth: Synth) -> None:
    alarms = [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]
    by_metric = {a.get("MetricName"): a for a in alarms}
    assert by_metric["ApproximateNumberOfMessagesVisible"]["Threshold"] == 1
    assert by_metric["5XXError"]["Statistic"] == "Average"
    assert by_metric["Throttles"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "FnOrderExecutor"}}
    ]
    assert by_metric["Errors"]["Dimensions"][0]["Value"] == {"Ref": "FnOrderExecutor"}
    stale = by_metric["PricesUpdated"]
    assert stale["Namespace"] == DEFAULTS.metrics_namespace
    assert stale["Dimensions"] == [{"Name": "service", "Value": "tradebot"}]
    assert stale["TreatMissingData"] == "breaching"
    assert stale["ComparisonOperator"] == "LessThanThreshold"
    assert all(alarm["AlarmActions"] for alarm in alarms)


def test_price_metric_namespace_matches_what_the_functions_emit(synth: Synth) -> None:
    variables = synth.resources["FnPriceUpdater"]["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == DEFAULTS.metrics_namespace
    assert variables["POWERTOOLS_SERVICE_NAME"] == "tradebot"


def test_dashboard_and_outputs(synth: Synth) -> None:
    assert len(synth.of_type("AWS::CloudWatch::Dashboard")) == 1
    outputs = synth.template["Outputs"]
    assert {"ApiUrl", "NatElasticIps"} <= set(outputs)
    (eip_id,) = synth.of_type("AWS::EC2::EIP")
    # One address: CDK folds the comma-join of a single item into the item itself.
    assert outputs["NatElasticIps"]["Value"] == {"Fn::GetAtt": [eip_id, "PublicIp"]}
    (nat,) = synth.of_type("AWS::EC2::NatGateway").values()
    assert nat["Properties"]["AllocationId"] == {"Fn::GetAtt": [eip_id, "AllocationId"]}


def test_sqs_and_secrets_manager_are_reached_through_vpc_endpoints(synth: Synth) -> None:
    services = json.dumps(
        [e["Properties"]["ServiceName"] for e in synth.of_type("AWS::EC2::VPCEndpoint").values()]
    )
    assert ".sqs" in services
    assert ".secretsmanager" in services


def _kms_key_id(synth: Synth) -> str:
    (key_id,) = [
        k
        for k, v in synth.of_type("AWS::KMS::Key").items()
        if "exchange keys" in v["Properties"]["Description"]
    ]
    return key_id


def test_stored_exchange_keys_have_their_own_rotating_kept_kms_key(synth: Synth) -> None:
    key_id = _kms_key_id(synth)
    key = synth.resources[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    assert key["UpdateReplacePolicy"] == "Retain"
    aliases = [a["Properties"] for a in synth.of_type("AWS::KMS::Alias").values()]
    assert {"AliasName": "alias/tradebot-prod-exchange-keys",
            "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]}} in aliases  # fmt: skip


def test_only_the_functions_that_open_or_seal_exchange_keys_may_use_the_kms_key(
    synth: Synth,
) -> None:
    key_arn = {"Fn::GetAtt": [_kms_key_id(synth), "Arn"]}
    expected = {
        "order_executor": {"kms:Decrypt"},
        "reconciler": {"kms:Decrypt"},
        "trades_create": {"kms:Decrypt"},
        "dashboard": {"kms:Decrypt"},
        "api_keys_put": {"kms:GenerateDataKey"},
        "rotate_keys": {"kms:Decrypt", "kms:GenerateDataKey"},
    }
    names = [route.function for route in ROUTES] + [worker.function for worker in WORKERS]
    for name in names:
        function_id = "Fn" + "".join(part.capitalize() for part in name.split("_"))
        statements = policy_statements(synth, role_of(synth, function_id))
        kms = [s for s in statements if any(a.startswith("kms:") for a in _listed(s["Action"]))]
        assert {a for s in kms for a in _listed(s["Action"])} == expected.get(name, set()), name
        for statement in kms:
            # On this key alone, and only with the context every seal carries
            assert statement["Resource"] == key_arn, name
            conditions = statement["Condition"]
            assert conditions["ForAllValues:StringEquals"] == {
                "kms:EncryptionContextKeys": ["credential_id", "purpose", "user_id"]
            }
            assert conditions["Null"] == {"kms:EncryptionContextKeys": "false"}
            assert conditions["StringEquals"] == {
                "kms:EncryptionContext:purpose": ["api_key", "api_secret"]
            }
        variables = synth.resources[function_id]["Properties"]["Environment"]["Variables"]
        assert ("KMS_KEY_ID" in variables) is (name in expected), name
        if name in expected:
            assert variables["KMS_KEY_ID"] == key_arn


def test_the_key_rotation_function_runs_in_the_vpc_when_invoked(synth: Synth) -> None:
    rotate = synth.resources["FnRotateKeys"]["Properties"]
    assert rotate["VpcConfig"]["SubnetIds"]
    assert rotate["Timeout"] == 300
    targets = json.dumps(
        [r["Properties"] for r in synth.of_type("AWS::Events::Rule").values()]
        + [m["Properties"] for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()]
    )
    assert "FnRotateKeys" not in targets  # never scheduled: an operator invokes it
    granted = actions(policy_statements(synth, role_of(synth, "FnRotateKeys")))
    assert {"secretsmanager:GetSecretValue", "rds-db:connect"} <= granted


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value
