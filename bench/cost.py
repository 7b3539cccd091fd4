"""What the measured durations and memory cost on AWS: per million API calls, and per month
for 1000 active users beside the seed's $265/month container estimate."""

from __future__ import annotations

import math
from typing import Any

from bench.report import Figure, Results

# Prices used (us-east-1, x86, on-demand). Lambda and API Gateway are the brief's; the fixed
# infrastructure figures are approximate list prices, to be checked before relying on them.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_MILLION = 0.20
# SnapStart (Python), us-east-1 list prices (aws.amazon.com/lambda/pricing): the snapshot cache
# per GB of the function's memory per second each published version is kept (3 hours at
# least), and each restore per GB of memory restored.
SNAPSTART_CACHE_GB_SECOND = 0.0000015046
SNAPSTART_RESTORE_GB = 0.0001397998
# Every route function runs SnapStart (cdk/tradebot_cdk/catalog.py sizes them: 512 MB, 1024 MB
# for the "auth" throttle class); the cost model's share of cold API requests (docs/deploy.md).
ROUTE_MEMORY_MB, AUTH_ROUTE_MEMORY_MB = 512, 1024
COLD_SHARE = 0.03
API_GATEWAY_REST_PER_MILLION = 3.50
FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1769 MB, a share below it
SIZES_MB = (128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008)
SEED_MONTHLY = 265.0
FIXED_MONTHLY = {
    "RDS PostgreSQL db.t4g.micro, single-AZ, 20 GB gp3 (approx.)": 14.0,
    "RDS Proxy, 2 vCPU minimum (approx.)": 21.9,
    "ElastiCache Redis cache.t4g.micro (approx.)": 11.7,
    "NAT gateway, one AZ, + a few GB (approx.)": 34.0,
    "Secrets Manager, 3 secrets (approx.)": 1.2,
    "CloudWatch logs and alarms (approx.)": 5.0,
    # The alarm topic's key and the exchange-key key ($1 each) and, at worst, ~600k requests at
    # $0.03 per 10k (docs/deploy.md); the data key cache makes most orders ask nothing.
    "KMS keys and requests, worst case (approx.)": 3.8,
    # ~100 KB gzipped app shell per visit, then cached assets; API calls pass through uncached
    # (CloudFront to API Gateway data transfer is free; $0.0075-0.01 per 10k HTTPS requests).
    "CloudFront + S3 for the web app, 1000 users (approx.)": 3.8,
    # Off by default; with wafRateLimit set: $5 web ACL + $1 rule + $0.60 per million requests.
    "AWS WAF rate rule, off by default (on: ~$6 + $0.60/M requests)": 0.0,
}

# The workload assumed for one active user per day (a trader with the web app open ~2 hours):
# prices polled every 30 s, the dashboard every minute, a handful of orders and notes.
CALLS_PER_USER_PER_DAY = {
    "market_prices": 240,
    "dashboard": 120,
    "trades_list": 30,
    "market_price": 20,
    "market_price_history": 20,  # the dashboard's charts, one per held symbol
    "trades_get": 10,
    "trades_create": 10,
    "trades_cancel": 2,
    "notes_list": 5,
    "notes_get": 3,
    "notes_create": 1,
    "notes_update": 1,
    "notes_delete": 0.2,
    "auth_me": 5,
    "auth_login": 1,
    "market_symbols": 2,
    "api_keys_get": 0.5,
    "api_keys_put": 0.05,
    "api_keys_delete": 0.01,
    "auth_register": 0.01,
    "health": 1.44,
}
ACTIVE_USERS = 1000
DAYS = 30
ORDER_MESSAGES_PER_USER_PER_DAY = 12  # placements and cancels, one executor call each (worst case)
UPDATER_CALLS_PER_MONTH = 60 * 24 * DAYS


def choose_memory(peak_rss_mib: float) -> int:
    """The smallest size with a third of headroom over the peak, never under 256 MB."""
    needed = max(256.0, peak_rss_mib * 1.33)
    return next(size for size in SIZES_MB if size >= needed)


def stretched_ms(measured_ms: float, memory_mb: int) -> float:
    """Duration at `memory_mb`, assuming the call is CPU-bound (an upper bound)."""
    return measured_ms * max(1.0, FULL_VCPU_MB / memory_mb)


def per_call(duration_ms: float, memory_mb: int) -> float:
    """Lambda's price of one invocation: requests plus GB-seconds, billed per started ms."""
    billed_s = math.ceil(duration_ms) / 1000
    return LAMBDA_PER_MILLION / 1e6 + memory_mb / 1024 * billed_s * LAMBDA_GB_SECOND


def snapstart_monthly(api_calls_per_month: float) -> dict[str, float]:
    """SnapStart's charges for a month: every route function's snapshot cached all month (one
    version each: replaced versions are deleted), and a restore per cold API request."""
    from tradebot.http.routes import ROUTES

    memory_gb = [
        (AUTH_ROUTE_MEMORY_MB if route.throttle == "auth" else ROUTE_MEMORY_MB) / 1024
        for route in ROUTES
    ]
    cache = sum(memory_gb) * DAYS * 86_400 * SNAPSTART_CACHE_GB_SECOND
    mean_gb = sum(memory_gb) / len(memory_gb)
    restores = api_calls_per_month * COLD_SHARE
    restore = restores * mean_gb * SNAPSTART_RESTORE_GB
    return {
        "functions": len(memory_gb),
        "cached_gb": sum(memory_gb),
        "cache": cache,
        "restores": restores,
        "restore": restore,
        "total": cache + restore,
    }


def run(
    results: Results, warm: dict[str, Any], cold: dict[str, Any], workers: dict[str, Any]
) -> dict[str, Any]:
    functions = cold.get("functions", {})
    routes: dict[str, Any] = {}
    for name, share in CALLS_PER_USER_PER_DAY.items():
        measured = warm.get(name)
        if measured is None:
            continue
        rss = functions.get(name, {}).get("peak_rss_mib", 150.0)
        memory = choose_memory(rss)
        mean_ms = measured["route"].mean_ms
        at_memory = stretched_ms(mean_ms, memory)
        routes[name] = {
            "calls_per_user_day": share,
            "memory_mb": memory,
            "peak_rss_mib": rss,
            "mean_ms_measured": mean_ms,
            "mean_ms_at_memory": at_memory,
            "lambda_per_million": per_call(at_memory, memory) * 1e6,
            "lambda_per_million_unstretched": per_call(mean_ms, memory) * 1e6,
        }
    if not routes:
        return {}
    weights = {n: r["calls_per_user_day"] for n, r in routes.items()}
    total_weight = sum(weights.values())
    mix_per_million = (
        sum(r["lambda_per_million"] * weights[n] for n, r in routes.items()) / total_weight
    )
    mix_low = (
        sum(r["lambda_per_million_unstretched"] * weights[n] for n, r in routes.items())
        / total_weight
    )
    monthly_calls = ACTIVE_USERS * DAYS * total_weight
    api_lambda = monthly_calls / 1e6 * mix_per_million
    api_gateway = monthly_calls / 1e6 * API_GATEWAY_REST_PER_MILLION

    worker_costs = {}
    executor = workers.get("executor", {}).get("single_message")
    if executor is not None:
        memory = choose_memory(functions.get("order_executor", {}).get("peak_rss_mib", 150.0))
        calls = ACTIVE_USERS * DAYS * ORDER_MESSAGES_PER_USER_PER_DAY
        duration = stretched_ms(executor.mean_ms, memory)
        worker_costs["order_executor"] = {
            "calls": calls,
            "memory_mb": memory,
            "mean_ms_at_memory": duration,
            "monthly": calls * per_call(duration, memory),
        }
    updater = workers.get("updater", {}).get("snapshot")
    if updater is not None:
        memory = choose_memory(functions.get("price_updater", {}).get("peak_rss_mib", 150.0))
        duration = stretched_ms(updater.mean_ms, memory)
        worker_costs["price_updater"] = {
            "calls": UPDATER_CALLS_PER_MONTH,
            "memory_mb": memory,
            "mean_ms_at_memory": duration,
            "monthly": UPDATER_CALLS_PER_MONTH * per_call(duration, memory),
        }
    workers_monthly = sum(w["monthly"] for w in worker_costs.values())
    fixed = sum(FIXED_MONTHLY.values())
    snapstart = snapstart_monthly(monthly_calls)
    monthly = api_lambda + api_gateway + workers_monthly + fixed + snapstart["total"]

    results.add(
        Figure(
            "cost",
            "Lambda per 1M API calls (mix)",
            mix_per_million,
            "USD",
            note=f"at each route's memory, CPU-bound stretch; {mix_low:.2f} unstretched; "
            f"+ API Gateway REST {API_GATEWAY_REST_PER_MILLION:.2f}",
        )
    )
    results.add(
        Figure(
            "cost",
            "monthly, 1000 active users",
            monthly,
            "USD/month",
            target=f"< seed's ${SEED_MONTHLY:g}",
            met=monthly < SEED_MONTHLY,
            note=f"API GW {api_gateway:.0f} + API Lambda {api_lambda:.1f} + workers "
            f"{workers_monthly:.1f} + SnapStart {snapstart['total']:.0f} (cache "
            f"{snapstart['cache']:.0f}, restores {snapstart['restore']:.1f}) + fixed {fixed:.0f} "
            f"(approx.); {monthly_calls / 1e6:.1f}M calls/month",
        )
    )
    return {
        "prices_used": {
            "lambda_gb_second_x86": LAMBDA_GB_SECOND,
            "lambda_per_million_requests": LAMBDA_PER_MILLION,
            "api_gateway_rest_per_million": API_GATEWAY_REST_PER_MILLION,
            "snapstart_cache_gb_second": SNAPSTART_CACHE_GB_SECOND,
            "snapstart_restore_gb": SNAPSTART_RESTORE_GB,
            "fixed_monthly_approximate": FIXED_MONTHLY,
        },
        "assumptions": {
            "active_users": ACTIVE_USERS,
            "days": DAYS,
            "calls_per_user_per_day": CALLS_PER_USER_PER_DAY,
            "order_messages_per_user_per_day": ORDER_MESSAGES_PER_USER_PER_DAY,
            "price_updates_per_month": UPDATER_CALLS_PER_MONTH,
            "memory": "smallest Lambda size >= 1.33x the function's peak RSS, at least 256 MB",
            "duration": "measured mean x 1769/memory (CPU-bound upper bound; I/O waits do not "
            "stretch), billed per started ms; network to RDS Proxy/ElastiCache not "
            "included",
        },
        "routes": routes,
        "workers": worker_costs,
        "monthly": {
            "api_gateway": api_gateway,
            "api_lambda": api_lambda,
            "workers": workers_monthly,
            "snapstart": snapstart,
            "fixed": fixed,
            "total": monthly,
            "seed": SEED_MONTHLY,
            "calls": monthly_calls,
        },
        "lambda_per_million_mix": mix_per_million,
        "lambda_per_million_mix_unstretched": mix_low,
    }
