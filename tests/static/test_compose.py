"""The Docker Compose files keep their promises (docs/docker.md).

``docker-compose.yml`` (Odoo 18 + PostgreSQL 16, the repository mounted as
the addons, the demo database created on the first start) and
``docker-compose.multinode.yml`` (two Odoo nodes behind HAProxy with the
websocket routed to the gevent port, a PostgreSQL primary and a streaming
replica used through ``--db_replica_host``, crons on every node).

No image can be pulled on the build machines: the files are checked with a
real Compose implementation's ``config`` (it validates the file against the
Compose specification and resolves it, without a Docker daemon), parsed here
for the structural promises, and the HAProxy configuration with
``haproxy -c``. The scripts the containers run are checked with ``bash -n``
and ShellCheck; tests/e2e/test_docker_scripts.py runs them for real.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

# /usr/sbin holds haproxy and runuser; a CI's PATH may not
SBIN_PATH = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
HAPROXY = shutil.which("haproxy", path=SBIN_PATH)

SINGLE = REPO_ROOT / "docker-compose.yml"
MULTI = REPO_ROOT / "docker-compose.multinode.yml"
DOCKER_DIR = REPO_ROOT / "setup" / "docker"
HAPROXY_CFG = DOCKER_DIR / "haproxy.cfg"
ADDONS_MOUNT = "/mnt/extra-addons"
FIRST_START = f"{ADDONS_MOUNT}/setup/docker/first_start.sh"
SHELL_SCRIPTS = [
    *sorted(DOCKER_DIR.glob("*.sh")),
    REPO_ROOT / "setup" / "run",
    REPO_ROOT / "setup" / "test",
    REPO_ROOT / "setup" / "_common.sh",
]


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose_command():
    """Compose v2 (docker compose) or v1 (docker-compose), whichever runs."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        probe = subprocess.run(
            [*command, "version"], capture_output=True, text=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return command
    pytest.skip(
        "no Docker Compose implementation here: neither 'docker compose' (Docker's "
        "compose plugin) nor 'docker-compose' runs; on Debian: apt-get install docker-compose"
    )


@pytest.mark.parametrize("path", [SINGLE, MULTI], ids=lambda p: p.name)
def test_compose_config_accepts_the_file(path):
    command = compose_command()
    result = subprocess.run(
        [*command, "-f", str(path), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == set(load(path)["services"])
    # relative bind mounts resolved against the repository
    for service in resolved["services"].values():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith("/"):
                assert Path(source).exists(), f"bind mount {source} does not exist"


def volume_mounts(service):
    """{target: (source, read_only)} of a service's short-syntax volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        mounts[parts[1]] = (parts[0], len(parts) > 2 and "ro" in parts[2].split(","))
    return mounts


def check_bind_sources(compose, path):
    for name, service in compose["services"].items():
        for target, (source, _ro) in volume_mounts(service).items():
            if source.startswith("."):
                assert (path.parent / source).exists(), f"{name}: {source} -> {target} missing"
            else:
                assert source in compose.get("volumes", {}), f"{name}: volume {source} undeclared"


def check_addons_and_first_start(name, service):
    mounts = volume_mounts(service)
    assert mounts.get(ADDONS_MOUNT) == (".", True), f"{name}: the repository is not mounted ro"
    assert mounts["/var/lib/odoo"][0] in ("odoo-data",), f"{name}: no filestore volume"
    assert service["image"] == "odoo:18.0"
    entrypoint = service["entrypoint"]
    assert entrypoint[:2] == ["bash", FIRST_START], f"{name}: not started by first_start.sh"
    everything = " ".join([*entrypoint, *service.get("command", [])])
    assert "--without-demo" not in everything, f"{name}: the demo needs demo data"
    assert (REPO_ROOT / FIRST_START.removeprefix(f"{ADDONS_MOUNT}/")).is_file()


def test_single_node_file():
    compose = load(SINGLE)
    services = compose["services"]
    assert set(services) == {"db", "odoo"}
    db, odoo = services["db"], services["odoo"]
    assert db["image"] == "postgres:16"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert volume_mounts(db)["/var/lib/postgresql/data"][0] in compose["volumes"]
    check_addons_and_first_start("odoo", odoo)
    assert odoo["depends_on"]["db"]["condition"] == "service_healthy"
    assert {"8069:8069", "8072:8072"} <= set(odoo["ports"])
    assert odoo["environment"]["HOST"] == "db"
    assert odoo["environment"]["OMNICHANNEL_DB"]
    # a long job on one cron thread must not hold the event inbox back
    assert int(odoo_options(odoo)["--max-cron-threads"]) >= 2
    check_bind_sources(compose, SINGLE)


def odoo_options(service):
    options = {}
    for arg in service["command"]:
        key, _sep, value = arg.partition("=")
        options[key] = value
    return options


def test_multinode_file():
    compose = load(MULTI)
    services = compose["services"]
    assert {"db", "db-replica", "init", "odoo1", "odoo2", "haproxy"} <= set(services)
    check_bind_sources(compose, MULTI)

    primary = services["db"]
    settings = " ".join(primary["command"])
    assert "wal_level=replica" in settings
    assert re.search(r"max_wal_senders=[1-9]", settings)
    assert volume_mounts(primary)["/docker-entrypoint-initdb.d/10-replication.sh"] == (
        "./setup/docker/primary_init.sh",
        True,
    )

    replica = services["db-replica"]
    assert replica["image"] == primary["image"] == "postgres:16"
    script = replica["entrypoint"][1]
    assert volume_mounts(replica)[script][0] == "./setup/docker/replica_start.sh"
    assert replica["command"][:2] == ["docker-entrypoint.sh", "postgres"]
    assert replica["environment"]["PRIMARY_HOST"] == "db"
    assert "pg_is_in_recovery()" in " ".join(replica["healthcheck"]["test"])
    replica_data = volume_mounts(replica)["/var/lib/postgresql/data"][0]
    assert replica_data != volume_mounts(primary)["/var/lib/postgresql/data"][0]

    init = services["init"]
    check_addons_and_first_start("init", init)
    assert init["entrypoint"][2] == "--init-only"

    filestores = set()
    for name in ("odoo1", "odoo2"):
        node = services[name]
        check_addons_and_first_start(name, node)
        options = odoo_options(node)
        assert options["--db_replica_host"] == "db-replica", name
        assert options["--db_replica_port"] == "5432", name
        assert int(options["--workers"]) > 0, name
        # two: a long job on one thread does not hold the event inbox's
        # applier back (tests/bench/bench_cron_threads.py, docs/deploy.md)
        assert int(options["--max-cron-threads"]) >= 2, f"{name}: crons run on every node"
        assert options["--gevent-port"] == "8072", name
        assert "--proxy-mode" in options, name
        assert node["environment"]["HOST"] == "db"
        assert node["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert node["depends_on"]["db-replica"]["condition"] == "service_healthy"
        assert "odoo-nodes" in node["networks"]["default"]["aliases"]
        assert "ports" not in node, f"{name}: reached through haproxy only"
        filestores.add(volume_mounts(node)["/var/lib/odoo"][0])
    assert len(filestores) == 1, "the nodes share one filestore"

    haproxy = services["haproxy"]
    assert haproxy["image"].startswith("haproxy:")
    assert volume_mounts(haproxy)["/usr/local/etc/haproxy/haproxy.cfg"] == (
        "./setup/docker/haproxy.cfg",
        True,
    )
    assert "8069:8069" in haproxy["ports"]


def haproxy_sections(text):
    sections, current = {}, None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw[0].isspace():
            current = line.strip()
            sections[current] = []
        else:
            sections[current].append(line.strip())
    return sections


def test_haproxy_routes_the_websocket_to_the_gevent_port():
    sections = haproxy_sections(HAPROXY_CFG.read_text(encoding="utf-8"))
    frontend = sections["frontend odoo"]
    assert "bind :8069" in frontend
    websocket_acl = re.compile(r"acl \S+ path(_beg)? /websocket")
    acls = {line.split()[1] for line in frontend if websocket_acl.match(line)}
    assert acls, "no acl on /websocket"
    routes = [line.split() for line in frontend if line.startswith("use_backend")]
    websocket_backends = {r[1] for r in routes if r[2] == "if" and r[3] in acls}
    assert len(websocket_backends) == 1
    default = next(line.split()[1] for line in frontend if line.startswith("default_backend"))

    def servers(backend):
        return [
            line.split()[-1] for line in sections[f"backend {backend}"] if line.startswith("server")
        ]

    node_alias = "odoo-nodes"
    assert servers(websocket_backends.pop()) == [f"{node_alias}:8072"]
    assert servers(default) == [f"{node_alias}:8069"]
    assert "option httpchk GET /web/health" in sections[f"backend {default}"]
    assert "option forwardfor" in frontend  # Odoo runs with --proxy-mode


@pytest.mark.skipif(not HAPROXY, reason="haproxy is not installed")
def test_haproxy_accepts_the_configuration():
    result = subprocess.run(
        [HAPROXY, "-c", "-f", str(HAPROXY_CFG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script):
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed")
@pytest.mark.parametrize("script", sorted(DOCKER_DIR.glob("*.sh")), ids=lambda p: p.name)
def test_docker_scripts_pass_shellcheck(script):
    result = subprocess.run(
        ["shellcheck", str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout
