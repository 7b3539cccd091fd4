"""The order queue, the price and reconcile schedules, and what runs at deploy (migrations,
secret seeding).

The order queue is FIFO with the user as message group: one user's orders are placed in the
order they were made (a cancel never overtakes the order it cancels), different users' orders
run in parallel, and a failing order holds back only its own user's queue. Messages carry a
deduplication id, so a retried send within the dedup window is one message.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct

from tradebot_cdk.catalog import MAX_RECEIVES
from tradebot_cdk.config import DeployConfig
from tradebot_cdk.functions import RUNTIME
from tradebot_cdk.nag import acknowledge

SEEDER_CODE = Path(__file__).with_name("secret_seeder")
# AWS's advice for an SQS event source: visibility timeout at least six times the function's
# timeout, so a message is not redelivered while the poller still retries its batch.
VISIBILITY_PER_TIMEOUT = 6


class OrderQueue(Construct):
    """The FIFO order queue and its dead-letter queue."""

    def __init__(self, scope: Construct, construct_id: str, *, executor_timeout: Duration) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            fifo=True,
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            fifo=True,
            content_based_deduplication=False,
            # High-throughput FIFO: deduplication and throughput are per message group (user).
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            visibility_timeout=Duration.seconds(
                executor_timeout.to_seconds() * VISIBILITY_PER_TIMEOUT
            ),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=MAX_RECEIVES
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )


def connect_executor(
    executor: lambda_.Function, orders: OrderQueue, config: DeployConfig
) -> sources.SqsEventSource:
    """Feed the order queue to the executor: failed records reported one by one, and never
    more than `executorMaxConcurrency` executors (each holds database connections)."""
    source = sources.SqsEventSource(
        orders.queue,
        batch_size=config.executor_batch_size,
        report_batch_item_failures=True,
        max_concurrency=config.executor_max_concurrency,
    )
    executor.add_event_source(source)
    return source


def schedule_price_updater(scope: Construct, updater: lambda_.Function) -> events.Rule:
    """Run the price updater every minute; a missed minute is not retried (the next one comes)."""
    updater.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(60))
    return events.Rule(
        scope,
        "PriceSchedule",
        description="Refresh prices and trigger resting orders",
        schedule=events.Schedule.rate(Duration.minutes(1)),
        targets=[
            targets.LambdaFunction(updater, retry_attempts=0, max_event_age=Duration.seconds(60))
        ],
    )


def schedule_reconciler(scope: Construct, reconciler: lambda_.Function) -> events.Rule:
    """Run the reconciler every minute: orders whose placement answer was lost are looked up
    until Binance's answer is known. A missed minute is not retried (the next one comes)."""
    reconciler.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(60))
    return events.Rule(
        scope,
        "ReconcileSchedule",
        description="Look up orders whose placement answer was lost",
        schedule=events.Schedule.rate(Duration.minutes(1)),
        targets=[
            targets.LambdaFunction(reconciler, retry_attempts=0, max_event_age=Duration.seconds(60))
        ],
    )


def _provider(
    scope: Construct, construct_id: str, handler: lambda_.IFunction, retention: logs.RetentionDays
) -> cr.Provider:
    logs_group = logs.LogGroup(
        scope, f"{construct_id}Logs", retention=retention, removal_policy=RemovalPolicy.DESTROY
    )
    provider = cr.Provider(scope, construct_id, on_event_handler=handler, log_group=logs_group)
    handler_resource = handler.node.default_child
    assert isinstance(handler_resource, lambda_.CfnFunction)
    handler_id = Stack.of(scope).resolve(handler_resource.logical_id)
    acknowledge(
        provider,
        f"AwsSolutions-IAM5[Resource::<{handler_id}.Arn>:*]",
        "CDK's provider framework invokes its own handler function, any version of it "
        "(`<function arn>:*`), and nothing else.",
    )
    acknowledge(
        provider,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        "CDK's provider framework function (outside the VPC, deploy time only) writes its logs "
        "with the basic execution policy; aws-cdk-lib creates that role, not this app.",
    )
    return provider


def run_migrations(
    scope: Construct,
    migrate: lambda_.Function,
    config: DeployConfig,
    retention: logs.RetentionDays,
) -> CustomResource:
    """Apply the database migrations on every deploy (the DeployId changes every synth)."""
    provider = _provider(scope, "MigrationsProvider", migrate, retention)
    return CustomResource(
        scope,
        "DatabaseMigrations",
        service_token=provider.service_token,
        resource_type="Custom::DatabaseMigrations",
        properties={"DeployId": config.deploy_id},
    )


class AppSecrets(Construct):
    """The JWT signing key and Fernet keys, generated at the first deploy by a custom resource.

    Secrets Manager's own generator makes printable passwords, not 32 random bytes in url-safe
    base64 (a Fernet key), and cannot fill two fields of one JSON secret. A small function does
    it with `os.urandom` instead, writing the keys straight into the secret.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention: logs.RetentionDays,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="tradebot jwt_secret and fernet_keys (newest first); seeded at deploy",
            # A fixed placeholder rather than a generated value: a template change can then
            # never make CloudFormation regenerate (and wipe) the seeded keys.
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        seeder_logs = logs.LogGroup(
            self, "SeederLogs", retention=retention, removal_policy=RemovalPolicy.DESTROY
        )
        seeder = lambda_.Function(
            self,
            "Seeder",
            description="Generates the app secret's keys once",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.on_event",
            code=lambda_.Code.from_asset(str(SEEDER_CODE), exclude=["__pycache__", "*.pyc"]),
            timeout=Duration.seconds(30),
            memory_size=128,
            log_group=seeder_logs,
            logging_format=lambda_.LoggingFormat.JSON,
        )
        self.secret.grant_read(seeder)
        self.secret.grant_write(seeder)
        provider = _provider(self, "Provider", seeder, retention)
        self.seed = CustomResource(
            self,
            "Seed",
            service_token=provider.service_token,
            resource_type="Custom::AppSecretSeed",
            properties={"SecretId": self.secret.secret_arn},
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Rotating the Fernet key needs the stored API secrets re-encrypted (make rotate: "
            "add the new key first, re-encrypt, then drop the old), and rotating the JWT key "
            "logs everyone out; both are deliberate operations, not a schedule.",
        )
        acknowledge(
            seeder,
            "AwsSolutions-L1",
            "Same runtime as the app's functions (Python 3.12), so one runtime upgrade moves "
            "everything together; this function uses only the standard library and boto3.",
        )
        acknowledge(
            seeder,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "A deploy-time function outside the VPC writing only its own logs; the basic "
            "execution policy is the documented minimum.",
        )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` read the keys."""
        self.secret.grant_read(grantee)
