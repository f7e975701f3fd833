"""Secrets are compared in constant time.

A signature, token, secret or digest compared with ``==`` / ``!=`` leaks,
through the answer's timing, how many of its first characters were right.
Every such comparison in the addons' code (their tests aside) must go
through ``hmac.compare_digest`` (or Odoo's ``consteq``, which is it): this
test reads the source with ``ast`` and fails on a ``Compare`` node with
``==`` or ``!=`` one of whose operands names a secret (a variable, attribute,
subscript key or called function whose name holds signature, token, secret
or digest), unless the other side is a literal (``token == ""``) or an
empty value.
"""

import ast
import re

from tests.conftest import REPO_ROOT

SECRET_NAME = re.compile(r"signature|token|secret|digest|hmac", re.IGNORECASE)
# names that hold the words without holding a secret
NOT_SECRET = re.compile(
    r"^(?:.*_header|.*_param|.*_field|.*_scope|.*_length|.*_bytes|max_.*|.*_count|len)$",
    re.IGNORECASE,
)
SKIPPED_DIRS = {"tests", "migrations", "__pycache__", "static"}
CONSTANT_TIME = {"compare_digest", "consteq"}


def _names(node):
    """The identifiers an operand is read from: ``a.b[c]`` gives b and a (and
    a constant subscript key), a call the called function's name."""
    names = []
    while True:
        if isinstance(node, ast.Name):
            names.append(node.id)
            return names
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.append(key.value)
            node = node.value
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in {"get", "encode", "strip", "lower"}:
                # headers.get("X-Signature"), given.encode(): what is read
                names.extend(
                    a.value
                    for a in node.args[:1]
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
                node = func.value
            else:
                names.append(getattr(func, "attr", getattr(func, "id", "")))
                return names
        else:
            return names


def _is_secret(node):
    return any(SECRET_NAME.search(name) and not NOT_SECRET.match(name) for name in _names(node))


def _is_literal(node):
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
        return not getattr(node, "elts", getattr(node, "keys", None))
    return False


def secret_comparisons(tree):
    """``[(line, source)]`` of the ``==`` / ``!=`` comparisons of a secret."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, ast.Eq | ast.NotEq):
                continue
            if _is_literal(left) or _is_literal(right):
                continue
            if _is_secret(left) or _is_secret(right):
                found.append((node.lineno, ast.unparse(node)))
    return found


def addon_sources():
    for path in sorted(REPO_ROOT.glob("omnichannel_cc*/**/*.py")):
        relative = path.relative_to(REPO_ROOT)
        if SKIPPED_DIRS & set(relative.parts[1:-1]):
            continue
        yield relative, path.read_text()


def test_secrets_are_compared_in_constant_time():
    offenders = []
    for relative, text in addon_sources():
        for line, source in secret_comparisons(ast.parse(text, filename=str(relative))):
            offenders.append(f"{relative}:{line}: {source}")
    assert offenders == [], (
        "compare signatures, tokens, secrets and digests with hmac.compare_digest "
        "(or odoo.tools.consteq), never with == / !=:\n" + "\n".join(offenders)
    )


def test_the_webhook_checks_use_compare_digest():
    """The verifying functions themselves call a constant-time comparison."""
    expected = [
        ("omnichannel_cc/tools/signature.py", "verify"),
        ("omnichannel_cc_social/tools/social.py", "verify_handshake"),
        ("omnichannel_cc_social/tools/social.py", "verify_secret_token"),
        ("omnichannel_cc_sms/tools/sms_providers.py", "secrets_equal"),
        ("omnichannel_cc_sms/tools/sms_providers.py", "_verify"),
        ("omnichannel_cc_webform/tools/webform.py", "check_token"),
        ("omnichannel_cc_invitation/tools/invitation.py", "same_signature"),
    ]
    for relative, function in expected:
        tree = ast.parse((REPO_ROOT / relative).read_text())
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function]
        assert nodes, f"{relative}: no function {function}"
        for node in nodes:
            if len(node.body) == 1 and isinstance(node.body[0], ast.Raise):
                continue  # the abstract method
            called = {
                getattr(call.func, "attr", getattr(call.func, "id", None))
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
            }
            # a provider's _verify may delegate to a constant-time helper
            assert called & (
                CONSTANT_TIME | {"secrets_equal", "verify_body", "_verify_secret_param"}
            ), f"{relative}: {function} compares without compare_digest"


def test_the_checker_finds_a_plain_comparison():
    tree = ast.parse(
        "def f(signature, expected, headers, token, channel):\n"
        "    a = signature == expected\n"
        "    b = headers.get('X-Hub-Signature-256') != expected\n"
        "    c = channel.voip_secret == token\n"
        "    d = token == ''\n"
        "    e = hmac.compare_digest(signature, expected)\n"
        "    f = len(token) == 3\n"
    )
    assert [line for line, _source in secret_comparisons(tree)] == [2, 3, 4]
