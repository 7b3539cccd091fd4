"""The deployment configuration: CDK context in, validated settings out."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tradebot.http.routes import ROUTES, WORKERS, route_named
from tradebot_cdk.catalog import check_catalog, executor_timeout, route_spec, worker_spec
from tradebot_cdk.config import DeployConfig


class Context:
    """A construct node's context, as the CLI's -c flags deliver it (strings)."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values

    def try_get_context(self, key: str) -> object:
        return self.values.get(key)


def test_command_line_strings_become_typed_values() -> None:
    config = DeployConfig.from_context(
        Context(
            {
                "environment": "staging",
                "multiAz": "true",
                "allowedOrigins": "https://app.example.com, https://admin.example.com",
                "memoryMb": '{"dashboard": 1024}',
                "natGateways": "2",
                "alarmEmail": "",
                "wafRateLimit": "1000",
            }
        )
    )
    assert config.environment == "staging"
    assert config.multi_az is True
    assert config.allowed_origins == ["https://app.example.com", "https://admin.example.com"]
    assert config.memory_mb == {"dashboard": 1024}
    assert config.nat_gateways == 2
    assert config.alarm_email is None
    assert config.waf_rate_limit == 1000
    assert config.stack_name == "Tradebot-staging"
    assert config.metrics_namespace == "Tradebot/staging"


def test_unset_keys_keep_safe_defaults() -> None:
    config = DeployConfig.from_context(Context({}))
    assert config.deletion_protection is True
    assert config.backup_retention_days >= 7
    assert config.deploy_id  # a fresh value per synth: migrations run every deploy
    assert config.waf_rate_limit is None  # no web ACL unless asked for
    assert DeployConfig.from_context(Context({"wafRateLimit": "null"})).waf_rate_limit is None


@pytest.mark.parametrize(
    "values",
    [
        {"allowedOrigins": "http://app.example.com"},  # plain http outside localhost
        {"allowedOrigins": "*"},
        {"backupRetentionDays": "3"},
        {"logRetentionDays": "10"},  # not a period CloudWatch offers
        {"environment": "Prod_1"},
        {"writeRateLimit": "5000"},  # looser than the stage
        {"wafRateLimit": "5"},  # below AWS WAF's minimum
        {"executorMaxConcurrency": "1"},  # SQS event sources need at least 2
    ],
)
def test_unsafe_or_impossible_values_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DeployConfig.from_context(Context(values))


def test_memory_override_for_an_unknown_function_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown functions"):
        check_catalog(DeployConfig(memory_mb={"notes_craete": 1024}))


def test_sizes_follow_the_route_table_and_overrides() -> None:
    config = DeployConfig(memory_mb={"notes_list": 256})
    assert route_spec(route_named("auth_login"), config).memory_mb == 1024  # Argon2id
    assert route_spec(route_named("notes_get"), config).memory_mb == 512
    assert route_spec(route_named("notes_list"), config).memory_mb == 256
    assert route_spec(route_named("dashboard"), config).timeout.to_seconds() == 20  # exchange
    assert route_spec(route_named("notes_get"), config).timeout.to_seconds() == 10
    for route in ROUTES:
        assert route_spec(route, config).timeout.to_seconds() < 29  # API Gateway's limit


def test_executor_timeout_grows_with_its_batch() -> None:
    one, five = DeployConfig(executor_batch_size=1), DeployConfig(executor_batch_size=5)
    assert executor_timeout(five).to_seconds() > executor_timeout(one).to_seconds()
    executor = next(w for w in WORKERS if w.trigger == "sqs")
    assert worker_spec(executor, five).timeout.to_seconds() <= 900
