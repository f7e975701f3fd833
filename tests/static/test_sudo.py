"""Every ``sudo()`` says why, on the line above (STYLE.md 19).

``sudo()`` is as narrow as the one read or write that needs it, with the
reason in a comment starting with ``# sudo:`` right above the statement that
holds it, as Odoo 18's im_livechat does::

    # sudo: agents may not read invoices; the panel shows only these figures
    invoices = self.env["account.move"].sudo().search(domain)

The comment may be any line of the comment block directly above the
statement's first line (no blank line between), or, in a chain spread over
several lines, directly above the line of ``.sudo()`` itself::

    partners = (
        self.env["res.partner"]
        # sudo: visitors may not read partners; only the id is used
        .sudo()
        .search(domain, limit=1)
    )

``sudo(False)`` drops the superuser mode and needs no reason. The addons'
code is checked, migrations included; their tests are not.

No Odoo import and no database: the files are read as Python syntax trees.
"""

import ast

from tests.conftest import REPO_ROOT
from tests.static._pyast import addon_files, parse

MARKER = "# sudo:"


def sudo_calls(tree):
    """The ``x.sudo()`` calls of a module (not ``x.sudo(False)``)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "sudo"
            and not (
                node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value is False
            )
        ):
            yield node


def statement_of(node):
    while not isinstance(node, ast.stmt):
        node = node._parent
    return node


def has_reason_above(lines, lineno):
    """Is there a ``# sudo:`` line in the comment block right above line ``lineno`` (1-based)?"""
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#"):
        if lines[index].lstrip().startswith(MARKER):
            return True
        index -= 1
    return False


def find_unexplained_sudo(path, source):
    """["path:line: source line"] for each ``sudo()`` without its ``# sudo:`` comment."""
    lines = source.splitlines()
    unexplained = set()
    for call in sudo_calls(parse(source, path)):
        sudo_line = call.func.end_lineno  # the line of ".sudo", also in a multi-line chain
        if not (
            has_reason_above(lines, statement_of(call).lineno) or has_reason_above(lines, sudo_line)
        ):
            unexplained.add(sudo_line)
    return [f"{path}:{line}: {lines[line - 1].strip()}" for line in sorted(unexplained)]


def test_every_sudo_says_why():
    found = [
        line
        for rel, source in addon_files(REPO_ROOT)
        for line in find_unexplained_sudo(rel, source)
    ]
    assert not found, (
        f"sudo() without its reason on the line above (STYLE.md 19) ({len(found)}):\n  "
        + "\n  ".join(found)
        + "\nWrite `# sudo: <why this read or write needs the superuser>` on the line right"
        " above the statement (e.g. `# sudo: agents may not read invoices; the panel"
        " shows only these figures`), and keep sudo() to that one read or write."
    )


# ----------------------------------------------------------------------
# Self-tests: the check finds what it should and accepts clean code
# ----------------------------------------------------------------------
def test_selftest_sudo_without_reason():
    source = (
        "def total(self):\n"
        "    # the invoices of the customer\n"
        '    moves = self.env["account.move"].sudo().search([])\n'
        "\n"
        "    # sudo: agents may not read invoices\n"
        "\n"  # a blank line parts the comment from the statement
        "    other = self.sudo().amount\n"
        '    if self.env["x"].sudo().search_count([]):  # sudo: a trailing comment is not enough\n'
        "        return moves, other\n"
    )
    found = find_unexplained_sudo("omnichannel_cc/models/x.py", source)
    assert found == [
        'omnichannel_cc/models/x.py:3: moves = self.env["account.move"].sudo().search([])',
        "omnichannel_cc/models/x.py:7: other = self.sudo().amount",
        (
            'omnichannel_cc/models/x.py:8: if self.env["x"].sudo().search_count([]):'
            "  # sudo: a trailing comment is not enough"
        ),
    ], found


def test_selftest_sudo_with_reason_is_clean():
    source = (
        "def total(self):\n"
        "    # sudo: agents may not read invoices; the panel shows only these figures\n"
        '    moves = self.env["account.move"].sudo().search([])\n'
        "    # The amounts of the customer's open invoices.\n"
        "    # sudo: agents may not read invoices\n"
        "    # (the reason may sit anywhere in the block right above)\n"
        "    return sum(\n"
        "        move.sudo().amount_residual\n"
        "        for move in moves\n"
        "    ), self.sudo(False)\n"
    )
    assert find_unexplained_sudo("omnichannel_cc/models/x.py", source) == []


def test_selftest_sudo_in_multiline_chain():
    source = (
        "def find(self, phone):\n"
        "    partner = (\n"
        '        self.env["res.partner"]\n'
        "        # sudo: the webhook runs as the public user; only the id is used\n"
        "        .sudo()\n"
        '        .search([("phone", "=", phone)], limit=1)\n'
        "    )\n"
        "    lead = (\n"
        '        self.env["crm.lead"]\n'
        "        .sudo()\n"
        "        .search([], limit=1)\n"
        "    )\n"
        "    return partner, lead\n"
    )
    found = find_unexplained_sudo("omnichannel_cc_voip/controllers/main.py", source)
    assert found == ["omnichannel_cc_voip/controllers/main.py:10: .sudo()"], found


def test_selftest_addon_files_skip_tests(tmp_path):
    for rel in (
        "omnichannel_cc/models/a.py",
        "omnichannel_cc/migrations/18.0.1.1/post-migrate.py",
        "omnichannel_cc/tests/test_a.py",
        "omnichannel_cc_sms/tests/common/b.py",
        "other_addon/models/c.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    assert [rel for rel, _source in addon_files(tmp_path)] == [
        "omnichannel_cc/migrations/18.0.1.1/post-migrate.py",
        "omnichannel_cc/models/a.py",
    ]
