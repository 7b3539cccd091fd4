"""The deployment's configuration: CDK context keys, validated once into a typed object.

Every key is optional and flat, so any of them can be set in cdk.json or overridden on the
command line (`npx aws-cdk deploy -c multiAz=true -c allowedOrigins=https://app.example.com`);
values given on the command line arrive as strings and are parsed here.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

# CloudWatch Logs accepts only these retention periods.
LogRetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]
MemoryMb = Annotated[int, Field(ge=128, le=10240)]
# https origins, or plain http for a frontend running on the developer's machine.
ORIGIN = re.compile(r"https://[A-Za-z0-9.-]+(:\d+)?|http://(localhost|127\.0\.0\.1)(:\d+)?")


class ContextReader(Protocol):
    """What the config needs from a construct node: `node.try_get_context`."""

    def try_get_context(self, key: str) -> object: ...


class DeployConfig(BaseModel):
    """Everything a trader may want to change per deployment; defaults suit a small production."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    # Names: the stack is `Tradebot-<environment>`, metrics go to `Tradebot/<environment>`.
    environment: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")] = "prod"
    # Browser origins of the frontend(s), for CORS.
    allowed_origins: list[str] = ["http://localhost:3000"]

    # API Gateway throttles, requests per second (rate) and burst: the stage as a whole, and
    # per method for the route table's "write" and "auth" throttle classes. Loose ceilings
    # against floods, sized for > 1000 req/s: they are shared by every caller, so a tight one
    # would let anybody make login answer 429 to every user. The app's per-user and per-address
    # limits in Redis (RATE_LIMITS) do the fine work.
    stage_rate_limit: Annotated[float, Field(gt=0)] = 2000
    stage_burst_limit: Annotated[int, Field(gt=0)] = 4000
    write_rate_limit: Annotated[float, Field(gt=0)] = 500
    write_burst_limit: Annotated[int, Field(gt=0)] = 1000
    auth_rate_limit: Annotated[float, Field(gt=0)] = 200
    auth_burst_limit: Annotated[int, Field(gt=0)] = 400
    # AWS WAF rate-based rule: requests per source address per 5 minutes past which that
    # address is blocked (429) before API Gateway. None: no web ACL (it costs $5/month, $1 per
    # rule a month and $0.60 per million requests).
    waf_rate_limit: Annotated[int, Field(ge=10, le=2_000_000_000)] | None = None

    # Lambda: arm64 (Graviton) is ~20 % cheaper per GB-second; x86_64 if a wheel lacks arm64.
    architecture: Literal["arm64", "x86_64"] = "arm64"
    # Memory of route functions; per-function overrides by function folder name.
    route_memory_mb: MemoryMb = 512
    memory_mb: dict[str, MemoryMb] = {}
    executor_max_concurrency: Annotated[int, Field(ge=2, le=1000)] = 5
    executor_batch_size: Annotated[int, Field(ge=1, le=10)] = 1
    # 0 leaves the price updater unreserved (new accounts with a concurrency quota of 10
    # cannot reserve any); 1 guarantees it a slot and stops overlapping runs.
    price_updater_reserved_concurrency: Annotated[int, Field(ge=0, le=1)] = 1
    log_retention_days: LogRetentionDays = 30
    market_data: Literal["binance", "simulated"] = "binance"

    # Data.
    multi_az: bool = False
    deletion_protection: bool = True
    db_instance_class: Annotated[str, Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+$")] = "t4g.micro"
    db_allocated_storage_gb: Annotated[int, Field(ge=20, le=1000)] = 20
    backup_retention_days: Annotated[int, Field(ge=7, le=35)] = 7
    cache_node_type: Annotated[str, Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")] = (
        "cache.t4g.micro"
    )
    # Each NAT gateway has its own Elastic IP, and each must be whitelisted on the Binance key.
    nat_gateways: Annotated[int, Field(ge=1, le=2)] = 1
    # Interface endpoints for SQS and Secrets Manager: AWS calls stay off the NAT and the
    # internet, for about $29/month (2 endpoints x 2 AZs); off, those calls go through the NAT.
    vpc_endpoints: bool = True
    # SnapStart on the route functions, so a trader never waits for a cold start: about $80 a
    # month of snapshot cache at the default sizes plus $0.00014 per GB restored (docs/deploy.md).
    # Off: the route functions are invoked at $LATEST and start cold as before.
    snap_start: bool = True

    # Operations.
    alarm_email: str | None = None
    # Changes on every synth unless pinned, so the migration custom resource runs every deploy.
    deploy_id: str = Field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one origin is required")
        for origin in value:
            if not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an https origin (or local http)")
        return value

    @field_validator("memory_mb", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("alarm_email", "waf_rate_limit", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # `-c wafRateLimit=null` on the command line arrives as the string.
        return None if value in ("", "null") else value

    @model_validator(mode="after")
    def _write_tighter_than_stage(self) -> DeployConfig:
        if max(self.write_rate_limit, self.auth_rate_limit) > self.stage_rate_limit:
            raise ValueError("write and auth rate limits must not exceed the stage rate limit")
        return self

    @property
    def metrics_namespace(self) -> str:
        """The CloudWatch namespace of the functions' EMF metrics."""
        return f"Tradebot/{self.environment}"

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack name (and the template's file name in cdk.out)."""
        return f"Tradebot-{self.environment}"

    @classmethod
    def from_context(cls, node: ContextReader) -> DeployConfig:
        """The config from the CDK context; keys not set keep their defaults."""
        values: dict[str, object] = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            value = node.try_get_context(key)
            if value is not None:
                values[key] = value
        return cls.model_validate(values)
