"""cdk-nag acknowledgments: every rule the stack does not follow, with the reason, in code."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept `rule` (e.g. "AwsSolutions-IAM5[Resource::*]") for `scope` and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
