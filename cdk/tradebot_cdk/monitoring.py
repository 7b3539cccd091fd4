"""Alarms on what loses or delays money, and one dashboard.

Alarms notify an SNS topic (subscribe an email with the `alarmEmail` context). The topic is
encrypted with its own KMS key because CloudWatch cannot publish to a topic encrypted with the
AWS-managed SNS key.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tradebot_cdk.config import DeployConfig

# Powertools adds the service name as the one default dimension of every EMF metric.
SERVICE_NAME = "tradebot"
PRICES_UPDATED = "PricesUpdated"
# Emitted by the reconciler for each order it gave up looking up (functions/reconciler).
RECONCILE_GAVE_UP = "ReconcileGaveUp"
# Matches the health check's idea of stale (tradebot.health.service.STALE_AFTER_S = 180 s).
STALE_AFTER_MINUTES = 3
API_5XX_RATE = 0.05


@dataclass(frozen=True)
class Watched:
    """What the alarms and the dashboard look at."""

    api: apigw.RestApi
    executor: lambda_.IFunction
    price_updater: lambda_.IFunction
    reconciler: lambda_.IFunction
    queue: sqs.IQueue
    dead_letters: sqs.IQueue
    database: rds.DatabaseInstance


class Monitoring(Construct):
    """Alarms, their topic, and the dashboard."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, watched: Watched
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the tradebot alarm topic",
            enable_key_rotation=True,
        )
        key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="Tradebot alarms", master_key=key, enforce_ssl=True
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.prices_updated = cw.Metric(
            namespace=config.metrics_namespace,
            metric_name=PRICES_UPDATED,
            dimensions_map={"service": SERVICE_NAME},
            statistic="Sum",
            period=Duration.minutes(1),
        )
        self.reconcile_gave_up = cw.Metric(
            namespace=config.metrics_namespace,
            metric_name=RECONCILE_GAVE_UP,
            dimensions_map={"service": SERVICE_NAME},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        self.alarms = self._alarms(watched)
        action = cw_actions.SnsAction(self.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        self.dashboard = self._dashboard(config, watched)

    def _alarms(self, watched: Watched) -> list[cw.Alarm]:
        five_minutes = Duration.minutes(5)
        return [
            cw.Alarm(
                self,
                "DeadLetters",
                alarm_description="Orders gave up after every retry: check the trades marked "
                "FAILED and the executor's logs, then redrive or purge the dead-letter queue.",
                metric=watched.dead_letters.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "Api5xxRate",
                alarm_description="More than 5 % of API requests failed with a 5xx.",
                metric=watched.api.metric_server_error(period=five_minutes, statistic="Average"),
                threshold=API_5XX_RATE,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=2,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "ExecutorErrors",
                alarm_description="The order executor failed (a whole batch, not one order).",
                metric=watched.executor.metric_errors(period=five_minutes, statistic="Sum"),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "ExecutorThrottles",
                alarm_description="The order executor was throttled: orders are waiting.",
                metric=watched.executor.metric_throttles(period=five_minutes, statistic="Sum"),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "PricesStale",
                alarm_description="No prices refreshed for three minutes: resting orders are not "
                "being triggered and the dashboard shows old values.",
                metric=self.prices_updated,
                threshold=1,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=STALE_AFTER_MINUTES,
                datapoints_to_alarm=STALE_AFTER_MINUTES,
                # No metric at all means the updater is not running: that is the failure.
                treat_missing_data=cw.TreatMissingData.BREACHING,
            ),
            cw.Alarm(
                self,
                "ReconcileGaveUp",
                alarm_description="The reconciler gave up looking up an order whose placement "
                "answer was lost: its trade stays RECONCILING and its reason names the client "
                "order id; check that order on Binance and tell the trader.",
                metric=self.reconcile_gave_up,
                threshold=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "DatabaseCpu",
                alarm_description="The database is CPU-bound.",
                metric=watched.database.metric_cpu_utilization(period=five_minutes),
                threshold=80,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=3,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            cw.Alarm(
                self,
                "DatabaseStorage",
                alarm_description="Less than 2 GiB of database storage left.",
                metric=watched.database.metric_free_storage_space(period=five_minutes),
                threshold=2 * 1024**3,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
        ]

    def _dashboard(self, config: DeployConfig, watched: Watched) -> cw.Dashboard:
        minute = Duration.minutes(1)
        api = watched.api
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"tradebot-{config.environment}")
        dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=3)
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="API requests and errors",
                left=[
                    api.metric_count(period=minute),
                    api.metric_client_error(period=minute),
                    api.metric_server_error(period=minute),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="API latency (p50, p99)",
                left=[
                    api.metric_latency(period=minute, statistic="p50"),
                    api.metric_latency(period=minute, statistic="p99"),
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Order queue",
                left=[
                    watched.queue.metric_approximate_number_of_messages_visible(period=minute),
                    watched.queue.metric_approximate_age_of_oldest_message(period=minute),
                ],
                right=[
                    watched.dead_letters.metric_approximate_number_of_messages_visible(
                        period=minute
                    )
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Order executor",
                left=[
                    watched.executor.metric_invocations(period=minute),
                    watched.executor.metric_errors(period=minute),
                    watched.executor.metric_throttles(period=minute),
                ],
                right=[watched.executor.metric_duration(period=minute, statistic="p99")],
                width=8,
            ),
            cw.GraphWidget(
                title="Prices updated per minute",
                left=[self.prices_updated],
                right=[watched.price_updater.metric_errors(period=minute)],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Database",
                left=[watched.database.metric_cpu_utilization(period=minute)],
                right=[watched.database.metric_database_connections(period=minute)],
                width=12,
            ),
            cw.GraphWidget(
                title="Database free storage (bytes)",
                left=[watched.database.metric_free_storage_space(period=minute)],
                width=12,
            ),
        )
        return dashboard
