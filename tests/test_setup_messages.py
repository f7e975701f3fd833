"""setup/run and setup/test without Odoo: they stop and say how to get it.

The message (``_odoo_install_help`` in setup/_common.sh) names the three ways
of installing Odoo 18.0 with their commands: pip from Odoo's nightly source
archive, Odoo's nightly Debian package, and the repository's Docker Compose
file. The Python without Odoo is a fresh virtual environment of this Python
(no site packages, so no ``odoo``), the way a user's own venv would be.
"""

import os
import subprocess
import sys
import venv

import pytest

from tests.conftest import REPO_ROOT

SDIST_URL = "https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz"
DEB_URL = "https://nightly.odoo.com/18.0/nightly/deb/odoo_18.0.latest_all.deb"
TIMEOUT = 120


@pytest.fixture(scope="module")
def python_without_odoo(tmp_path_factory):
    env_dir = tmp_path_factory.mktemp("venv_no_odoo")
    venv.EnvBuilder(with_pip=False, system_site_packages=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python3"
    probe = subprocess.run(
        [str(python), "-c", "import odoo"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert probe.returncode != 0, f"{python} imports odoo: the test needs a Python without it"
    return python


def run_script(script, args, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ODOO_PYTHON", "SKIP_PIP")}
    env.update(env_extra)
    return subprocess.run(
        [str(REPO_ROOT / "setup" / script), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def assert_three_ways(stderr, script):
    # 1. pip from the nightly sdist
    assert f"pip install {SDIST_URL}" in stderr
    assert "requirements.txt" in stderr
    # 2. the nightly Debian package, and where setup/run then finds Odoo
    assert f"wget {DEB_URL}" in stderr
    assert "apt install ./odoo_18.0.latest_all.deb" in stderr
    assert "/usr/lib/python3/dist-packages/odoo" in stderr
    # 3. Docker, with the file that is shipped
    assert "docker compose up" in stderr
    assert "docs/docker.md" in stderr
    assert f"setup/{script} again" in stderr


@pytest.mark.parametrize(
    ("script", "args"),
    [("run", ["--port", "18599"]), ("test", ["--fast"])],
)
def test_no_odoo_names_the_three_ways(python_without_odoo, script, args):
    result = run_script(script, args, {"ODOO_PYTHON": str(python_without_odoo)})
    assert result.returncode != 0, result.stdout + result.stderr
    assert "cannot import odoo" in result.stderr
    assert "No module named 'odoo'" in result.stderr
    assert_three_ways(result.stderr, script)
    # nothing was started: the message comes before any database or server
    assert "installing" not in result.stderr
    assert "pytest" not in result.stdout


def test_missing_interpreter_names_the_three_ways():
    result = run_script("run", [], {"ODOO_PYTHON": "/nonexistent/bin/python3"})
    assert result.returncode != 0
    assert "'/nonexistent/bin/python3' not found" in result.stderr
    assert_three_ways(result.stderr, "run")


def test_shipped_files_the_message_points_to_exist():
    assert (REPO_ROOT / "docker-compose.yml").is_file()
    assert (REPO_ROOT / "docs" / "docker.md").is_file()


def pick_python(env_extra, path_dir):
    """PY as setup/_common.sh's _pick_python chooses it, with python3 on PATH
    being the one of ``path_dir``."""
    env = {k: v for k, v in os.environ.items() if k != "ODOO_PYTHON"}
    env.update(env_extra)
    env["PATH"] = f"{path_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", 'source setup/_common.sh && _pick_python && echo "PY=$PY"'],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )


def test_debian_package_layout_is_found(python_without_odoo, tmp_path):
    """Odoo's .deb puts odoo in /usr/lib/python3/dist-packages, seen only by
    /usr/bin/python3: with a python3 on PATH that lacks Odoo, that one is used."""
    odoo_python = os.environ.get("ODOO_PYTHON") or sys.executable
    has_odoo = subprocess.run(
        [odoo_python, "-c", "import odoo.release as r; assert r.version_info[0] == 18"],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if has_odoo.returncode:
        pytest.skip(f"{odoo_python} has no Odoo 18 to stand for the Debian package's Python")
    path_dir = tmp_path / "bin"
    path_dir.mkdir()
    # a wrapper, not a symlink: a symlinked venv python outside its venv is
    # the base Python again
    wrapper = path_dir / "python3"
    wrapper.write_text(f'#!/bin/sh\nexec "{python_without_odoo}" "$@"\n')
    wrapper.chmod(0o755)
    deb_dir = tmp_path / "dist-packages" / "odoo"
    deb_dir.mkdir(parents=True)

    found = pick_python({"DEB_ODOO_DIR": str(deb_dir), "DEB_ODOO_PYTHON": odoo_python}, path_dir)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip().splitlines()[-1] == f"PY={odoo_python}"

    # no Debian package installed: the venv's python3 is kept, and refused
    missing = pick_python(
        {"DEB_ODOO_DIR": str(tmp_path / "absent"), "DEB_ODOO_PYTHON": odoo_python}, path_dir
    )
    assert missing.returncode != 0
    assert "'python3' cannot import odoo" in missing.stderr
    assert f"wget {DEB_URL}" in missing.stderr
