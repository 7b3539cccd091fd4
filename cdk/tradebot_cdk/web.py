"""The web app on CloudFront: a private S3 bucket (origin access control) for the built app and
`/api/*` routed to the API Gateway stage on the same distribution, so the app and the API share
one origin (no CORS in production).

Caching: hashed assets (`/assets/*`) for a year; everything else of the app (index.html,
sw.js) as the object's Cache-Control says, by default not at all; the API never. App routes
fall back to index.html through a viewer-request function on the app's behaviours only, so an
API 404 stays the API's problem+json (a distribution-wide error page would rewrite it).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct
from tradebot.http.middleware import WEB_APP_CSP as APP_CSP

from tradebot_cdk.nag import acknowledge

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"

ONE_YEAR = Duration.days(365)

# Paths without a file extension are app routes: the router in index.html draws them.
SPA_FALLBACK = """
function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
""".strip()


class WebHosting(Construct):
    """The bucket the built app is uploaded to and the distribution in front of it and the API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigw.RestApi,
        retain: bool,
        dist: Path = WEB_DIST,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "AppHeaders",
            comment="The web app's CSP, HSTS and the OWASP headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=APP_CSP, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730),
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Cross-Origin-Opener-Policy", value="same-origin", override=True
                    ),
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy",
                        value="accelerometer=(), camera=(), geolocation=(), microphone=()",
                        override=True,
                    ),
                ]
            ),
        )
        # index.html and sw.js: the object's Cache-Control (no-cache at upload), else not cached.
        shell = cloudfront.CachePolicy(
            self,
            "ShellCache",
            comment="App shell: revalidated every time unless the object says otherwise",
            default_ttl=Duration.seconds(0),
            min_ttl=Duration.seconds(0),
            max_ttl=Duration.days(1),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        assets = cloudfront.CachePolicy(
            self,
            "AssetCache",
            comment="Hashed assets: a new build is a new name, so cache them for a year",
            default_ttl=ONE_YEAR,
            min_ttl=ONE_YEAR,
            max_ttl=ONE_YEAR,
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )
        fallback = cloudfront.Function(
            self,
            "SpaFallback",
            code=cloudfront.FunctionCode.from_inline(SPA_FALLBACK),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment="App routes (no file extension) are index.html",
        )
        app_origin = origins.S3BucketOrigin.with_origin_access_control(self.bucket)
        api_behavior = cloudfront.BehaviorOptions(
            origin=origins.RestApiOrigin(rest_api),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Tradebot web app and API, one origin",
            default_root_object="index.html",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            default_behavior=cloudfront.BehaviorOptions(
                origin=app_origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=shell,
                response_headers_policy=headers,
                compress=True,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=fallback, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors={
                "/assets/*": cloudfront.BehaviorOptions(
                    origin=app_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    cache_policy=assets,
                    response_headers_policy=headers,
                    compress=True,
                ),
                "/api/*": api_behavior,
                "/health": api_behavior,
            },
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"
        CfnOutput(self, "WebUrl", value=self.url, description="The web app (and /api) URL")
        CfnOutput(self, "WebBucketName", value=self.bucket.bucket_name)
        self.deployments = self._upload(dist) if (dist / "index.html").is_file() else []
        self._acknowledge()

    def _upload(self, dist: Path) -> list[s3deploy.BucketDeployment]:
        """The built app (`make web-build`; `make synth` builds it), uploaded on each deploy.

        Hashed assets first, cached for a year and never pruned (a browser holding the previous
        index.html still finds its chunks); then the shell, revalidated on every visit, and its
        paths invalidated on the distribution.
        """
        assets = s3deploy.BucketDeployment(
            self,
            "UploadAssets",
            sources=[s3deploy.Source.asset(str(dist / "assets"))],
            destination_bucket=self.bucket,
            destination_key_prefix="assets/",
            cache_control=[
                s3deploy.CacheControl.from_string("public, max-age=31536000, immutable")
            ],
            prune=False,
            memory_limit=256,
        )
        shell = s3deploy.BucketDeployment(
            self,
            "UploadShell",
            sources=[s3deploy.Source.asset(str(dist), exclude=["assets", "assets/*"])],
            destination_bucket=self.bucket,
            cache_control=[s3deploy.CacheControl.no_cache()],
            prune=False,
            memory_limit=256,
            distribution=self.distribution,
            distribution_paths=["/", "/index.html", "/sw.js"],
        )
        shell.node.add_dependency(assets)
        return [assets, shell]

    def _acknowledge_upload(self) -> None:
        """The upload runs CDK's own BucketDeployment function (one per stack, at deploy time)."""
        stack = Stack.of(self)
        (upload,) = [
            c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")
        ]
        why = (
            "CDK's BucketDeployment function, run by CloudFormation at deploy time only: it "
            "copies the build from the CDK asset bucket into the web bucket, deletes nothing "
            "(prune is off) and invalidates the shell's paths, with the grants CDK scopes to "
            "those two buckets and the distribution"
        )
        for rule in (
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
            "AwsSolutions-IAM5[Resource::<WebBucketE51352C0.Arn>/*]",
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-L1",
        ):
            acknowledge(upload, rule, why)

    def _acknowledge(self) -> None:
        if self.deployments:
            self._acknowledge_upload()
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Holds only the public build of the web app; CloudFront's logs cover its reads",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "A trading app for anyone who may trade; no country is excluded by design",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "Abuse is throttled at the API (stage, per-method, per-user limits, optional WAF "
            "on the stage); the app itself is static files",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "Access logs would need a log bucket with ACLs; the API's access logs record "
            "every request that matters",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate's policy is fixed at TLSv1 on the viewer "
            "side; a custom domain with its certificate and TLSv1.2_2021 lifts it",
        )
