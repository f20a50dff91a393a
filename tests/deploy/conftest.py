"""The Serverless Framework run as an operator runs it: `serverless package`, `serverless offline`.

The Node packages come from `npm ci` (package-lock.json); nothing here installs them.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.environment import PROJECT_ROOT, SERVERLESS, STAGE, serverless_environment

PACKAGE_TIMEOUT_SECONDS = 540  # pip downloads every wheel on a cold cache

# Whichever test first uses `package_dir` pays for packaging inside its own time limit.
TEST_TIMEOUT_SECONDS = PACKAGE_TIMEOUT_SECONDS + 60


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy: runs the Serverless Framework from node_modules (`npm ci` first)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.deploy)
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_SECONDS))


@pytest.fixture(scope="session")
def serverless() -> Path:
    """The project's own `serverless` (v3) executable."""
    if not SERVERLESS.exists():
        pytest.fail(
            f"{SERVERLESS.relative_to(PROJECT_ROOT)} is missing: run `npm ci` in {PROJECT_ROOT} "
            "first (package-lock.json pins serverless@3 and its plugins)",
            pytrace=False,
        )
    return SERVERLESS


def package(serverless: Path, target: Path, params: dict[str, str]) -> Path:
    """Run `serverless package --stage test` into `target`, with `--param` for each of `params`."""
    command = [str(serverless), "package", "--stage", STAGE, "--package", str(target)]
    command += [f"--param={name}={value}" for name, value in sorted(params.items())]
    try:
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=serverless_environment(),
            capture_output=True,
            text=True,
            timeout=PACKAGE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command)} took over {exc.timeout} s:\n{exc.output}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return target


def read_template(package_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (package_dir / "cloudformation-template-update-stack.json").read_text()
    )
    return document


@pytest.fixture(scope="session")
def package_dir(serverless: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `serverless package --stage test` writes, with no parameters given."""
    return package(serverless, tmp_path_factory.mktemp("serverless-package"), {})


@pytest.fixture(scope="session")
def template(package_dir: Path) -> dict[str, Any]:
    """The CloudFormation template `serverless deploy` would apply."""
    return read_template(package_dir)


@pytest.fixture(scope="session")
def template_with(
    serverless: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., dict[str, Any]]:
    """The template packaged with some `--param` values; each set is packaged once."""
    packaged: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}

    def packaged_with(**params: str) -> dict[str, Any]:
        key = tuple(sorted(params.items()))
        if key not in packaged:
            target = tmp_path_factory.mktemp("serverless-package-with-params")
            packaged[key] = read_template(package(serverless, target, params))
        return packaged[key]

    return packaged_with


@pytest.fixture(scope="session")
def package_zip(package_dir: Path) -> Iterator[zipfile.ZipFile]:
    """The deployment artifact both functions run from."""
    with zipfile.ZipFile(package_dir / "paybot.zip") as archive:
        yield archive
