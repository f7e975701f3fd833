"""Read the addons' Python with ``ast`` only: no Odoo import, no database.

Shared by the structure checks (``test_structure.py``): which addons exist and
what they depend on, which classes are Odoo models and which model each one
declares or extends, which fields they declare, and a small best-effort guess
of the model a recordset expression holds (``self``, ``self.env["x"]``,
``rec`` in ``for rec in self``, ``self.offer_ids`` ...).

A project can be read from the repository (``load_project``) or built from
source strings (``project_from_sources``), so the checks can be tried on
synthetic snippets.
"""

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

ADDON_GLOB = "omnichannel_cc*/__manifest__.py"
# Folders of an addon that hold no model code of the addon at run time:
# its tests, and migration scripts (they run before the registry is loaded and
# must use SQL).
SKIPPED_DIRS = {"tests", "migrations", "upgrades", "__pycache__"}

# Recordset methods that return records of the same model.
SAME_MODEL_METHODS = {
    "browse",
    "copy",
    "create",
    "exists",
    "filtered",
    "filtered_domain",
    "grouped",
    "new",
    "search",
    "search_fetch",
    "sorted",
    "sudo",
    "with_company",
    "with_context",
    "with_env",
    "with_prefetch",
    "with_user",
}
RELATIONAL_FIELDS = {"Many2one", "One2many", "Many2many"}


# ----------------------------------------------------------------------
# Project: addons, their dependencies, their parsed files
# ----------------------------------------------------------------------
@dataclass
class SourceFile:
    addon: str
    path: str  # relative to the repository root: "omnichannel_cc/models/x.py"
    tree: ast.Module


@dataclass
class Field:
    name: str
    lineno: int
    kind: str  # "Char", "Many2one" ...
    comodel: str | None


@dataclass
class ModelClass:
    """One class of an addon that declares (``_name``) or extends (``_inherit``) a model."""

    addon: str
    path: str
    lineno: int
    class_name: str
    model: str  # the model this class declares or extends
    declares_name: bool  # ``_name`` is set in the class body
    parents: tuple  # other models in ``_inherit`` (mixins, prototypes)
    delegates: tuple  # models of ``_inherits``
    fields: list = field(default_factory=list)
    node: ast.ClassDef | None = None

    @property
    def where(self):
        return f"{self.path}:{self.lineno} {self.class_name}"


@dataclass
class Project:
    depends: dict  # addon -> list of the names in its manifest's depends
    files: list  # SourceFile

    @property
    def addons(self):
        return sorted(self.depends)

    def closure(self, addon):
        """The addon and every addon of this project it depends on, directly or not."""
        seen, todo = set(), [addon]
        while todo:
            name = todo.pop()
            if name in seen or name not in self.depends:
                continue
            seen.add(name)
            todo.extend(self.depends[name])
        return seen

    @cached_property
    def model_classes(self):
        return [cls for source in self.files for cls in model_classes(source)]

    @cached_property
    def comodels(self):
        """model -> {field name: comodel} over every addon (a field's comodel is fixed)."""
        result = defaultdict(dict)
        for cls in self.model_classes:
            for fld in cls.fields:
                if fld.comodel:
                    result[cls.model][fld.name] = fld.comodel
        return result

    def fields_of(self, model, addons):
        """Fields the given addons declare on ``model``, including those of the
        mixins and delegated models it gets from them: {name: ["path:line", ...]}."""
        found, seen, todo = defaultdict(list), set(), [model]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            for cls in self.model_classes:
                if cls.addon in addons and cls.model == current:
                    for fld in cls.fields:
                        found[fld.name].append(f"{cls.path}:{fld.lineno}")
                    todo.extend(cls.parents)
                    todo.extend(cls.delegates)
        return found


def load_project(root):
    """Every addon under ``root`` that has a ``__manifest__.py``, with its non-test Python files."""
    root = Path(root)
    depends, files = {}, []
    for manifest in sorted(root.glob(ADDON_GLOB)):
        addon_dir = manifest.parent
        addon = addon_dir.name
        depends[addon] = list(
            ast.literal_eval(manifest.read_text(encoding="utf-8")).get("depends", [])
        )
        for path in sorted(addon_dir.rglob("*.py")):
            rel = path.relative_to(addon_dir)
            if SKIPPED_DIRS.intersection(rel.parts[:-1]):
                continue
            source = path.read_text(encoding="utf-8")
            files.append(SourceFile(addon, f"{addon}/{rel.as_posix()}", parse(source, path)))
    return Project(depends, files)


def project_from_sources(spec):
    """``{addon: {"depends": [...], "files": {relative path: source}}}`` -> Project."""
    depends, files = {}, []
    for addon, data in spec.items():
        depends[addon] = list(data.get("depends", []))
        for rel, source in data.get("files", {}).items():
            if SKIPPED_DIRS.intersection(Path(rel).parts[:-1]):
                continue
            path = f"{addon}/{rel}"
            files.append(SourceFile(addon, path, parse(source, path)))
    return Project(depends, files)


def parse(source, filename):
    tree = ast.parse(source, filename=str(filename))
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child._parent = node
    return tree


# ----------------------------------------------------------------------
# Literals
# ----------------------------------------------------------------------
def const_str(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def module_constants(tree):
    """Module-level ``NAME = <literal>`` assignments (for ``_inherit = PARENTS``)."""
    constants = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                constants[target.id] = stmt.value
    return constants


def str_or_list(node, constants):
    """A string or a list/tuple of strings, as a tuple; None if not a literal."""
    if isinstance(node, ast.Name) and node.id in constants:
        node = constants[node.id]
    value = const_str(node)
    if value is not None:
        return (value,)
    if isinstance(node, ast.List | ast.Tuple):
        items = tuple(const_str(elt) for elt in node.elts)
        if all(item is not None for item in items):
            return items
    return None


# ----------------------------------------------------------------------
# Model classes and their fields
# ----------------------------------------------------------------------
def class_body_statements(body):
    """Statements of a class body, also those under if/try/with (not in methods)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If | ast.With):
            yield from class_body_statements(stmt.body)
            yield from class_body_statements(getattr(stmt, "orelse", []))
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, stmt.orelse, stmt.finalbody):
                yield from class_body_statements(block)
            for handler in stmt.handlers:
                yield from class_body_statements(handler.body)


def fields_aliases(tree):
    """Names bound to the ``odoo.fields`` module, and field classes imported by name."""
    modules, classes = {"fields"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "odoo":
            for alias in node.names:
                if alias.name == "fields":
                    modules.add(alias.asname or "fields")
        elif isinstance(node, ast.ImportFrom) and node.module == "odoo.fields":
            for alias in node.names:
                classes.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "odoo.fields" and alias.asname:
                    modules.add(alias.asname)
    return modules, classes


def field_kind(call, aliases):
    """``"Char"`` for ``fields.Char(...)``; None when the call makes no field."""
    if not isinstance(call, ast.Call):
        return None
    modules, classes = aliases
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in modules
        and func.attr[:1].isupper()
        and func.attr != "Command"
    ):
        return func.attr
    if isinstance(func, ast.Name) and func.id in classes and func.id[:1].isupper():
        return func.id
    return None


def field_comodel(call, kind):
    if kind not in RELATIONAL_FIELDS:
        return None
    for keyword in call.keywords:
        if keyword.arg == "comodel_name":
            return const_str(keyword.value)
    return const_str(call.args[0]) if call.args else None


def class_fields(cls_node, aliases):
    found = []
    for stmt in class_body_statements(cls_node.body):
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        kind = field_kind(value, aliases)
        if not kind:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found.append(Field(target.id, stmt.lineno, kind, field_comodel(value, kind)))
    return found


def model_classes(source):
    """The classes of a file that declare or extend an Odoo model.

    Odoo's rule: the model is ``_name`` when set, else ``_inherit`` (its first
    item when a list). ``_name = X`` with ``_inherit = [X, mixin]`` is one
    declaration of X; ``_name = Y`` with ``_inherit = X`` makes a new model Y
    (X is only its prototype).
    """
    tree = source.tree
    constants = module_constants(tree)
    aliases = fields_aliases(tree)
    result = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        attrs = {}
        for stmt in class_body_statements(node.body):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                if isinstance(target, ast.Name) and target.id in ("_name", "_inherit", "_inherits"):
                    attrs[target.id] = stmt.value
        if "_name" not in attrs and "_inherit" not in attrs:
            continue
        name = str_or_list(attrs["_name"], constants) if "_name" in attrs else None
        inherit = str_or_list(attrs["_inherit"], constants) if "_inherit" in attrs else None
        if name is not None and len(name) != 1:
            name = None
        model = name[0] if name else (inherit[0] if inherit else None)
        if model is None:
            continue
        delegates = ()
        if isinstance(attrs.get("_inherits"), ast.Dict):
            delegates = tuple(k for k in map(const_str, attrs["_inherits"].keys) if k)
        result.append(
            ModelClass(
                addon=source.addon,
                path=source.path,
                lineno=node.lineno,
                class_name=node.name,
                model=model,
                declares_name=name is not None,
                parents=tuple(m for m in (inherit or ()) if m != model),
                delegates=delegates,
                fields=class_fields(node, aliases),
                node=node,
            )
        )
    return result


# ----------------------------------------------------------------------
# Walking code with its context
# ----------------------------------------------------------------------
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def function_name(node):
    return "<lambda>" if isinstance(node, ast.Lambda) else node.name


@dataclass
class Context:
    """Where a node sits: its model class (if any), its enclosing functions
    (outermost first) and the models guessed for the local names there."""

    source: SourceFile
    cls: ModelClass | None
    class_name: str | None
    functions: tuple
    locals: dict

    @property
    def model(self):
        return self.cls.model if self.cls else None

    @property
    def function_names(self):
        return tuple(function_name(fn) for fn in self.functions)

    @property
    def qualname(self):
        parts = ([self.class_name] if self.class_name else []) + list(self.function_names)
        return ".".join(parts) or "<module>"

    def where(self, node):
        return f"{self.source.path}:{node.lineno}"


def walk_with_context(source, project):
    """Yield (node, Context) for every node of a file."""
    classes = {id(cls.node): cls for cls in project.model_classes if cls.path == source.path}
    comodels = project.comodels

    def visit(node, cls, class_name, functions, local):
        for child in ast.iter_child_nodes(node):
            child_cls, child_class_name, child_functions, child_local = (
                cls,
                class_name,
                functions,
                local,
            )
            if isinstance(child, ast.ClassDef):
                child_cls = classes.get(id(child))
                child_class_name = child.name
                child_functions = ()
                child_local = {}
            elif isinstance(child, FUNCTION_NODES):
                if not functions:  # outermost function: guess its locals once
                    child_local = local_models(
                        child, child_cls.model if child_cls else None, comodels
                    )
                child_functions = functions + (child,)
            ctx = Context(source, child_cls, child_class_name, child_functions, child_local)
            yield child, ctx
            yield from visit(child, child_cls, child_class_name, child_functions, child_local)

    yield from visit(source.tree, None, None, (), {})


# ----------------------------------------------------------------------
# Which model does a recordset expression hold? (best effort, None if unknown)
# ----------------------------------------------------------------------
def is_env(node):
    return (isinstance(node, ast.Attribute) and node.attr == "env") or (
        isinstance(node, ast.Name) and node.id == "env"
    )


def resolve_model(node, class_model, local, comodels):
    if isinstance(node, ast.Name):
        if node.id == "self":
            return class_model
        return local.get(node.id)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id == "super":
            return class_model
        if isinstance(func, ast.Attribute) and func.attr in SAME_MODEL_METHODS:
            return resolve_model(func.value, class_model, local, comodels)
        return None
    if isinstance(node, ast.Subscript):
        if is_env(node.value):
            return const_str(node.slice)
        if isinstance(node.slice, ast.Slice) or isinstance(getattr(node.slice, "value", None), int):
            return resolve_model(node.value, class_model, local, comodels)
        return None
    if isinstance(node, ast.Attribute):
        base = resolve_model(node.value, class_model, local, comodels)
        if base:
            return comodels.get(base, {}).get(node.attr)
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd | ast.Sub):
        # records of two models cannot be combined: either side tells the model
        return resolve_model(node.left, class_model, local, comodels) or resolve_model(
            node.right, class_model, local, comodels
        )
    return None


def _target_names(target):
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List | ast.Starred):
        elts = [target.value] if isinstance(target, ast.Starred) else target.elts
        return [name for elt in elts for name in _target_names(elt)]
    return []


def _bound(node, func):
    """[(name, expression or None when unknown)] that one node binds."""
    if isinstance(node, ast.Assign):
        return [
            pair
            for target in node.targets
            for pair in (
                [(target.id, node.value)]
                if isinstance(target, ast.Name)
                else [(name, None) for name in _target_names(target)]
            )
        ]
    if isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
        return [(name, getattr(node, "value", None)) for name in _target_names(node.target)]
    if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
        if isinstance(node.target, ast.Name):
            return [(node.target.id, node.iter)]  # records of the iterated recordset's model
        return [(name, None) for name in _target_names(node.target)]
    if isinstance(node, ast.With | ast.AsyncWith):
        return [
            (name, None)
            for item in node.items
            if item.optional_vars is not None
            for name in _target_names(item.optional_vars)
        ]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [(node.name, None)]
    if isinstance(node, FUNCTION_NODES):
        args = node.args
        params = args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
        return [
            (arg.arg, None)
            for arg in params
            if arg is not None and not (node is func and arg.arg == "self")
        ]
    return []


def _bindings(func):
    """name -> the expressions bound to it in a function (None: unknown)."""
    bindings = defaultdict(list)
    for node in ast.walk(func):
        for name, expr in _bound(node, func):
            bindings[name].append(expr)
    return bindings


def local_models(func, class_model, comodels):
    """Models of the local names of a function (and its nested functions),
    flow-insensitive: a name bound to two models, or to anything unknown,
    stays unknown."""
    bindings = _bindings(func)
    local = {}
    for _round in range(5):
        new = {}
        for name, exprs in bindings.items():
            models = {
                resolve_model(expr, class_model, local, comodels) if expr is not None else None
                for expr in exprs
            }
            if len(models) == 1 and None not in models:
                new[name] = models.pop()
        if new == local:
            break
        local = new
    return local


def addon_files(root):
    """(relative path, source) of the addons' Python, their tests left out."""
    for path in sorted(root.glob("omnichannel_cc*/**/*.py")):
        rel = path.relative_to(root)
        if "tests" not in rel.parts[1:-1]:
            yield rel.as_posix(), path.read_text(encoding="utf-8")
