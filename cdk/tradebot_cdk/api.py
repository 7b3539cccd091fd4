"""The REST API: one resource and method per route of the table, each on its own function.

Throttling happens in layers: optionally an AWS WAF rate-based rule per source address
(`wafRateLimit`), API Gateway's stage and per-method limits (loose ceilings shared by everyone,
before any Lambda runs) and the app's per-user/per-address limits in Redis (fair between
users). Requests the gateway can reject on its own are rejected there, in the app's
problem+json shape: a route that needs a token but got no Authorization header, and a body that
is not a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct
from tradebot.http.middleware import SECURITY_HEADERS
from tradebot.http.routes import ROUTES, Route

from tradebot_cdk.config import DeployConfig
from tradebot_cdk.nag import acknowledge

STAGE = "v1"
PROBLEM_JSON = "application/problem+json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
AUTHORIZATION = "method.request.header.Authorization"
# The headers the app's CORS middleware allows and exposes (tradebot.http.app).
ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-OTP", "X-Request-Id"]

# Access log fields (JSON, one object per request); no bodies, no Authorization header.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "time": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "error": "$context.error.responseType",
    "xrayTraceId": "$context.xrayTraceId",
}


def _problem(status: int | None, title: str, detail: str, field: str | None = None) -> str:
    """A problem+json body the way tradebot.http.problems writes them (`status` is optional in
    RFC 9457; left out where one response covers several status codes)."""
    slug = "-".join(title.lower().split())
    body: dict[str, object] = {"type": f"urn:tradebot:problem:{slug}", "title": title}
    if status is not None:
        body["status"] = status
    body["detail"] = detail
    if field is not None:
        body["errors"] = [{"field": field, "message": detail.split(": ", 1)[-1]}]
    return json.dumps(body)


# The gateway's own rejections, in the app's problem+json shape (tradebot.http.problems).
GATEWAY_PROBLEMS: tuple[tuple[apigw.ResponseType, str, str], ...] = (
    # The only required request parameter is the Authorization header of authenticated routes.
    (apigw.ResponseType.BAD_REQUEST_PARAMETERS, "401",
     _problem(401, "Not authenticated", "A bearer access token is required")),
    (apigw.ResponseType.BAD_REQUEST_BODY, "422",
     _problem(422, "Invalid input", "body: must be a JSON object", field="body")),
    # API Gateway's answer to a path or method it does not know.
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404",
     _problem(404, "Not found", "No such route")),
    (apigw.ResponseType.RESOURCE_NOT_FOUND, "404", _problem(404, "Not found", "No such route")),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413",
     _problem(413, "Content too large", "The request body is too large")),
    (apigw.ResponseType.THROTTLED, "429",
     _problem(429, "Too many requests", "Slow down and try again shortly")),
    (apigw.ResponseType.QUOTA_EXCEEDED, "429",
     _problem(429, "Too many requests", "This API key's quota is used up")),
    (apigw.ResponseType.INTEGRATION_TIMEOUT, "504",
     _problem(504, "Gateway timeout", "The service took too long to answer; try again")),
    # Every other gateway-side 5xx (a function that crashed or was throttled) becomes a 502.
    (apigw.ResponseType.DEFAULT_5_XX, "502",
     _problem(502, "Bad gateway", "The service failed to answer; try again")),
)  # fmt: skip


def gateway_headers(config: DeployConfig) -> dict[str, str]:
    """Headers on every response API Gateway makes itself, as static mapping values.

    The app's security headers, except Content-Security-Policy: its value needs single quotes,
    which a static gateway value cannot carry, and a JSON error body renders nothing anyway.
    """
    headers = {
        name.decode().title(): f"'{value.decode()}'"
        for name, value in SECURITY_HEADERS
        if name != b"content-security-policy"
    }
    # A browser reads an error only if it names the page's origin, and a static header can name
    # just one: with several origins, gateway errors stay opaque to pages (the app's are not).
    if len(config.allowed_origins) == 1:
        headers["Access-Control-Allow-Origin"] = f"'{config.allowed_origins[0]}'"
    return headers


def method_key(route: Route) -> str:
    """The stage's method-settings key of a route, e.g. `/api/auth/login/POST`."""
    return f"{route.path}/{route.method}"


def throttle_for(route: Route, config: DeployConfig) -> apigw.ThrottleSettings | None:
    """The per-method throttle of the route's class; None for "read" and "exempt" (the stage's
    default, which API Gateway applies to each method on its own)."""
    if route.throttle == "auth":
        return apigw.ThrottleSettings(
            rate_limit=config.auth_rate_limit, burst_limit=config.auth_burst_limit
        )
    if route.throttle == "write":
        return apigw.ThrottleSettings(
            rate_limit=config.write_rate_limit, burst_limit=config.write_burst_limit
        )
    return None


class Api(Construct):
    """The REST API over the route functions (`functions` maps function name to function)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        functions: Mapping[str, lambda_.IFunction],
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        method_options: dict[str, apigw.MethodDeploymentOptions] = {}
        for route in ROUTES:
            throttle = throttle_for(route, config)
            if throttle is not None:
                method_options[method_key(route)] = apigw.MethodDeploymentOptions(
                    throttling_rate_limit=throttle.rate_limit,
                    throttling_burst_limit=throttle.burst_limit,
                )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"tradebot-{config.environment}",
            description="Tradebot API (one Lambda per route)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Larger JSON answers are gzipped for clients that accept it (the symbols list is
            # ~31 KB for 62 symbols, ~1.5 KB gzipped); CloudFront's /api/* behaviour does not
            # cache, so it passes Accept-Encoding through and API Gateway compresses.
            min_compression_size=Size.kibibytes(1),
            # Access logging needs the account's API Gateway CloudWatch role; create it, and
            # keep it when the stack goes (it is account-wide, other APIs may rely on it).
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=config.stage_rate_limit,
                throttling_burst_limit=config.stage_burst_limit,
                method_options=method_options,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                # Execution logs for errors only, and never request or response bodies
                # (passwords, tokens, API secrets pass through this API).
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=config.allowed_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=ALLOW_HEADERS,
                max_age=Duration.minutes(10),
            ),
        )
        # The stack outputs the URL once, as ApiUrl; CDK's own copy would be a second name for it.
        self.rest_api.node.try_remove_child("Endpoint")
        self.validator = self.rest_api.add_request_validator(
            "Validator",
            request_validator_name="body-and-headers",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        self.json_object = self.rest_api.add_model(
            "JsonObject",
            content_type="application/json",
            model_name="JsonObject",
            description="Any JSON object; the function validates the fields",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4, type=apigw.JsonSchemaType.OBJECT
            ),
        )
        self.methods: dict[str, apigw.Method] = {}
        for route in ROUTES:
            self.methods[route.function] = self._add_route(route, functions[route.function])
        self._gateway_responses(config)
        self._usage_plan(config)
        if config.waf_rate_limit is not None:
            self._web_acl(config, config.waf_rate_limit)
        self._acknowledge(waf=config.waf_rate_limit is not None)

    def _add_route(self, route: Route, function: lambda_.IFunction) -> apigw.Method:
        resource = self.rest_api.root.resource_for_path(route.path)
        parameters = {AUTHORIZATION: True} if route.auth else None
        models = {"application/json": self.json_object} if route.method in BODY_METHODS else None
        return resource.add_method(
            route.method,
            # One permission per method for the deployed stage; no test-invoke permission.
            apigw.LambdaIntegration(function, proxy=True, allow_test_invoke=False),
            operation_name=route.function,
            request_parameters=parameters,
            request_models=models,
            request_validator=self.validator if (parameters or models) else None,
        )

    def _gateway_responses(self, config: DeployConfig) -> None:
        """Errors API Gateway answers itself: problem+json, security headers, CORS."""
        headers = gateway_headers(config)
        for response_type, status, body in GATEWAY_PROBLEMS:
            extra = {"Content-Type": f"'{PROBLEM_JSON}'"}
            if status == "401":
                extra["WWW-Authenticate"] = "'Bearer'"
            if status == "429":
                extra["Retry-After"] = "'1'"
            self.rest_api.add_gateway_response(
                f"Gateway{response_type.response_type}",
                type=response_type,
                status_code=status,
                response_headers={**headers, **extra},
                templates={"application/json": body},
            )
        # Any other 4xx keeps API Gateway's own body but gets the same headers.
        self.rest_api.add_gateway_response(
            "GatewayDEFAULT_4XX", type=apigw.ResponseType.DEFAULT_4_XX, response_headers=headers
        )

    def _usage_plan(self, config: DeployConfig) -> None:
        # Without API keys a usage plan enforces nothing beyond the stage; it is here so keys
        # for programmatic clients (a second bot, a partner) get these limits when issued.
        per_method = [
            apigw.ThrottlingPerMethod(method=self.methods[route.function], throttle=throttle)
            for route in ROUTES
            if (throttle := throttle_for(route, config)) is not None
        ]
        self.rest_api.add_usage_plan(
            "UsagePlan",
            name=f"tradebot-{config.environment}",
            description="Stage and write/auth method throttles for API-key clients",
            throttle=apigw.ThrottleSettings(
                rate_limit=config.stage_rate_limit, burst_limit=config.stage_burst_limit
            ),
            api_stages=[
                apigw.UsagePlanPerApiStage(
                    api=self.rest_api, stage=self.rest_api.deployment_stage, throttle=per_method
                )
            ],
        )

    def _web_acl(self, config: DeployConfig, limit: int) -> None:
        """A web ACL on the stage blocking (429) any address past `limit` requests per 5 min."""
        name = f"tradebot-{config.environment}"

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        too_many = "TooManyRequests"
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(name),
            custom_response_bodies={
                too_many: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=_problem(429, "Too many requests", "Slow down and try again shortly"),
                )
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerAddress",
                    priority=0,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=limit, aggregate_key_type="IP", evaluation_window_sec=300
                        )
                    ),
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=429, custom_response_body_key=too_many
                            )
                        )
                    ),
                    visibility_config=visibility(f"{name}-rate-per-address"),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

    def _acknowledge(self, *, waf: bool) -> None:
        if not waf:
            acknowledge(
                self.rest_api,
                "AwsSolutions-APIG3",
                "No WAF unless wafRateLimit is set: the stage and per-method throttles, the "
                "usage plan and the app's per-user rate limits cover abuse at this size; a web "
                "ACL costs $5/month + $1/rule + $0.60 per million requests.",
            )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG4",
            "Authorization is the app's: each function verifies the bearer JWT it issued "
            "(and the gateway rejects a missing Authorization header on those routes). "
            "Register, login, health and CORS preflights are public by design.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "The API issues and checks its own JWTs (POST /api/auth/login); there is no "
            "Cognito user pool to authorize against.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level role API Gateway uses to write access and execution logs; "
            "AWS's managed policy is the documented one for it.",
        )
