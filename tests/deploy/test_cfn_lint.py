"""cfn-lint on the templates `serverless package` writes: no error, and no warning but the
ones explained below.

The default template is linted as packaged; the other ways of naming the model (no
profile with a Marketplace product, the global profile) are linted too, since they take
other branches of the template's conditions, and so are other concurrency and throttle
limits, given as `--param` gives them (strings), or with no reservation, and SnapStart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.environment import REGION
from tests.deploy.test_limits import OTHER_LIMITS

CFN_LINT = Path(sys.executable).with_name("cfn-lint")  # the virtualenv's, as pinned

# Findings that follow from how the template is made rather than from a mistake in it:
# (rule, where in the template, why it stays).
EXPLAINED: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "W3005",
        ("Resources", "HttpApiRoute"),
        "the framework writes each HTTP API route with its integration both in DependsOn "
        "and in a Ref; serverless.yml cannot change the generated route",
    ),
    (
        "W3005",
        ("Resources", "SlackLambdaFunction"),
        "the framework writes a function whose `role:` is a logical id with that role both "
        "in DependsOn and in the GetAtt of its Role",
    ),
    (
        "W3005",
        ("Resources", "PurgeLambdaFunction"),
        "the framework writes a function whose `role:` is a logical id with that role both "
        "in DependsOn and in the GetAtt of its Role",
    ),
    (
        "W3005",
        ("Resources", "SlackSnapStartLambdaAlias"),
        "with SnapStart (snapStart=true) the framework writes the function's alias with the "
        "function both in DependsOn and in the Ref of its FunctionName",
    ),
    (
        "W8003",
        ("Conditions", ""),
        "Serverless resolves ${param:...} before CloudFormation sees the template, so each "
        "condition compares two fixed strings: that is how a parameter picks a branch",
    ),
)

OTHER_MODELS = {
    "no profile, a Marketplace model": {
        "modelProfile": "none",
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "modelProductId": "prod-ozonys2hmmpeu",
    },
    "the global profile": {"modelProfile": "global"},
}
OTHER_PARAMETERS = {**OTHER_MODELS, **OTHER_LIMITS, "SnapStart": {"snapStart": "true"}}


def lint(template: Path) -> list[dict[str, Any]]:
    """cfn-lint's findings for `template`, warnings and errors, for the test Region."""
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--regions", REGION, "--", str(template)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode & ~0b1110:  # 2, 4 and 8 flag errors, warnings and notes found
        pytest.fail(f"cfn-lint exited {result.returncode}:\n{result.stderr}", pytrace=False)
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return findings


def explanation(finding: dict[str, Any]) -> str | None:
    path = [str(part) for part in finding["Location"]["Path"]]
    for rule, (section, prefix), reason in EXPLAINED:
        if finding["Rule"]["Id"] == rule and path[:1] == [section] and path[1].startswith(prefix):
            return reason
    return None


def unexplained(findings: list[dict[str, Any]]) -> list[str]:
    return [
        f"{f['Rule']['Id']} {'/'.join(map(str, f['Location']['Path']))}: {f['Message']}"
        for f in findings
        if explanation(f) is None
    ]


@pytest.fixture(scope="module")
def default_findings(package_dir: Path) -> list[dict[str, Any]]:
    return lint(package_dir / "cloudformation-template-update-stack.json")


def test_the_packaged_template_has_no_unexplained_finding(
    default_findings: list[dict[str, Any]],
) -> None:
    assert unexplained(default_findings) == []


@pytest.mark.parametrize("params", OTHER_PARAMETERS.values(), ids=OTHER_PARAMETERS.keys())
def test_the_template_with_other_parameters_has_no_unexplained_finding(
    params: dict[str, str],
    template_with: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    template = tmp_path / "cloudformation-template-update-stack.json"
    template.write_text(json.dumps(template_with(**params), indent=2))

    assert unexplained(lint(template)) == []


def test_every_explained_finding_still_occurs(default_findings: list[dict[str, Any]]) -> None:
    # An explanation whose finding is gone would hide the next real one under that rule.
    seen = {f["Rule"]["Id"] for f in default_findings if explanation(f) is not None}

    assert seen == {rule for rule, _, _ in EXPLAINED}
