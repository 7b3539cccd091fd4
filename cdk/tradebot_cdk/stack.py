"""The whole deployment as one stack: network, data, functions, API, workers, monitoring."""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Fn, Stack, Tags
from constructs import Construct
from tradebot.http.routes import ROUTES, WORKERS

from tradebot_cdk.api import Api
from tradebot_cdk.catalog import (
    MAX_RECEIVES,
    check_catalog,
    executor_timeout,
    needs_of,
    route_spec,
    worker_spec,
)
from tradebot_cdk.config import DeployConfig
from tradebot_cdk.data import Cache, Database
from tradebot_cdk.functions import (
    FunctionShared,
    FunctionSpec,
    TradebotFunction,
    pascal,
    vpc_access_policy,
)
from tradebot_cdk.keys import ExchangeKeyVault
from tradebot_cdk.layer import SharedLayer, lambda_architecture
from tradebot_cdk.monitoring import SERVICE_NAME, Monitoring, Watched
from tradebot_cdk.network import Network
from tradebot_cdk.retention import retention
from tradebot_cdk.web import WebHosting
from tradebot_cdk.workers import (
    VISIBILITY_PER_TIMEOUT,
    AppSecrets,
    OrderQueue,
    connect_executor,
    run_migrations,
    schedule_price_updater,
    schedule_reconciler,
)


class TradebotStack(Stack):
    """Everything the route table and the workers describe, in one environment-agnostic stack."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Tradebot ({config.environment}): serverless crypto trading bot",
        )
        check_catalog(config)
        # RDS Proxy target groups take no tags (CloudFormation rejects them).
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        Tags.of(self).add("project", "tradebot", exclude_resource_types=untaggable)
        Tags.of(self).add("environment", config.environment, exclude_resource_types=untaggable)
        self.config = config
        log_retention = retention(config.log_retention_days)

        self.network = Network(
            self,
            "Network",
            nat_gateways=config.nat_gateways,
            flow_log_retention=log_retention,
            endpoints=config.vpc_endpoints,
        )
        self.database = Database(self, "Database", network=self.network, config=config)
        self.cache = Cache(self, "Cache", network=self.network, config=config)
        self.app_secrets = AppSecrets(
            self, "AppSecrets", retention=log_retention, retain=config.deletion_protection
        )
        self.exchange_keys = ExchangeKeyVault(self, "ExchangeKeys", environment=config.environment)
        self.orders = OrderQueue(self, "Orders", executor_timeout=executor_timeout(config))
        self.layer = SharedLayer(self, "SharedLayer", architecture=config.architecture)

        shared = FunctionShared(
            layer=self.layer.layer,
            architecture=lambda_architecture(config.architecture),
            vpc=self.network.vpc,
            subnets=self.network.app_subnets,
            security_group=self.network.functions_sg,
            vpc_access=vpc_access_policy(self),
            environment=self._environment(),
            log_retention=log_retention,
        )
        self.functions: dict[str, TradebotFunction] = {}
        for route in ROUTES:
            self._add_function(route_spec(route, config), shared)
        for worker in WORKERS:
            self._add_function(worker_spec(worker, config), shared)

        connect_executor(self.functions["order_executor"].function, self.orders, config)
        schedule_price_updater(self, self.functions["price_updater"].function)
        schedule_reconciler(self, self.functions["reconciler"].function)
        migrations = run_migrations(self, self.functions["migrate"].function, config, log_retention)
        # Keys first too: no function starts on the first deploy before the secret is seeded.
        migrations.node.add_dependency(self.app_secrets.seed)
        # Schema first, then code: functions are updated once the migrations have run.
        for name, function in self.functions.items():
            if name != "migrate":
                function.node.add_dependency(migrations)

        self.api = Api(
            self,
            "Api",
            config=config,
            # The route functions' `live` aliases (SnapStart), not their $LATEST.
            functions={name: fn.invoked for name, fn in self.functions.items()},
            log_retention=log_retention,
        )
        self.web = WebHosting(
            self, "Web", rest_api=self.api.rest_api, retain=config.deletion_protection
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            watched=Watched(
                api=self.api.rest_api,
                executor=self.functions["order_executor"].function,
                price_updater=self.functions["price_updater"].function,
                reconciler=self.functions["reconciler"].function,
                queue=self.orders.queue,
                dead_letters=self.orders.dead_letters,
                database=self.database.instance,
            ),
        )
        self._outputs(migrations.get_att_string("Revision"))

    def _environment(self) -> dict[str, str]:
        """What every function reads through tradebot.settings (no secret values: names only)."""
        config = self.config
        return {
            "APP_ENV": "aws",
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": config.metrics_namespace,
            # Responses hold access tokens and balances: keep them out of X-Ray.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "DATABASE_URL": self.database.url,
            "DATABASE_AUTH": "iam",
            "REDIS_URL": self.cache.url,
            # Every function names the secret (settings refuse to run without real keys);
            # only those granted below can read it.
            "SECRETS_NAME": self.app_secrets.secret.secret_arn,
            "MARKET_DATA": config.market_data,
            "CORS_ORIGINS": json.dumps(config.allowed_origins),
            "ORDER_MAX_RECEIVES": str(MAX_RECEIVES),
            # With ORDER_MAX_RECEIVES, how long a message can be in flight (one sync at a time).
            "ORDER_VISIBILITY_TIMEOUT_S": str(
                int(executor_timeout(config).to_seconds()) * VISIBILITY_PER_TIMEOUT
            ),
            # A claim must outlive the invocation that made it.
            "ORDER_CLAIM_LEASE_S": str(int(executor_timeout(config).to_seconds()) * 2),
        }

    def _add_function(self, spec: FunctionSpec, shared: FunctionShared) -> None:
        # What it needs beyond the database and the cache: its route-table entry says.
        needs = needs_of(spec.name)
        extra: dict[str, str] = {}
        if needs.sends_orders:
            extra["ORDER_QUEUE_URL"] = self.orders.queue.queue_url
        if spec.name == "migrate":
            extra["DB_POOL"] = "null"  # one-shot: no connection worth keeping
        if needs.uses_kms:
            extra["KMS_KEY_ID"] = self.exchange_keys.key_arn
        if spec.name == "order_executor":
            # The executor runs a batch's message groups (users) concurrently.
            extra["DB_POOL_SIZE"] = str(self.config.executor_batch_size)
        function = TradebotFunction(
            self, pascal(spec.name), spec=spec, shared=shared, environment=extra
        )
        self.database.grant_connect(function.role)
        if needs.sends_orders:
            self.orders.queue.grant_send_messages(function.role)
        if needs.reads_app_secrets:
            self.app_secrets.grant_read(function.role)
        if needs.opens_keys:
            self.exchange_keys.grant_open(function.role)
        if needs.seals_keys:
            self.exchange_keys.grant_seal(function.role)
        self.functions[spec.name] = function

    def _outputs(self, schema_revision: str) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="API base URL")
        CfnOutput(
            self,
            "NatElasticIps",
            value=Fn.join(",", [ip.attr_public_ip for ip in self.network.nat_ips]),
            description="Whitelist these on the Binance API key (and never enable withdrawals)",
        )
        CfnOutput(self, "OrderQueueUrl", value=self.orders.queue.queue_url)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.orders.dead_letters.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
        CfnOutput(self, "SchemaRevision", value=schema_revision)
