"""omnichannel_cc/tools/bus_notify.py: the kept NOTIFY connection's logic,
tested without Odoo. The connections here are test doubles that record what
is sent; the real one (a PostgreSQL listener hearing the notifications, a
backend terminated, a fork) is the module test ``TestBusNotify``."""

import sys

import psycopg2
import pytest

from tests.unit._tools import load_tools

(bus_notify,) = load_tools("bus_notify")


class FakeConnection:
    """Records the statements sent; fails the next ``fail`` of them."""

    def __init__(self, log, fail=0):
        self.log, self.fail = log, fail
        self.closed = False
        self.autocommit = False

    def cursor(self):
        connection = self

        class Cursor:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def execute(self, query, params):
                if connection.fail:
                    connection.fail -= 1
                    raise psycopg2.OperationalError("server closed the connection unexpectedly")
                connection.log.append((connection, params))

        return Cursor()

    def close(self):
        self.closed = True


@pytest.fixture
def sent():
    return []


def notifier_for(sent, failures=(), stock=None):
    """A notifier whose n-th connection fails its first ``failures[n]`` statements."""
    made = []

    def connect():
        connection = FakeConnection(sent, failures[len(made)] if len(made) < len(failures) else 0)
        made.append(connection)
        return connection

    notifier = bus_notify.KeptNotifier(connect, stock or (lambda payloads: None))
    return notifier, made


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


def test_one_connection_for_every_send(sent):
    notifier, made = notifier_for(sent)
    assert notifier.send(["a", "b"]) == "kept"
    assert notifier.send(["c"]) == "kept"
    assert len(made) == 1
    assert made[0].autocommit, "NOTIFY is sent at once, not in a transaction left open"
    assert [params for _connection, params in sent] == [
        ["imbus", "a"],
        ["imbus", "b"],
        ["imbus", "c"],
    ]


def test_lost_connection_is_closed_and_made_again(sent):
    notifier, made = notifier_for(sent, failures=(0, 0))
    notifier.send(["a"])
    made[0].fail = 1  # PostgreSQL restarted since
    assert notifier.send(["b"]) == "kept"
    assert len(made) == 2
    assert made[0].closed
    assert sent[-1] == (made[1], ["imbus", "b"])


def test_second_failure_goes_the_stock_way(sent):
    stock = []
    notifier, made = notifier_for(sent, failures=(1, 1), stock=stock.append)
    assert notifier.send(["a"]) == "stock"
    assert stock == [["a"]]
    assert len(made) == 2 and all(connection.closed for connection in made)
    assert not sent


def test_after_a_fork_the_child_makes_its_own(sent):
    notifier, made = notifier_for(sent)
    notifier.send(["a"])
    notifier._pid = -1  # as seen from a child forked after the first send
    notifier.send(["b"])
    assert len(made) == 2
    assert not made[0].closed, "the parent's connection is not closed by the child"
    assert sent[-1] == (made[1], ["imbus", "b"])


def test_another_channel_on_the_same_connection(sent):
    """The cron workers' wake-up shares the bus's kept connection, with its
    own stock way when that fails."""
    notifier, made = notifier_for(sent)
    notifier.send(["a"])
    assert notifier.send(["db1"], channel="cron_trigger") == "kept"
    assert len(made) == 1
    assert sent[-1] == (made[0], ["cron_trigger", "db1"])
    stock, cron_stock = [], []
    notifier, made = notifier_for(sent, failures=(1, 1), stock=stock.append)
    assert notifier.send(["db1"], channel="cron_trigger", stock=cron_stock.append) == "stock"
    assert (stock, cron_stock) == ([], [["db1"]])
