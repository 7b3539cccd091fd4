"""PostgreSQL behind RDS Proxy, and Redis: encrypted, in isolated subnets, reachable only from
the functions' security group.

Functions authenticate to the proxy with IAM tokens (`rds-db:connect`, granted per function)
over TLS; the generated master password lives in Secrets Manager and only the proxy reads it.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from tradebot_cdk.config import DeployConfig
from tradebot_cdk.nag import acknowledge
from tradebot_cdk.network import Network
from tradebot_cdk.retention import retention

DB_NAME = "tradebot"
DB_USER = "tradebot"
POSTGRES_PORT = 5432
REDIS_PORT = 6379


class Database(Construct):
    """RDS PostgreSQL, its generated credentials, and the RDS Proxy the functions connect to."""

    def __init__(
        self, scope: Construct, construct_id: str, *, network: Network, config: DeployConfig
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = network.vpc
        self.proxy_sg = ec2.SecurityGroup(
            self, "ProxySg", vpc=vpc, description="RDS Proxy", allow_all_outbound=False
        )
        db_sg = ec2.SecurityGroup(
            self, "DbSg", vpc=vpc, description="PostgreSQL", allow_all_outbound=False
        )
        self.proxy_sg.add_ingress_rule(
            network.functions_sg, ec2.Port.tcp(POSTGRES_PORT), "Functions to the proxy"
        )
        network.functions_sg.add_egress_rule(
            self.proxy_sg, ec2.Port.tcp(POSTGRES_PORT), "Functions to the proxy"
        )
        db_sg.add_ingress_rule(self.proxy_sg, ec2.Port.tcp(POSTGRES_PORT), "Proxy to database")
        self.proxy_sg.add_egress_rule(db_sg, ec2.Port.tcp(POSTGRES_PORT), "Proxy to database")

        # A minor version is required to create an instance; RDS then applies newer minors in
        # the maintenance window (auto_minor_version_upgrade) without a template change.
        engine = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_9)
        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description="TLS only; slow statements logged",
            parameters={"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
        )
        identifier = f"tradebot-{config.environment}"
        # Created first, with a retention, so RDS does not create a never-expiring one.
        postgres_logs = logs.LogGroup(
            self,
            "PostgresLogs",
            log_group_name=f"/aws/rds/instance/{identifier}/postgresql",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        retain = RemovalPolicy.RETAIN if config.deletion_protection else RemovalPolicy.DESTROY
        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            instance_identifier=identifier,
            engine=engine,
            instance_type=ec2.InstanceType(config.db_instance_class),
            vpc=vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[db_sg],
            credentials=rds.Credentials.from_generated_secret(
                DB_USER, exclude_characters=" %+~`#$&*()|[]{}:;<>?!'/@\"\\"
            ),
            database_name=DB_NAME,
            parameter_group=parameters,
            allocated_storage=config.db_allocated_storage_gb,
            max_allocated_storage=config.db_allocated_storage_gb * 5,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            multi_az=config.multi_az,
            backup_retention=Duration.days(config.backup_retention_days),
            deletion_protection=config.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=["postgresql"],
            auto_minor_version_upgrade=True,
            publicly_accessible=False,
        )
        self.instance.node.add_dependency(postgres_logs)
        assert self.instance.secret is not None
        self.secret = self.instance.secret
        self.secret.apply_removal_policy(retain)

        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            proxy_target=rds.ProxyTarget.from_instance(self.instance),
            secrets=[self.secret],
            vpc=vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[self.proxy_sg],
            require_tls=True,
            iam_auth=True,
            # Connections of Lambda environments that went idle are dropped after 10 minutes;
            # the functions' pools recycle theirs every 4 minutes anyway.
            idle_client_timeout=Duration.minutes(10),
            max_connections_percent=90,
            borrow_timeout=Duration.seconds(10),
        )
        self._acknowledge(config)

    @property
    def url(self) -> str:
        """DATABASE_URL for the functions: the proxy, no password (IAM token at connect)."""
        return f"postgresql://{DB_USER}@{self.proxy.endpoint}:{POSTGRES_PORT}/{DB_NAME}"

    def grant_connect(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` connect to the proxy as the application user."""
        self.proxy.grant_connect(grantee, DB_USER)

    def _acknowledge(self, config: DeployConfig) -> None:
        acknowledge(
            self.instance,
            "AwsSolutions-RDS11",
            "Clients reach PostgreSQL only through RDS Proxy, which listens on 5432 whatever the "
            "instance port; the instance accepts only the proxy's security group, so a "
            "non-default port would hide nothing.",
        )
        acknowledge(
            self.instance,  # the generated secret is the instance's child
            "AwsSolutions-SMG4",
            "Only RDS Proxy uses this password (functions use 15-minute IAM tokens). Rotation "
            "would add a SAR-hosted rotation Lambda and template transform; rotate on demand "
            "with `aws secretsmanager rotate-secret` after adding one if policy requires.",
        )
        if not config.multi_az:
            acknowledge(
                self.instance,
                "AwsSolutions-RDS3",
                "Multi-AZ is configurable (context multiAz=true); off by default to halve the "
                "database cost of a small deployment. Backups allow point-in-time restore.",
            )
        if not config.deletion_protection:
            acknowledge(
                self.instance,
                "AwsSolutions-RDS10",
                "Deletion protection is configurable (context deletionProtection); this "
                "deployment turned it off on purpose (a throwaway environment).",
            )


class Cache(Construct):
    """ElastiCache Redis (replication group): TLS in transit, encrypted at rest."""

    def __init__(
        self, scope: Construct, construct_id: str, *, network: Network, config: DeployConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.sg = ec2.SecurityGroup(
            self, "Sg", vpc=network.vpc, description="Redis", allow_all_outbound=False
        )
        self.sg.add_ingress_rule(network.functions_sg, ec2.Port.tcp(REDIS_PORT), "Functions")
        network.functions_sg.add_egress_rule(self.sg, ec2.Port.tcp(REDIS_PORT), "Redis")
        subnets = elasticache.CfnSubnetGroup(
            self,
            "Subnets",
            description="Tradebot cache: isolated data subnets",
            subnet_ids=network.vpc.select_subnets(subnet_group_name="data").subnet_ids,
        )
        self.group = elasticache.CfnReplicationGroup(
            self,
            "ReplicationGroup",
            replication_group_description="Tradebot prices, rate limits and read cache",
            engine="redis",
            engine_version="7.1",
            cache_node_type=config.cache_node_type,
            num_cache_clusters=2 if config.multi_az else 1,
            automatic_failover_enabled=config.multi_az,
            multi_az_enabled=config.multi_az,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            at_rest_encryption_enabled=True,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[self.sg.security_group_id],
            port=REDIS_PORT,
            auto_minor_version_upgrade=True,
            # Everything in it is derived or short-lived: no snapshots to pay for.
            snapshot_retention_limit=0,
        )
        acknowledge(
            self.group,
            "AwsSolutions-AEC5",
            "Reachable only from the functions' security group inside the VPC; a non-default "
            "port would hide nothing.",
        )
        acknowledge(
            self.group,
            "AwsSolutions-AEC6",
            "No AUTH token: it would have to reach every function as a plain secret in "
            "REDIS_URL. Access is limited to the functions' security group and TLS is required; "
            "the cache holds prices, rate-limit counters and short-lived read copies.",
        )
        if not config.multi_az:
            acknowledge(
                self.group,
                "AwsSolutions-AEC4",
                "Multi-AZ is configurable (context multiAz=true); a lost cache node costs only "
                "cached data, rebuilt within a minute by the price updater.",
            )

    @property
    def url(self) -> str:
        """REDIS_URL for the functions (TLS: rediss)."""
        address = self.group.attr_primary_end_point_address
        return f"rediss://{address}:{self.group.attr_primary_end_point_port}/0"
