"""SQL is built only with parameters (STYLE.md 9, issue 19).

The text handed to ``cr.execute(...)`` (or ``execute_values``/``mogrify``) and
to ``SQL(...)`` is a literal: values and sub-queries go in as parameters
(``SQL("... %s ...", value)``, ``SQL.identifier(name)``, ``SQL(", ").join(parts)``),
never pasted into the string. Flagged, as the first argument:

- an f-string with a ``{...}`` part (``f"... {table} ..."``);
- a ``%``-formatted string (``"... %s ..." % value``);
- a ``.format(...)`` call (``"... {} ...".format(value)``);
- a concatenation with a part that is not a literal (``"... " + column``);
- a local variable assigned one of the above in the same function
  (``query = f"..."; cr.execute(query)``).

A ``SQL`` object, a variable holding one, a literal or a concatenation of
literals is fine. The addons' code is checked, migrations included; their
tests are not (they build fixtures, not queries from user input), nor
``setup/`` and ``tests/bench`` (scripts run by the operator on their own
database, outside the addons).

No Odoo import and no database: the files are read as Python syntax trees.
"""

import ast

from tests.conftest import REPO_ROOT
from tests.static._pyast import addon_files, parse

EXECUTE_METHODS = {"execute", "executemany", "execute_values", "mogrify"}


def _is_literal_string(node):
    """A string literal, an f-string without a ``{}`` part, or a concatenation of those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(value, ast.Constant) for value in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_literal_string(node.left) and _is_literal_string(node.right)
    return False


def _string_built(node):
    """Why ``node`` is SQL text built from values, or None."""
    if isinstance(node, ast.JoinedStr) and not _is_literal_string(node):
        return "f-string"
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, (ast.Constant, ast.JoinedStr, ast.BinOp))
    ):
        return "%-formatted string"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Name))
    ):
        return ".format() call"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = [node.left, node.right]
        if any(_is_str_like(part) for part in parts) and not _is_literal_string(node):
            return "string concatenation"
    return None


def _is_str_like(node):
    """A node that is, or is built from, a string literal."""
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return isinstance(node, ast.JoinedStr) or isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _is_str_like(node.left) or _is_str_like(node.right)
    return False


def _is_sql_call(call):
    """``SQL(...)`` / ``tools.SQL(...)`` (not ``SQL.identifier`` nor ``SQL(...).join``)."""
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "SQL") or (
        isinstance(func, ast.Attribute) and func.attr == "SQL"
    )


def _is_execute_call(call):
    return isinstance(call.func, ast.Attribute) and call.func.attr in EXECUTE_METHODS


def _first_argument(call):
    if call.args:
        return call.args[0]
    for keyword in call.keywords:
        if keyword.arg in ("query", "sql", "code"):
            return keyword.value
    return None


def _enclosing_function(node):
    while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node = getattr(node, "_parent", None)
    return node


def _assigned_values(function, name):
    """The values assigned to the local ``name`` in ``function`` (``=`` and ``+=``)."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    yield node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            if isinstance(node.target, ast.Name) and node.target.id == name:
                yield node.value
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and isinstance(node.op, ast.Add)
            and not _is_literal_string(node.value)
        ):
            # `text += value` is `text = text + value`
            yield ast.BinOp(left=ast.Constant(""), op=ast.Add(), right=node.value)


def _why_unsafe(argument):
    reason = _string_built(argument)
    if reason or not isinstance(argument, ast.Name):
        return reason
    function = _enclosing_function(argument)
    if function is None:
        return None
    for value in _assigned_values(function, argument.id):
        reason = _string_built(value)
        if reason:
            return f"{reason} in `{argument.id}`"
    return None


def find_string_built_sql(path, source):
    """["path:line: why: source line"] for each query text built from values."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(parse(source, path)):
        if not isinstance(node, ast.Call) or not (_is_sql_call(node) or _is_execute_call(node)):
            continue
        argument = _first_argument(node)
        reason = argument is not None and _why_unsafe(argument)
        if reason:
            found.append(f"{path}:{node.lineno}: {reason}: {lines[node.lineno - 1].strip()}")
    return found


def test_sql_is_built_with_parameters():
    found = [
        line
        for rel, source in addon_files(REPO_ROOT)
        for line in find_string_built_sql(rel, source)
    ]
    assert not found, (
        f"SQL text built from values (STYLE.md 9) ({len(found)}):\n  "
        + "\n  ".join(found)
        + '\nPass values as parameters: SQL("... %s ...", value), names with'
        ' SQL.identifier(name), parts with SQL(", ").join(parts).'
    )


# ----------------------------------------------------------------------
# Self-tests: the check finds what it should and accepts clean code
# ----------------------------------------------------------------------
def test_selftest_string_built_sql_is_found():
    source = (
        "def run(self, table, ids, column):\n"
        '    self.env.cr.execute(f"SELECT id FROM {table}")\n'
        '    self.env.cr.execute("SELECT id FROM %s" % table)\n'
        '    self.env.cr.execute("DELETE FROM x WHERE id IN ({})".format(ids))\n'
        '    cr.execute("SELECT " + column + " FROM x")\n'
        '    return SQL(f"SELECT {column} FROM x WHERE id = %s", 1)\n'
        "\n"
        "def run2(cr, name):\n"
        "    query = \"SELECT id FROM x WHERE name = '%s'\" % name\n"
        "    cr.execute(query)\n"
        '    text = "SELECT id FROM x WHERE "\n'
        "    text += name\n"
        "    cr.execute(query=text)\n"
        '    return tools.SQL("UPDATE x SET a = 1 WHERE " + name)\n'
    )
    found = find_string_built_sql("omnichannel_cc/models/x.py", source)
    assert [line.split(": ", 2)[:2] for line in found] == [
        ["omnichannel_cc/models/x.py:2", "f-string"],
        ["omnichannel_cc/models/x.py:3", "%-formatted string"],
        ["omnichannel_cc/models/x.py:4", ".format() call"],
        ["omnichannel_cc/models/x.py:5", "string concatenation"],
        ["omnichannel_cc/models/x.py:6", "f-string"],
        ["omnichannel_cc/models/x.py:10", "%-formatted string in `query`"],
        ["omnichannel_cc/models/x.py:13", "string concatenation in `text`"],
        ["omnichannel_cc/models/x.py:14", "string concatenation"],
    ], found


def test_selftest_parameterised_sql_is_clean():
    source = (
        "def run(self, table, ids, rows):\n"
        '    self.env.cr.execute(SQL("SELECT id FROM %s WHERE id IN %s",'
        " SQL.identifier(table), tuple(ids)))\n"
        '    parts = [SQL("a = %s", 1), SQL("b = %s", 2)]\n'
        '    query = SQL("SELECT id FROM x WHERE %s", SQL(" AND ").join(parts))\n'
        "    self.env.cr.execute(query)\n"
        '    self.env.cr.execute("SELECT id FROM x WHERE id = %s", [ids[0]])\n'
        "    self.env.cr.execute(\n"
        '        "SELECT id FROM x "\n'
        '        "WHERE id = %s", [1])\n'
        '    literal = "SELECT 1 " + "FROM x"\n'
        "    self.env.cr.execute(literal)\n"
        '    self.env.cr.execute(f"SELECT 1")\n'
        "    return SQL(self._table_query), SQL.identifier(table)\n"
    )
    assert find_string_built_sql("omnichannel_cc/models/x.py", source) == []


def test_selftest_addon_files_skip_tests(tmp_path):
    for rel in (
        "omnichannel_cc/models/a.py",
        "omnichannel_cc/migrations/18.0.1.1/post-migrate.py",
        "omnichannel_cc/tests/test_a.py",
        "omnichannel_cc_sms/tests/common/b.py",
        "setup/create_db.py",
        "tests/bench/x.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    assert [rel for rel, _source in addon_files(tmp_path)] == [
        "omnichannel_cc/migrations/18.0.1.1/post-migrate.py",
        "omnichannel_cc/models/a.py",
    ]
