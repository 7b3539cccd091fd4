"""The customer-managed KMS key that wraps the data keys of stored exchange keys.

Every stored key value is sealed with its own data key (tradebot.crypto.envelope), bound by the
EncryptionContext {user_id, credential_id, purpose}. The grants below allow only calls that
carry exactly that context: a role cannot ask KMS to unwrap a data key without naming an owner,
a credential and a purpose, and CloudTrail records which user's key each call opened.

KMS is reached through the NAT like Binance: thanks to the data key cache an execution
environment makes a few calls per warm period, which does not pay for an interface endpoint
($14.60/month in two AZs).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What every call must carry, and what it may name (tradebot.accounts.sealing).
CONTEXT_KEYS = ("credential_id", "purpose", "user_id")
PURPOSES = ("api_key", "api_secret")


def _context_conditions() -> dict[str, object]:
    return {
        # Exactly these context keys (ForAllValues alone would pass an empty context too).
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": list(CONTEXT_KEYS)},
        "Null": {"kms:EncryptionContextKeys": "false"},
        "StringEquals": {"kms:EncryptionContext:purpose": list(PURPOSES)},
    }


class ExchangeKeyVault(Construct):
    """The KMS key (yearly rotation, kept on stack deletion) and its least-privilege grants."""

    def __init__(self, scope: Construct, construct_id: str, *, environment: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="tradebot: wraps the data keys of users' stored exchange keys",
            enable_key_rotation=True,
            # Deleting it would make every stored exchange key unreadable: it outlives the stack.
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
            alias=f"alias/tradebot-{environment}-exchange-keys",
        )

    @property
    def key_arn(self) -> str:
        """What KMS_KEY_ID names."""
        return self.key.key_arn

    def grant_open(self, role: iam.IRole) -> None:
        """kms:Decrypt of data keys bound to an owner, a credential and a purpose."""
        self._grant(role, "kms:Decrypt")

    def grant_seal(self, role: iam.IRole) -> None:
        """kms:GenerateDataKey for new data keys, bound the same way."""
        self._grant(role, "kms:GenerateDataKey")

    def _grant(self, role: iam.IRole, action: str) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[action], resources=[self.key.key_arn], conditions=_context_conditions()
            )
        )
