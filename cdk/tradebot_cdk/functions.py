"""One Lambda function per route and worker: code is its own folder, everything else shared.

Each function gets its own role (logs of its own log group, plus what the stack grants it), its
own log group with a retention, the shared layer, X-Ray, JSON logs and a place in the VPC.

Route functions run with SnapStart: each deploy that changes a function's code or configuration
publishes a version (CDK's `currentVersion`, a logical id hashed from both), Lambda initializes
it once and snapshots it, and the `live` alias moves to it. API Gateway invokes the alias, never
$LATEST (SnapStart applies to published versions only). The hooks that prime and reconnect are
`tradebot.snapstart`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from tradebot_cdk.nag import acknowledge

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_12
HANDLER = "handler.handler"
# The alias API Gateway invokes: always the version the last deploy published.
LIVE_ALIAS = "live"


def pascal(name: str) -> str:
    """`notes_create` -> `NotesCreate`: construct ids and logical ids."""
    return "".join(part.capitalize() for part in name.split("_"))


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between functions."""

    name: str  # folder under functions/
    description: str
    memory_mb: int
    timeout: Duration
    reserved_concurrency: int | None = None
    # Published versions with SnapStart behind the `live` alias (see the module docstring).
    snap_start: bool = False


@dataclass(frozen=True)
class FunctionShared:
    """What every function has in common."""

    layer: lambda_.ILayerVersion
    architecture: lambda_.Architecture
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup
    vpc_access: iam.IManagedPolicy
    environment: dict[str, str]
    log_retention: logs.RetentionDays


class TradebotFunction(Construct):
    """`functions/<name>` as a Lambda function with its own role and log group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        shared: FunctionShared,
        environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = logs.LogGroup(
            self, "Logs", retention=shared.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"tradebot {spec.name} function",
            managed_policies=[shared.vpc_access],
        )
        # Only its own log group: not logs:CreateLogGroup, not other functions' logs.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=shared.architecture,
            handler=HANDLER,
            code=lambda_.Code.from_asset(
                str(FUNCTIONS / spec.name), exclude=["__pycache__", "*.pyc"]
            ),
            layers=[shared.layer],
            role=self.role,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            environment={**shared.environment, **(environment or {})},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            vpc=shared.vpc,
            vpc_subnets=shared.subnets,
            security_groups=[shared.security_group],
            reserved_concurrent_executions=spec.reserved_concurrency,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if spec.snap_start else None,
            # A replaced version is deleted, not retained: each kept version would keep its
            # snapshot cached, and SnapStart bills the cache per version.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)
            if spec.snap_start
            else None,
        )
        # What callers invoke: the `live` alias of the newest version, or the function itself.
        self.invoked: lambda_.IFunction = self.function
        if spec.snap_start:
            self.alias = lambda_.Alias(
                self,
                "Live",
                alias_name=LIVE_ALIAS,
                version=self.function.current_version,
                description="The version the last deploy published (SnapStart)",
            )
            self.invoked = self.alias
            Annotations.of(self.function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "Published: currentVersion, behind the live alias API Gateway invokes.",
            )
        # Readable, stable logical ids: `sam local invoke FnNotesCreate`, and tests.
        cfn = self.function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.override_logical_id(f"Fn{pascal(spec.name)}")
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords, added by CDK for active tracing, "
            "have no resource-level permissions.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is the project's interpreter (.venv, requires-python) and the layer's "
            "compiled wheels are built for cp312; the runtime moves with them, not alone.",
        )


def vpc_access_policy(scope: Construct) -> iam.ManagedPolicy:
    """The network-interface permissions Lambda needs to place a function in the VPC.

    One customer-managed policy shared by every role, instead of the AWS-managed
    AWSLambdaVPCAccessExecutionRole (which also grants logs on every log group).
    """
    policy = iam.ManagedPolicy(
        scope,
        "LambdaVpcAccess",
        description="Network interfaces for tradebot functions in the VPC",
        statements=[
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        ],
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "The EC2 network-interface actions Lambda uses to attach a function to the VPC do not "
        "support resource-level permissions (AWS's own AWSLambdaVPCAccessExecutionRole uses *).",
    )
    return policy
