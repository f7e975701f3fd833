"""WireMock standing in for a provider's REST API in the end-to-end tests.

WireMock (a Java program) is started as a child process on a free loopback
port. Its standalone jar is taken from the npm registry (the ``wiremock``
package ships it) or Maven Central, cached outside the repository in
``~/.cache/omnichannel-tests/`` (or ``$OMNICHANNEL_TEST_CACHE``), and
fetched when missing. Tests stub answers and read the requests it received
through its admin API (:class:`WireMock`).
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

WIREMOCK_VERSION = os.environ.get("OMNICHANNEL_WIREMOCK_VERSION", "3.13.2")
CACHE = Path(
    os.environ.get("OMNICHANNEL_TEST_CACHE") or Path.home() / ".cache" / "omnichannel-tests"
)
MAVEN_URL = (
    "https://repo1.maven.org/maven2/org/wiremock/wiremock-standalone/"
    "{v}/wiremock-standalone-{v}.jar"
)


def _cached_jar():
    jars = sorted(CACHE.glob(f"**/wiremock-standalone-{WIREMOCK_VERSION}.jar"))
    return jars[0] if jars else None


# the system's CA bundles (Debian / Ubuntu, Fedora): Node.js trusts only its
# own built-in list unless told, and a registry reached through a proxy with
# its own CA (as on the CI machines) fails with SELF_SIGNED_CERT_IN_CHAIN
SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def _npm_env():
    """npm's environment: the system's CA bundle added to Node's (when the
    caller's environment names none, as CI's empty one)."""
    env = dict(os.environ)
    if not env.get("NODE_EXTRA_CA_CERTS"):
        bundle = next((path for path in SYSTEM_CA_BUNDLES if os.path.exists(path)), None)
        if bundle:
            env["NODE_EXTRA_CA_CERTS"] = bundle
    return env


def ensure_wiremock_jar():
    """The standalone jar, fetched into the cache when missing (npm, then Maven Central)."""
    jar = _cached_jar()
    if jar:
        return jar
    CACHE.mkdir(parents=True, exist_ok=True)
    problems = []
    npm = shutil.which("npm")
    if npm:
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(CACHE / "npm"),
                f"wiremock@{WIREMOCK_VERSION}",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env=_npm_env(),
        )
        if result.returncode:
            problems.append(f"npm install wiremock: {(result.stdout + result.stderr)[-400:]}")
    else:
        problems.append("npm is not installed")
    jar = _cached_jar()
    if jar:
        return jar
    target = CACHE / "maven" / f"wiremock-standalone-{WIREMOCK_VERSION}.jar"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(MAVEN_URL.format(v=WIREMOCK_VERSION), timeout=120) as answer:
            partial = target.with_suffix(".part")
            partial.write_bytes(answer.read())
            partial.rename(target)
        return target
    except (urllib.error.URLError, OSError) as error:
        problems.append(f"Maven Central: {error}")
    pytest.fail(
        "The e2e tests need WireMock's standalone jar "
        f"(wiremock-standalone-{WIREMOCK_VERSION}.jar) under {CACHE}: " + "; ".join(problems),
        pytrace=False,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method, url, payload=None, headers=None, raw=None, timeout=30):
    """(status, headers, body bytes) of one HTTP request; never raises on 4xx/5xx.

    ``payload`` is sent as JSON, ``raw`` as given (bytes)."""
    data = (
        raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    )
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if payload is not None and raw is None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class WireMock:
    """The admin API of one running WireMock."""

    def __init__(self, url):
        self.url = url

    def stub(self, mapping):
        status, _headers, body = http("POST", f"{self.url}/__admin/mappings", mapping)
        assert status == 201, body

    def find(self, method, url=None, url_path=None):
        """Requests received with this method and exact URL (path and
        query), or this path whatever the query."""
        pattern = {"method": method}
        if url is not None:
            pattern["url"] = url
        if url_path is not None:
            pattern["urlPath"] = url_path
        status, _headers, body = http("POST", f"{self.url}/__admin/requests/find", pattern)
        assert status == 200, body
        return json.loads(body)["requests"]

    def all_requests(self):
        status, _headers, body = http("GET", f"{self.url}/__admin/requests")
        assert status == 200, body
        return json.loads(body)["requests"]

    def wait_for(self, method, url_path, count=1, timeout=30):
        """The requests to ``url_path`` once there are at least ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(method, url_path=url_path)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"WireMock received {len(found)} {method} {url_path} in {timeout} s, "
                    f"expected {count}; all requests: "
                    + json.dumps([r.get("url") for r in self.all_requests()])
                )
            time.sleep(0.2)


@contextlib.contextmanager
def running(root, what="The e2e test"):
    """A WireMock on a free port, its files and log under ``root``; stopped on exit."""
    java = shutil.which("java")
    if not java:
        pytest.fail(f"{what} needs Java 11+ (`java`) to run WireMock.", pytrace=False)
    jar = ensure_wiremock_jar()
    root = Path(root)
    port = free_port()
    log = (root / "wiremock.log").open("w")
    process = subprocess.Popen(
        [
            java,
            "-jar",
            str(jar),
            "--port",
            str(port),
            "--bind-address",
            "127.0.0.1",
            "--root-dir",
            str(root),
            "--disable-banner",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"WireMock exited with {process.returncode}: "
                    f"{(root / 'wiremock.log').read_text()[-1000:]}",
                    pytrace=False,
                )
            try:
                if http("GET", f"{url}/__admin/mappings", timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("WireMock did not start in 90 s", pytrace=False)
            time.sleep(0.5)
        yield WireMock(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
