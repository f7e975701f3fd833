"""``docs/openapi.yaml`` documents every public route, and only those.

The routes are read from the controllers' source with ``ast`` (no Odoo
import): every ``@http.route`` of ``auth="public"`` or ``auth="none"`` in
``omnichannel_cc*/controllers/*.py``. A bare ``@http.route()`` overrides the
route of the method of the same name in the parent controller (Odoo's
``im_livechat``): its path, methods and auth are read from that source.
An undocumented public route, a documented path or method that no route
has, or an operation without responses fails.
"""

import ast
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

OPENAPI = REPO_ROOT / "docs" / "openapi.yaml"
PUBLIC_AUTH = {"public", "none"}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
CONVERTER = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>")


def odoo_addons_dir():
    spec = importlib.util.find_spec("odoo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("odoo is not importable: the parent routes of overrides cannot be read")
    return Path(next(iter(spec.submodule_search_locations))) / "addons"


def _literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _route_decorator(decorator):
    """The ``http.route(...)`` call of a decorator, else None."""
    if not isinstance(decorator, ast.Call):
        return None
    func = decorator.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return decorator if name == "route" else None


def routes_of(tree):
    """``{method name: [(paths, methods, auth) or None for a bare override]}``
    per class: ``[(class node, method node, route or None)]``."""
    found = []
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        for method in cls.body:
            if not isinstance(method, ast.FunctionDef):
                continue
            for decorator in method.decorator_list:
                call = _route_decorator(decorator)
                if call is None:
                    continue
                if not call.args and not call.keywords:
                    found.append((cls, method, None))
                    continue
                paths = _literal(call.args[0]) if call.args else None
                keywords = {kw.arg: _literal(kw.value) for kw in call.keywords}
                paths = keywords.get("route", paths)
                if isinstance(paths, str):
                    paths = [paths]
                methods = keywords.get("methods")
                found.append(
                    (cls, method, (tuple(paths or ()), methods, keywords.get("auth", "user")))
                )
    return found


def _imports(tree):
    """``{local name: dotted module}`` of the ``from X import Y`` of a file."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
    return names


def parent_route(tree, cls, method_name):
    """The route of ``method_name`` in a base class of ``cls`` imported from
    an Odoo addon (``odoo.addons.<addon>.<module>``)."""
    imports = _imports(tree)
    for base in cls.bases:
        name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)
        module = imports.get(name, "")
        if not module.startswith("odoo.addons."):
            continue
        source = odoo_addons_dir().joinpath(*module.split(".")[2:]).with_suffix(".py")
        parent_tree = ast.parse(source.read_text())
        for parent_cls, method, route in routes_of(parent_tree):
            if parent_cls.name == name and method.name == method_name and route:
                return route
    raise AssertionError(f"no parent route for {cls.name}.{method_name}")


def public_routes():
    """``{openapi path: set of methods (lower case), or None for any}``."""
    routes = {}
    for source in sorted(REPO_ROOT.glob("omnichannel_cc*/controllers/*.py")):
        tree = ast.parse(source.read_text(), filename=str(source))
        for cls, method, route in routes_of(tree):
            if route is None:
                route = parent_route(tree, cls, method.name)
            paths, methods, auth = route
            if auth not in PUBLIC_AUTH:
                continue
            for path in paths:
                key = CONVERTER.sub(r"{\1}", path)
                if methods is None:
                    routes[key] = None
                elif routes.get(key, set()) is not None:
                    routes[key] = routes.get(key, set()) | {m.lower() for m in methods}
    return routes


@pytest.fixture(scope="module")
def document():
    return yaml.safe_load(OPENAPI.read_text())


def test_the_document_is_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    for path, item in document["paths"].items():
        for method in HTTP_METHODS & set(item):
            operation = item[method]
            assert operation.get("responses"), f"{method.upper()} {path} lists no response"
            assert operation.get("x-odoo-auth") in PUBLIC_AUTH, (path, method)
            statuses = set(operation["responses"])
            assert all(re.fullmatch(r"[1-5]\d\d", str(s)) for s in statuses), (path, statuses)


def test_every_public_route_is_documented_and_nothing_else(document):
    routes = public_routes()
    # the inventory itself: the addons' public surfaces are all found
    assert "/omnichannel/voip/{token}/event" in routes
    assert "/im_livechat/get_session" in routes
    documented = {
        path: {m for m in item if m in HTTP_METHODS} for path, item in document["paths"].items()
    }
    assert sorted(set(routes) - set(documented)) == [], "public routes missing from openapi.yaml"
    assert sorted(set(documented) - set(routes)) == [], "documented paths no route has"
    for path, methods in routes.items():
        if methods is None:  # a route of any method: at least one is documented
            assert documented[path], path
        else:
            assert documented[path] == methods, (path, documented[path], methods)


def test_references_resolve(document):
    text = OPENAPI.read_text()
    for ref in set(re.findall(r'\$ref: "#/([^"]+)"', text)):
        node = document
        for part in ref.split("/"):
            assert part in node, f"unresolved $ref #/{ref}"
            node = node[part]


def test_the_checker_sees_a_missing_route(tmp_path):
    """The ast reader finds a public route and ignores a user one."""
    tree = ast.parse(
        "from odoo import http\n"
        "class C(http.Controller):\n"
        "    @http.route('/x/<string:token>', type='http', auth='public', methods=['POST'])\n"
        "    def x(self, token): pass\n"
        "    @http.route('/y', auth='user')\n"
        "    def y(self): pass\n"
    )
    (_c1, _m1, first), (_c2, _m2, second) = routes_of(tree)
    assert first == (("/x/<string:token>",), ["POST"], "public")
    assert second[2] == "user"
    assert CONVERTER.sub(r"{\1}", first[0][0]) == "/x/{token}"


def inboxed_routes():
    """Openapi paths of the routes that store their request in the event
    inbox: those handing ``inbox=`` to ``_webhook_receive``."""
    paths = set()
    for source in sorted(REPO_ROOT.glob("omnichannel_cc*/controllers/*.py")):
        tree = ast.parse(source.read_text(), filename=str(source))
        for _cls, method, route in routes_of(tree):
            inboxed = any(
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "_webhook_receive"
                and any(kw.arg == "inbox" for kw in node.keywords)
                for node in ast.walk(method)
            )
            if inboxed and route:
                paths.update(CONVERTER.sub(r"{\1}", path) for path in route[0])
    return paths


def test_inboxed_routes_document_the_receipt(document):
    """A fire-and-forget route answers the inbox's receipt, and says so;
    a synchronous one does not."""
    inboxed = inboxed_routes()
    assert {
        "/omnichannel/voip/{token}/event",
        "/omnichannel/social/{token}",
        "/omnichannel/sms/{token}/status",
    } <= inboxed
    assert "/omnichannel/voip/{token}/route" not in inboxed
    # the generic SMS gateway's answer to a received SMS is the applied result
    assert "/omnichannel/sms/{token}/inbound" not in inboxed
    receipt = "#/components/schemas/InboxReceipt"
    assert set(document["components"]["schemas"]["InboxReceipt"]["required"]) == {
        "queued",
        "duplicate",
        "inbox_id",
    }
    for path, item in document["paths"].items():
        post = item.get("post") or {}
        answer = post.get("responses", {}).get("200", {})
        schemas = [
            content.get("schema", {}).get("$ref") for content in answer.get("content", {}).values()
        ]
        if path in inboxed:
            assert post.get("x-inbox") is True, path
            assert receipt in schemas, (path, schemas)
        else:
            assert not post.get("x-inbox") and receipt not in schemas, path
