"""`make lint`'s dependency audit: pip-audit over what the Lambda layer ships.

The audited set is the runtime closure of the `tradebot` package (its dependencies, theirs, and
so on), pinned to the versions installed in the virtualenv, i.e. exactly what `pip install`
resolved from pyproject.toml. pip-audit checks those pins against its vulnerability service
without resolving anything again (`--no-deps --disable-pip`).

Without network the service cannot be asked: the audit then says so and passes (report-only),
so `make lint` works offline; known vulnerabilities found online fail it.
"""

from __future__ import annotations

import json
import subprocess  # nosec B404 - runs pip-audit from this virtualenv, no shell
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "tradebot"
# What a failure to reach the service looks like in pip-audit's output (requests/urllib3).
OFFLINE_SIGNS = (
    "ConnectionError",
    "Max retries exceeded",
    "NameResolutionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "ReadTimeout",
    "ConnectTimeout",
)


def runtime_closure(project: str = PROJECT) -> dict[str, str]:
    """Installed name -> version of every distribution `project` needs at run time."""
    pinned: dict[str, str] = {}
    pending: list[tuple[str, frozenset[str]]] = [(project, frozenset())]
    while pending:
        name, extras = pending.pop()
        try:
            found = distribution(name)
        except PackageNotFoundError:
            continue  # a marker-less optional dependency that is not installed
        key = str(canonicalize_name(found.metadata["Name"]))
        if key in pinned:
            continue
        pinned[key] = found.version
        for line in found.requires or []:
            requirement = Requirement(line)
            wanted = extras or frozenset({""})
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in wanted):
                pending.append((requirement.name, frozenset(requirement.extras)))
    pinned.pop(project, None)
    return dict(sorted(pinned.items()))


def main() -> int:
    """Audit the pins: 1 on a known vulnerability, else 0 (also when nothing could be asked)."""
    pins = runtime_closure()
    with tempfile.TemporaryDirectory() as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
        command = [
            sys.executable, "-m", "pip_audit", "--requirement", str(requirements),
            "--no-deps", "--disable-pip", "--progress-spinner", "off", "--format", "json",
        ]  # fmt: skip
        result = subprocess.run(  # noqa: S603  # nosec B603 - our own argv, no shell
            command, capture_output=True, text=True, check=False
        )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = None
    if report is None:
        if any(sign in result.stderr for sign in OFFLINE_SIGNS):
            print(f"pip-audit: vulnerability service unreachable; {len(pins)} pins NOT audited")
            return 0
        print(result.stdout + result.stderr)
        return result.returncode or 1
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    audited = len(dependencies) - len(skipped)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    if audited == 0:
        # Every lookup failed the same way: the service is out of reach (offline, or a registry
        # mirror without it). Report-only, so the build does not depend on it.
        reason = skipped[0]["skip_reason"] if skipped else "no answer"
        print(f"pip-audit: vulnerability service unreachable; {len(pins)} pins NOT audited")
        print(f"  (pip-audit: {reason})")
        return 0
    print(
        f"pip-audit: {audited} of {len(pins)} runtime pins audited, "
        f"{len(vulnerable)} with known vulnerabilities"
        + (f"; not audited: {', '.join(d['name'] for d in skipped)}" if skipped else "")
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
