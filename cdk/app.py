"""CDK app entry point: `make synth` (or `npx aws-cdk synth|deploy`, via cdk.json).

Run directly with the project's interpreter, it reads cdk.json's context itself, so synthesis
needs neither the CDK CLI nor AWS credentials; the CLI, when it runs this file, passes the same
context (plus any -c overrides) through the environment, which takes precedence.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks
from tradebot_cdk.config import DeployConfig
from tradebot_cdk.stack import TradebotStack

ROOT = Path(__file__).resolve().parents[1]

# What the CLI sets by default: asset and construct-path metadata, which `sam local invoke`
# uses to find each function's code in cdk.out.
CLI_DEFAULTS: dict[str, object] = {
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:enable-path-metadata": True,
}


def build_app(context: dict[str, object] | None = None, outdir: str | None = None) -> App:
    """The app with its one stack and the cdk-nag AwsSolutions checks (run at synth)."""
    defaults = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = App(
        context={**CLI_DEFAULTS, **defaults, **(context or {})},
        outdir=outdir or os.environ.get("CDK_OUTDIR") or str(ROOT / "cdk.out"),
    )
    config = DeployConfig.from_context(app.node)
    TradebotStack(app, config.stack_name, config=config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
