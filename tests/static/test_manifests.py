"""Every addon has a manifest in the style of STYLE.md, pointing at real files."""

import ast
import re

import pytest

from tests.conftest import ADDONS, CORE, REPO_ROOT

REQUIRED_KEYS = (
    "name",
    "summary",
    "version",
    "category",
    "website",
    "author",
    "license",
    "depends",
    "data",
    "installable",
)
VERSION_RE = re.compile(r"^18\.0\.\d+\.\d+\.\d+$")


def read_manifest(addon):
    path = REPO_ROOT / addon / "__manifest__.py"
    assert path.is_file(), f"{addon}: no __manifest__.py"
    manifest = ast.literal_eval(path.read_text(encoding="utf-8"))
    assert isinstance(manifest, dict), f"{addon}: the manifest is not a dict"
    return manifest


@pytest.mark.parametrize("addon", ADDONS)
def test_manifest_keys(addon):
    manifest = read_manifest(addon)
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    assert not missing, f"{addon}: manifest lacks {missing}"
    assert "description" not in manifest, f"{addon}: use readme/DESCRIPTION.md, not 'description'"
    assert VERSION_RE.match(manifest["version"]), (
        f"{addon}: version {manifest['version']!r} is not 18.0.x.y.z"
    )
    assert manifest["license"] == "LGPL-3", f"{addon}: license {manifest['license']!r}"
    assert manifest["installable"] is True, f"{addon}: not installable"
    for key in ("name", "summary", "category", "website", "author"):
        assert isinstance(manifest[key], str) and manifest[key].strip(), f"{addon}: empty {key}"
    assert isinstance(manifest["depends"], list) and manifest["depends"], f"{addon}: no depends"
    if addon != CORE:
        assert CORE in manifest["depends"], f"{addon}: must depend on {CORE}"


@pytest.mark.parametrize("addon", ADDONS)
def test_manifest_files_exist(addon):
    manifest = read_manifest(addon)
    for key in ("data", "demo"):
        files = manifest.get(key, [])
        assert isinstance(files, list), f"{addon}: {key} is not a list"
        assert len(files) == len(set(files)), f"{addon}: {key} lists a file twice"
        missing = [name for name in files if not (REPO_ROOT / addon / name).is_file()]
        assert not missing, f"{addon}: {key} files missing: {missing}"


@pytest.mark.parametrize("addon", ADDONS)
def test_addon_packaging_files(addon):
    assert (REPO_ROOT / addon / "__init__.py").is_file(), f"{addon}: no __init__.py"
    pyproject = REPO_ROOT / addon / "pyproject.toml"
    assert pyproject.is_file(), f"{addon}: no pyproject.toml"
    assert "whool.buildapi" in pyproject.read_text(encoding="utf-8")
