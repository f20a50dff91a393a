"""The deployment zip: our code, the pinned dependencies, and native code for Lambda's
arm64 python3.12 runtime, whatever machine packaged it."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

ELF_MAGIC = b"\x7fELF"
EM_X86_64 = 62
EM_AARCH64 = 183
CPYTHON_312_AARCH64 = re.compile(r"\.(cpython-312-aarch64-linux-gnu|abi3)\.so$")
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

NOT_DEPLOYED = ("tests/", "emulator/", "bench/", "docs/", "node_modules/", ".venv/", ".serverless")


def e_machine(elf_header: bytes) -> int:
    """The ELF header's target machine (little-endian, as on both x86-64 and aarch64)."""
    assert elf_header[:4] == ELF_MAGIC, "not an ELF file"
    return int.from_bytes(elf_header[18:20], "little")


@pytest.fixture(scope="module")
def names(package_zip: zipfile.ZipFile) -> list[str]:
    return package_zip.namelist()


@pytest.fixture(scope="module")
def shared_objects(names: list[str]) -> list[str]:
    """Every native library: extension modules and any library a wheel vendors (`x.so.1`)."""
    found = [name for name in names if re.search(r"\.so(\.\d+)*$", name)]
    assert found, "the zip holds no native code at all"
    return found


@pytest.fixture(scope="module")
def extension_modules(shared_objects: list[str]) -> list[str]:
    """The native modules Python imports (vendored libraries live in `<dist>.libs/`)."""
    return [name for name in shared_objects if name.endswith(".so") and ".libs/" not in name]


def pinned_requirements() -> dict[str, str]:
    """requirements.txt's `name==version` lines, by normalised distribution name."""
    pins: dict[str, str] = {}
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[re.sub(r"[-_.]+", "_", name).lower()] = version
    return pins


def test_zip_holds_the_product_code(names: list[str]) -> None:
    for module in (
        "bot/__init__.py",
        "bot/settings.py",
        "handlers/aws_lambda.py",
        "handlers/purge.py",
    ):
        assert module in names


def test_zip_holds_no_tests_emulators_or_tooling(names: list[str]) -> None:
    assert not [name for name in names if name.startswith(NOT_DEPLOYED)]
    for tooling in ("serverless.yml", "package.json", "Makefile", "README.md", "pyproject.toml"):
        assert tooling not in names


def test_zip_holds_no_type_stubs(names: list[str]) -> None:
    # The boto3 stubs are a development dependency: the code imports them for mypy only.
    stubs = ("types_boto3", "mypy_boto3", "botocore_stubs", "boto3_stubs", "types_s3transfer")
    assert not [name for name in names if name.startswith(stubs)]


def test_zip_holds_no_bytecode_compiled_on_the_packaging_machine(names: list[str]) -> None:
    assert not [name for name in names if name.endswith(".pyc") or "__pycache__/" in name]


def test_zip_holds_every_pinned_dependency_at_its_pinned_version(names: list[str]) -> None:
    shipped = {
        re.sub(r"[-_.]+", "_", match[1]).lower(): match[2]
        for name in names
        if (match := re.match(r"([^/]+)-([^-/]+)\.dist-info/METADATA$", name))
    }
    for name, version in pinned_requirements().items():
        assert shipped.get(name) == version, name


def test_pydantic_core_is_built_for_lambda(names: list[str]) -> None:
    assert "pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so" in names


def test_all_native_code_is_aarch64(
    package_zip: zipfile.ZipFile, shared_objects: list[str]
) -> None:
    for name in shared_objects:
        with package_zip.open(name) as module:
            assert e_machine(module.read(64)) == EM_AARCH64, name


def test_no_native_code_is_x86_64(package_zip: zipfile.ZipFile, shared_objects: list[str]) -> None:
    for name in shared_objects:
        with package_zip.open(name) as module:
            assert e_machine(module.read(64)) != EM_X86_64, name


def test_every_extension_module_is_built_for_cpython_312(extension_modules: list[str]) -> None:
    for name in extension_modules:
        assert CPYTHON_312_AARCH64.search(name), name


def test_zip_fits_lambdas_unzipped_size_limit(package_zip: zipfile.ZipFile) -> None:
    unzipped = sum(info.file_size for info in package_zip.infolist())

    assert unzipped < LAMBDA_UNZIPPED_LIMIT_BYTES
