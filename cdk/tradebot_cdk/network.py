"""The VPC: functions in private subnets behind a NAT with a fixed Elastic IP, data isolated.

- `public`: only the NAT gateway(s).
- `app` (private, egress through NAT): every function. All of them need the database or Redis;
  the ones that call Binance (executor, price updater, live dashboard) leave through the NAT,
  whose Elastic IP is the one address the trader whitelists on the Binance key.
- `data` (isolated, no route out): RDS, RDS Proxy, ElastiCache.

Interface endpoints for SQS and Secrets Manager (context vpcEndpoints, on by default) keep those
calls off the NAT and the internet, so the NAT carries only exchange traffic.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

APP_SUBNETS = "app"
DATA_SUBNETS = "data"
HTTPS = ec2.Port.tcp(443)


class Network(Construct):
    """VPC, NAT Elastic IPs, endpoints, and the functions' security group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        nat_gateways: int,
        flow_log_retention: logs.RetentionDays,
        endpoints: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        # Allocated here rather than by the NAT provider so the stack can output them.
        self.nat_ips = [
            ec2.CfnEIP(self, f"NatIp{index + 1}", domain="vpc") for index in range(nat_gateways)
        ]
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            # Two AZs without naming them: Fn::GetAZs keeps the stack environment-agnostic.
            max_azs=2,
            nat_gateways=nat_gateways,
            nat_gateway_provider=ec2.NatProvider.gateway(
                eip_allocation_ids=[ip.attr_allocation_id for ip in self.nat_ips]
            ),
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name=APP_SUBNETS, subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name=DATA_SUBNETS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            # Nothing uses the default security group; restricting it would cost a custom
            # resource Lambda for no gain.
            restrict_default_security_group=False,
        )
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=flow_log_retention)
        # Rejected traffic only: the security-relevant part, at a fraction of the volume.
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        self.app_subnets = ec2.SubnetSelection(subnet_group_name=APP_SUBNETS)
        self.data_subnets = ec2.SubnetSelection(subnet_group_name=DATA_SUBNETS)

        # Egress is opened rule by rule: HTTPS (Binance, AWS endpoints), the proxy, Redis.
        self.functions_sg = ec2.SecurityGroup(
            self,
            "FunctionsSg",
            vpc=self.vpc,
            description="Tradebot Lambda functions",
            allow_all_outbound=False,
        )
        self.functions_sg.add_egress_rule(
            ec2.Peer.any_ipv4(), HTTPS, "Binance API and AWS service endpoints"
        )
        if endpoints:
            self._add_endpoints()

    def _add_endpoints(self) -> None:
        endpoints_sg = ec2.SecurityGroup(
            self,
            "EndpointsSg",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from the functions",
            allow_all_outbound=False,
        )
        endpoints_sg.add_ingress_rule(self.functions_sg, HTTPS, "Functions calling AWS APIs")
        for name, service in (
            ("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS),
            ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
        ):
            self.vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                subnets=self.app_subnets,
                security_groups=[endpoints_sg],
                private_dns_enabled=True,
                open=False,
            )
