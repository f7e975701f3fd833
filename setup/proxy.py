"""A small reverse proxy in front of a multi-worker Odoo, and its supervisor.

Odoo with ``--workers`` serves HTTP with prefork workers and websockets with a
separate gevent process on ``--gevent-port``; its deployment documentation
puts a proxy in front that sends ``/websocket`` to the gevent port and the
rest to the HTTP port. setup/run starts this one (Python standard library
only) so the demo needs no nginx::

    python3 setup/proxy.py --listen 127.0.0.1:8069 --http 127.0.0.1:41001 \\
        --websocket 127.0.0.1:41002 -- odoo --workers=2 --http-port=41001 ...

It binds the public port first, then runs the command after ``--`` (Odoo) and
lives as long as it does: when Odoo exits the proxy exits with its code, and
when the proxy is stopped (Ctrl+C, SIGTERM) Odoo is stopped too.

Each HTTP request is forwarded on its own connection to Odoo
(``Connection: close`` both ways, with ``X-Forwarded-For``, ``-Host`` and
``-Proto`` for Odoo's ``--proxy-mode``); a websocket upgrade is forwarded and
then piped raw in both directions until one side closes.
"""

import argparse
import asyncio
import contextlib
import ctypes
import signal
import sys

HEAD_LIMIT = 64 * 1024  # bytes of request or response head
HEAD_TIMEOUT = 60  # seconds to receive a request head (idle keep-alive sockets)
CONNECT_TIMEOUT = 10
STOP_GRACE = 2  # seconds Odoo gets to stop on a signal it received itself
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
}
FORWARDED = {"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded"}


def log(message):
    print(f"[omnichannel proxy] {message}", file=sys.stderr, flush=True)


def address(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_head(head):
    """(first line, [(name, value)]) of an HTTP head ending with an empty line."""
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise ValueError(f"malformed header line {line!r}")
        headers.append((name, value.strip()))
    return lines[0], headers


def build_head(first_line, headers):
    lines = [first_line, *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def header(headers, name):
    return next((value for key, value in headers if key.lower() == name), None)


def tokens(value):
    return {token.strip().lower() for token in (value or "").split(",")}


def is_websocket_path(target):
    path = target.split("?", 1)[0]
    return path == "/websocket" or path.startswith("/websocket/")


def request_head(first_line, headers, client_ip, upgrade):
    """The head sent to Odoo: hop-by-hop headers of a plain request replaced by
    ``Connection: close``; the client's own X-Forwarded-* dropped for ours."""
    listed = tokens(header(headers, "connection"))
    kept = []
    for name, value in headers:
        key = name.lower()
        if key in FORWARDED:
            continue
        if not upgrade and (key in HOP_BY_HOP or key in listed):
            continue
        kept.append((name, value))
    if not upgrade:
        kept.append(("Connection", "close"))
    host = header(headers, "host")
    if host:
        kept.append(("X-Forwarded-Host", host))
    kept.append(("X-Forwarded-Proto", "http"))
    kept.append(("X-Forwarded-For", client_ip))
    return build_head(first_line, kept)


def response_head(first_line, headers):
    """A plain response announces ``Connection: close``: its connection ends with it."""
    listed = tokens(header(headers, "connection"))
    kept = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP and n.lower() not in listed]
    kept.append(("Connection", "close"))
    return build_head(first_line, kept)


def status_of(first_line):
    parts = first_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"malformed status line {first_line!r}")
    return int(parts[1])


def error_response(status, reason, text):
    body = f"{status} {reason}: {text}\n".encode()
    return (
        build_head(
            f"HTTP/1.1 {status} {reason}",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        + body
    )


async def pipe(reader, writer):
    """Copy until end of stream, then half-close the other side."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def close(writer):
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


class Proxy:
    def __init__(self, http, websocket):
        self.http = http
        self.websocket = websocket
        self.connections = set()
        self.down = set()  # backends that refused the last connection

    async def handle(self, client_reader, client_writer):
        task = asyncio.current_task()
        self.connections.add(task)
        try:
            await self.forward(client_reader, client_writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.connections.discard(task)
            await close(client_writer)

    async def forward(self, client_reader, client_writer):
        try:
            head = await asyncio.wait_for(client_reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            first_line, headers = parse_head(head)
            method, target, _version = first_line.split(" ")
        except (asyncio.IncompleteReadError, asyncio.TimeoutError):
            return
        except (asyncio.LimitOverrunError, ValueError):
            client_writer.write(error_response(400, "Bad Request", "malformed request head"))
            await client_writer.drain()
            return
        connection = tokens(header(headers, "connection"))
        upgrade = "upgrade" in connection and bool(header(headers, "upgrade"))
        backend = self.websocket if is_websocket_path(target) else self.http
        try:
            backend_reader, backend_writer = await asyncio.wait_for(
                asyncio.open_connection(*backend, limit=HEAD_LIMIT), CONNECT_TIMEOUT
            )
        except (OSError, asyncio.TimeoutError) as error:
            if backend not in self.down:  # once until it answers again (e.g. starting)
                host, port = backend
                log(f"{method} {target}: Odoo does not answer on {host}:{port} ({error})")
            self.down.add(backend)
            client_writer.write(error_response(502, "Bad Gateway", "Odoo is not answering (yet)"))
            await client_writer.drain()
            return
        self.down.discard(backend)
        peer = client_writer.get_extra_info("peername") or ("unknown",)
        backend_writer.write(request_head(first_line, headers, peer[0], upgrade))
        # The request body (after an upgrade: the client's frames) goes raw.
        upstream = asyncio.create_task(pipe(client_reader, backend_writer))
        try:
            while True:
                head = await backend_reader.readuntil(b"\r\n\r\n")
                status_line, response_headers = parse_head(head)
                status = status_of(status_line)
                if 100 <= status < 200:
                    # 101: the websocket is open, the rest is a raw pipe;
                    # 100 Continue and the like: the final head follows.
                    client_writer.write(head)
                    if status == 101:
                        break
                    continue
                client_writer.write(response_head(status_line, response_headers))
                break
            await pipe(backend_reader, client_writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            upstream.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upstream
            await close(backend_writer)


def die_with_parent():
    """In the child (Linux): get SIGTERM if the proxy dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def supervise(args):
    loop = asyncio.get_running_loop()
    proxy = Proxy(args.http, args.websocket)
    try:
        server = await asyncio.start_server(
            proxy.handle, *args.listen, limit=HEAD_LIMIT, reuse_address=True
        )
    except OSError as error:
        log(f"cannot listen on {args.listen[0]}:{args.listen[1]}: {error}")
        return 2
    log(
        f"http://{args.listen[0]}:{args.listen[1]}: /websocket to "
        f"{args.websocket[0]}:{args.websocket[1]}, the rest to {args.http[0]}:{args.http[1]}"
    )
    stopping = asyncio.Event()
    odoo = None

    def on_signal():
        if stopping.is_set() and odoo is not None and odoo.returncode is None:
            # a second signal: Odoo stops at once on its second one
            with contextlib.suppress(ProcessLookupError):
                odoo.send_signal(signal.SIGTERM)
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal)
    try:
        odoo = await asyncio.create_subprocess_exec(*args.command, preexec_fn=die_with_parent)
    except OSError as error:
        server.close()
        log(f"cannot start {args.command[0]}: {error}")
        return 127
    exited = asyncio.create_task(odoo.wait())
    stop_requested = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({exited, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.close()
        if not exited.done():
            # Ctrl+C reaches Odoo as well (same process group); a signal sent
            # to the proxy alone is passed on.
            done, _pending = await asyncio.wait({exited}, timeout=STOP_GRACE)
            if not done:
                with contextlib.suppress(ProcessLookupError):
                    odoo.send_signal(signal.SIGTERM)
            await exited
        stop_requested.cancel()
        for task in list(proxy.connections):
            task.cancel()
        await asyncio.gather(*proxy.connections, return_exceptions=True)
    returncode = odoo.returncode
    if not stopping.is_set():
        log(f"Odoo exited with code {returncode}: stopping")
    return returncode if returncode >= 0 else 128 - returncode


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=address, required=True, help="public HOST:PORT")
    parser.add_argument("--http", type=address, required=True, help="Odoo's HTTP HOST:PORT")
    parser.add_argument("--websocket", type=address, required=True, help="Odoo's gevent HOST:PORT")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command starting Odoo")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("the command starting Odoo is missing (after --)")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        sys.exit(asyncio.run(supervise(args)))
    except KeyboardInterrupt:  # a signal before the handlers were set
        sys.exit(130)


if __name__ == "__main__":
    main()
