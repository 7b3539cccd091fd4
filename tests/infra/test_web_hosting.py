"""The web app on CloudFront: a private bucket behind origin access control, the API on the same
distribution, the app's headers and caching, and its URL as an output."""

from __future__ import annotations

import json
from typing import Any

from tradebot.http.middleware import WEB_APP_CSP as APP_CSP

from tests.infra.conftest import Synth
from tests.infra.test_stack import only

# AWS's managed cache and origin-request policies.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
YEAR_S = 365 * 24 * 3600


def distribution(synth: Synth) -> dict[str, Any]:
    config: dict[str, Any] = only(synth.of_type("AWS::CloudFront::Distribution"))[
        "DistributionConfig"
    ]
    return config


def behaviors(synth: Synth) -> dict[str, dict[str, Any]]:
    return {b["PathPattern"]: b for b in distribution(synth)["CacheBehaviors"]}


def cache_policy(synth: Synth, ref: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = synth.resources[ref["Ref"]]["Properties"]["CachePolicyConfig"]
    return policy


def test_the_bucket_is_private_encrypted_and_read_only_through_the_distribution(
    synth: Synth,
) -> None:
    (bucket_id,) = [k for k in synth.of_type("AWS::S3::Bucket") if k.startswith("Web")]
    bucket = synth.resources[bucket_id]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "BucketEncryption" in bucket
    oac = only(synth.of_type("AWS::CloudFront::OriginAccessControl"))
    assert oac["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = [s for statement in policies for s in statement]
    reads = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in reads] == [{"Service": "cloudfront.amazonaws.com"}]
    assert any(s.get("Condition", {}).get("Bool") == {"aws:SecureTransport": "false"}
               for s in statements if s["Effect"] == "Deny")  # fmt: skip


def test_api_paths_go_to_the_api_stage_uncached_with_every_method(synth: Synth) -> None:
    api = behaviors(synth)["/api/*"]
    origin = next(o for o in distribution(synth)["Origins"] if o["Id"] == api["TargetOriginId"])

    # The stage's URL, split: its host is the domain and its stage (v1) the origin path.
    assert "ApiRestApiDeploymentStagev1" in json.dumps(origin["OriginPath"])
    assert "execute-api" in json.dumps(origin["DomainName"])
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert set(api["AllowedMethods"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    assert api["ViewerProtocolPolicy"] == "https-only"
    # No fallback to index.html on the API: its 404s stay problem+json.
    assert "FunctionAssociations" not in api
    assert "CustomErrorResponses" not in distribution(synth)


def test_app_routes_fall_back_to_index_html_through_a_function(synth: Synth) -> None:
    default = distribution(synth)["DefaultCacheBehavior"]
    (association,) = default["FunctionAssociations"]
    function = only(synth.of_type("AWS::CloudFront::Function"))

    assert association["EventType"] == "viewer-request"
    assert "/index.html" in function["FunctionCode"]
    assert distribution(synth)["DefaultRootObject"] == "index.html"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"


def test_hashed_assets_are_cached_for_a_year_and_the_shell_not_by_default(synth: Synth) -> None:
    assets = cache_policy(synth, behaviors(synth)["/assets/*"]["CachePolicyId"])
    shell = cache_policy(synth, distribution(synth)["DefaultCacheBehavior"]["CachePolicyId"])

    assert assets["DefaultTTL"] == assets["MinTTL"] == YEAR_S
    assert shell["DefaultTTL"] == 0
    assert shell["MinTTL"] == 0


def test_the_app_gets_a_strict_csp_and_hsts(synth: Synth) -> None:
    policy = only(synth.of_type("AWS::CloudFront::ResponseHeadersPolicy"))
    security = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]

    assert security["ContentSecurityPolicy"]["ContentSecurityPolicy"] == APP_CSP
    assert "'unsafe-inline'" not in APP_CSP
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= YEAR_S
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    default = distribution(synth)["DefaultCacheBehavior"]
    assert (
        default["ResponseHeadersPolicyId"]
        == behaviors(synth)["/assets/*"]["ResponseHeadersPolicyId"]
    )


def test_the_web_url_is_an_output(synth: Synth) -> None:
    outputs = synth.template["Outputs"]
    (url,) = [v for k, v in outputs.items() if k.startswith("WebWebUrl")]
    assert "https://" in json.dumps(url["Value"])


def test_each_deploy_uploads_the_build_assets_for_a_year_and_the_shell_revalidated(
    synth: Synth,
) -> None:
    uploads = {k: v["Properties"] for k, v in synth.of_type("Custom::CDKBucketDeployment").items()}
    (assets,) = [u for u in uploads.values() if u.get("DestinationBucketKeyPrefix") == "assets/"]
    (shell,) = [u for u in uploads.values() if "DistributionPaths" in u]

    assert assets["SystemMetadata"]["cache-control"] == "public, max-age=31536000, immutable"
    assert shell["SystemMetadata"]["cache-control"] == "no-cache"
    assert assets["Prune"] is False and shell["Prune"] is False  # old chunks stay for old tabs
    assert set(shell["DistributionPaths"]) == {"/", "/index.html", "/sw.js"}
