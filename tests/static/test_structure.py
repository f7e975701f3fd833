"""Model structure, checked on the source with ``ast`` (STYLE.md points 16 and 17).

1. A model is declared or extended at most once per addon.
2. A field is declared at most once per model and addon.
3. The state of an interaction, an offer or a call-back changes only in its
   state-machine method (``STATE_METHODS``): no ``write({"state": ...})``,
   ``rec.state = ...`` or ``UPDATE ... SET state`` elsewhere. Creating a
   record with its first state is fine.
4. ``"x" in rec._fields`` only for fields of optional Odoo modules, never for
   a field the addon (or an addon it depends on) declares on that model.

No Odoo import and no database: the addons are read as Python syntax trees
(``_pyast.py``). The ``test_selftest_*`` functions run each check on small
synthetic sources, to show it finds what it should and accepts clean code.
"""

import ast
import re
from collections import defaultdict
from functools import cache

from tests.conftest import REPO_ROOT
from tests.static._pyast import (
    const_str,
    load_project,
    project_from_sources,
    resolve_model,
    walk_with_context,
)

# The one method per stateful model through which every state change goes.
STATE_METHODS = {
    "omnichannel.interaction": "_set_state",
    "omnichannel.offer": "_set_state",
    "omnichannel.callback": "_set_state",
    "omnichannel.campaign": "_set_state",
    "omnichannel.campaign.contact": "_set_state",
    "omnichannel.campaign.dial": "_set_state",
    "omnichannel.survey.invitation": "_set_state",
    "omnichannel.voip.command": "_set_state",
    "omnichannel.invitation": "_set_state",
}
# The write step of the shared machine (omnichannel.state.mixin): only its
# _set_state calls it, after checking the transition; a model overrides it to
# add what its transitions imply (time stamps, notifications).
STATE_WRITE_STEP = "_state_write"
# States only an interaction has: a write of one of these is an interaction
# transition wherever it happens, even when the written recordset is unknown.
# ("cancelled", "expired", "done", "pending", "accepted", "failed" are shared
# by several models: only the rule based on the enclosing class applies.)
INTERACTION_ONLY_STATES = {
    "queued",
    "offered",
    "active",
    "wrapup",
    "abandoned",
    "missed",
    "transferred",
}
# Exceptions to check 3, "<path>::<Class.method>": "why". Keep it empty: fix
# the code (call the state method) rather than list it here. An entry that no
# longer matches a violation fails the test, so the list cannot go stale.
ALLOWLIST = {}


@cache
def repo_project():
    project = load_project(REPO_ROOT)
    assert project.addons, f"no addon (*/__manifest__.py) found under {REPO_ROOT}"
    return project


def report(title, lines):
    return f"{title} ({len(lines)}):\n  " + "\n  ".join(lines)


# ----------------------------------------------------------------------
# 1. A model is extended at most once per addon
# ----------------------------------------------------------------------
def find_double_extensions(project):
    """["addon: model declared/extended by N classes: file:line Class, ..."]"""
    by_model = defaultdict(list)
    for cls in project.model_classes:
        by_model[cls.addon, cls.model].append(cls)
    found = []
    for (addon, model), classes in sorted(by_model.items()):
        if len(classes) > 1:
            where = "; ".join(
                f"{cls.where} ({'_name' if cls.declares_name else '_inherit'})" for cls in classes
            )
            found.append(f"{addon}: {model} in {len(classes)} classes: {where}")
    return found


def test_model_extended_once_per_addon():
    found = find_double_extensions(repo_project())
    assert not found, report(
        "Models declared or extended by more than one class of one addon "
        "(STYLE.md 16: one class, in the file named after the model)",
        found,
    )


# ----------------------------------------------------------------------
# 2. A field is declared at most once per model and addon
# ----------------------------------------------------------------------
def find_double_fields(project):
    """["addon: model.field declared N times: file:line Class, ..."]"""
    declared = defaultdict(list)
    for cls in project.model_classes:
        for fld in cls.fields:
            declared[cls.addon, cls.model, fld.name].append(
                f"{cls.path}:{fld.lineno} {cls.class_name}"
            )
    return [
        f"{addon}: {model}.{name} declared {len(where)} times: {'; '.join(where)}"
        for (addon, model, name), where in sorted(declared.items())
        if len(where) > 1
    ]


def test_field_declared_once_per_model_and_addon():
    found = find_double_fields(repo_project())
    assert not found, report("Fields declared twice for one model in one addon", found)


# ----------------------------------------------------------------------
# 3. One state machine per stateful model
# ----------------------------------------------------------------------
STATE_TABLES = {model.replace(".", "_"): model for model in STATE_METHODS}
# UPDATE <table> [alias] SET <assignments> [WHERE|FROM|RETURNING ...]
UPDATE_RE = re.compile(
    r'\bUPDATE\s+(?:ONLY\s+)?"?([\w.{}%]+)"?(?:\s+(?:AS\s+)?(?!SET\b)\w+)?\s+SET\b'
    r"(.*?)(?=\bWHERE\b|\bFROM\b|\bRETURNING\b|;|\Z)",
    re.IGNORECASE | re.DOTALL,
)
SET_STATE_RE = re.compile(r"(?:^|,)\s*state\s*=(?!=)", re.IGNORECASE)
BARE_SET_STATE_RE = re.compile(r"\bSET\s+state\b", re.IGNORECASE)


def sql_state_updates(text):
    """[(table or None, offset of "state")] for each assignment of ``state`` in SQL text."""
    found, spans = [], []
    for match in UPDATE_RE.finditer(text):
        spans.append(match.span())
        assignment = SET_STATE_RE.search(match.group(2))
        if assignment:
            table = match.group(1).lower().removeprefix("public.")
            if not re.fullmatch(r"\w+", table):
                table = None  # a placeholder: {self._table}, %s
            state_at = assignment.start() + assignment.group().lower().index("state")
            found.append((table, match.start(2) + state_at))
    for match in BARE_SET_STATE_RE.finditer(text):
        if not any(start <= match.start() < end for start, end in spans):
            found.append((None, match.end() - len("state")))
    return found


def merge(*values):
    present = [value for value in values if value is not None]
    return set().union(*present) if present else None


def state_values(node, statevars):
    """The values a vals expression gives to "state": a set of literals (None
    in it for a computed value), or None when it sets no state."""
    if isinstance(node, ast.Dict):
        result = None
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:  # {**other}
                result = merge(result, state_values(value, statevars))
            elif const_str(key) == "state":
                result = merge(result, {const_str(value)})
        return result
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        result = merge(*(state_values(arg, statevars) for arg in node.args))
        for keyword in node.keywords:
            if keyword.arg == "state":
                result = merge(result, {const_str(keyword.value)})
            elif keyword.arg is None:
                result = merge(result, state_values(keyword.value, statevars))
        return result
    if isinstance(node, ast.Name):
        return statevars.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return merge(state_values(node.left, statevars), state_values(node.right, statevars))
    if isinstance(node, ast.IfExp):
        return merge(state_values(node.body, statevars), state_values(node.orelse, statevars))
    return None


def sets_state_in_place(node):
    """The values of ``vals["state"] = v``, ``vals.update(state=v)``,
    ``vals.update({"state": v})``, ``vals.setdefault("state", v)``: (name, set) or None."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and const_str(target.slice) == "state"
            ):
                return target.value.id, {const_str(node.value)}
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
    ):
        name, method = node.func.value.id, node.func.attr
        if method == "update":
            values = merge(
                *(state_values(arg, {}) for arg in node.args),
                *({const_str(kw.value)} for kw in node.keywords if kw.arg == "state"),
            )
            if values is not None:
                return name, values
        if method == "setdefault" and node.args and const_str(node.args[0]) == "state":
            return name, {const_str(node.args[1]) if len(node.args) > 1 else None}
    return None


def state_vars(func):
    """Local names holding vals that set "state" in a function: {name: values}."""
    statevars = {}
    for _round in range(3):
        for node in ast.walk(func):
            in_place = sets_state_in_place(node)
            if in_place:
                name, values = in_place
                statevars[name] = merge(statevars.get(name), values)
            elif isinstance(node, ast.Assign):
                values = state_values(node.value, statevars)
                if values is not None:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            statevars[target.id] = merge(statevars.get(target.id), values)
    return statevars


def state_write_problem(ctx, target, values, state_methods, anywhere_rule=True):
    """Why a write of ``state`` here is wrong, or None.

    target: the model written if known. Otherwise the enclosing class decides,
    and outside the three models a literal interaction-only state does.
    """
    if target:
        if target not in state_methods:
            return None
        method = state_methods[target]
        if ctx.model == target and {method, STATE_WRITE_STEP} & set(ctx.function_names):
            return None
        return f"sets the state of {target} outside {target}.{method}()"
    if ctx.model in state_methods:
        method = state_methods[ctx.model]
        if {method, STATE_WRITE_STEP} & set(ctx.function_names):
            return None
        return f"sets a state in a class of {ctx.model} outside {method}()"
    method = state_methods.get("omnichannel.interaction", "_set_state")
    interaction_states = sorted(v for v in values if v in INTERACTION_ONLY_STATES)
    if anywhere_rule and interaction_states and method not in ctx.function_names:
        return (
            f"sets the interaction state {', '.join(map(repr, interaction_states))} "
            f"outside omnichannel.interaction.{method}()"
        )
    return None


def is_write_passthrough(ctx, call, arg):
    """``super().write(vals)`` with the ``vals`` a write() override received."""
    outer = ctx.functions[0] if ctx.functions else None
    return (
        ctx.function_names[:1] == ("write",)
        and isinstance(call.func.value, ast.Call)
        and isinstance(call.func.value.func, ast.Name)
        and call.func.value.func.id == "super"
        and isinstance(arg, ast.Name)
        and arg.id in [a.arg for a in outer.args.args[1:2]]
    )


def sql_text(node):
    """The text of a string literal or f-string (placeholders as {}), else None.
    Docstrings and other bare string statements are no SQL."""
    parent = getattr(node, "_parent", None)
    if isinstance(parent, ast.Expr | ast.JoinedStr | ast.FormattedValue):
        return None
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return const_str(node)


def write_call_problems(node, ctx, statevars, comodels, state_methods):
    """records.write({... "state": ...}), records.update(...)"""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("write", "update")
    ):
        return []
    arg = node.args[0] if node.args else None
    for keyword in node.keywords:
        if keyword.arg == "vals":
            arg = keyword.value
    values = state_values(arg, statevars) if arg is not None else None
    target = resolve_model(node.func.value, ctx.model, ctx.locals, comodels)
    # dict.update() is no write: only update() on known records counts
    if values is None or (node.func.attr == "update" and not target):
        return []
    if is_write_passthrough(ctx, node, arg):
        return []  # its vals["state"] = ... is reported by write_override_problems
    problem = state_write_problem(ctx, target, values, state_methods)
    return [(node.lineno, f"{node.func.attr}() {problem}")] if problem else []


def state_attribute_problems(node, ctx, statevars, comodels, state_methods):
    """records.state = value"""
    if not isinstance(node, ast.Assign):
        return []
    found = []
    for target in node.targets:
        if isinstance(target, ast.Attribute) and target.attr == "state":
            model = resolve_model(target.value, ctx.model, ctx.locals, comodels)
            values = {const_str(node.value)}
            problem = state_write_problem(ctx, model, values, state_methods, anywhere_rule=False)
            if problem:
                found.append((node.lineno, f".state = ... {problem}"))
    return found


def write_override_problems(node, ctx, statevars, comodels, state_methods):
    """vals["state"] = ... in a write() override of a stateful model"""
    if (
        ctx.model in state_methods
        and ctx.function_names[:1] == ("write",)
        and sets_state_in_place(node)
    ):
        method = state_methods[ctx.model]
        problem = f"write() of {ctx.model} changes vals['state']: state changes go through"
        return [(node.lineno, f"{problem} {method}()")]
    return []


def sql_problems(node, ctx, statevars, comodels, state_methods):
    """UPDATE <table> SET state = ... in a string literal"""
    text = sql_text(node) if isinstance(node, ast.Constant | ast.JoinedStr) else None
    if not text:
        return []
    # the line of "state =" when the literal is one plain string
    single = isinstance(node, ast.Constant) and node.end_lineno - node.lineno == text.count("\n")
    found = []
    for table, offset in sql_state_updates(text):
        if table is not None:
            model = STATE_TABLES.get(table)
            if model is None:
                continue  # the state of another table
            problem = state_write_problem(ctx, model, set(), state_methods)
        elif ctx.model in state_methods:
            problem = state_write_problem(ctx, None, set(), state_methods)
        elif set(state_methods.values()) & set(ctx.function_names):
            problem = None
        else:
            problem = "sets a state outside a state method"
        if problem:
            line = node.lineno + (text.count("\n", 0, offset) if single else 0)
            found.append((line, f"SQL `{table or '?'} SET state` {problem}"))
    return found


STATE_CHECKS = (
    write_call_problems,
    state_attribute_problems,
    write_override_problems,
    sql_problems,
)


def find_state_writes(project, state_methods=STATE_METHODS):
    """[(allowlist key, "file:line in Class.method: problem")], sorted, one per location."""
    found = {}
    statevars_cache = {}
    for source in project.files:
        for node, ctx in walk_with_context(source, project):
            outer = ctx.functions[0] if ctx.functions else None
            if outer is not None and id(outer) not in statevars_cache:
                statevars_cache[id(outer)] = state_vars(outer)
            statevars = statevars_cache.get(id(outer), {})
            for check in STATE_CHECKS:
                for line, problem in check(node, ctx, statevars, project.comodels, state_methods):
                    found[source.path, line, problem] = (
                        f"{source.path}::{ctx.qualname}",
                        f"{source.path}:{line} in {ctx.qualname}: {problem}",
                    )
    return [found[key] for key in sorted(found)]


def apply_allowlist(found, allowlist):
    """(violations not allowed, allowlist keys that match no violation)"""
    violations = [line for key, line in found if key not in allowlist]
    stale = sorted(set(allowlist) - {key for key, _line in found})
    return violations, stale


def test_state_written_only_by_state_machine():
    violations, stale = apply_allowlist(find_state_writes(repo_project()), ALLOWLIST)
    assert not stale, f"ALLOWLIST entries that match no violation any more: {stale}"
    assert not violations, report(
        "State written outside the state-machine method "
        f"(STYLE.md 17; allowed methods: {STATE_METHODS})",
        violations,
    )


# ----------------------------------------------------------------------
# 4. "x" in rec._fields only for fields of optional modules
# ----------------------------------------------------------------------
def find_needless_field_checks(project):
    """["file:line in Class.method: 'x' in <expr>._fields, but model.x is declared at ..."]

    The model is guessed from the receiver (``self``, ``self.env["m"]``,
    ``rec`` of ``for rec in self`` ...); when the guess fails, the model of
    the enclosing class.
    """
    comodels = project.comodels
    found = []
    for source in project.files:
        addons = project.closure(source.addon)
        for node, ctx in walk_with_context(source, project):
            if not (
                isinstance(node, ast.Compare)
                and len(node.ops) == 1
                and isinstance(node.ops[0], ast.In | ast.NotIn)
                and const_str(node.left)
                and isinstance(node.comparators[0], ast.Attribute)
                and node.comparators[0].attr == "_fields"
            ):
                continue
            name = const_str(node.left)
            receiver = node.comparators[0].value
            model = resolve_model(receiver, ctx.model, ctx.locals, comodels) or ctx.model
            if not model:
                continue
            declared = project.fields_of(model, addons).get(name)
            if declared:
                found.append(
                    f"{ctx.where(node)} in {ctx.qualname}: {name!r} in "
                    f"{ast.unparse(receiver)}._fields, but {model}.{name} is declared "
                    f"by this addon or its dependencies ({', '.join(declared)})"
                )
    return sorted(found)


def test_fields_presence_checks_only_for_optional_fields():
    found = find_needless_field_checks(repo_project())
    assert not found, report(
        "Checks for fields that are always there (keep `in _fields` for fields "
        "of optional Odoo modules, e.g. sale_stock's delivery_status)",
        found,
    )


# ----------------------------------------------------------------------
# Self-tests: each check on synthetic sources
# ----------------------------------------------------------------------
HEADER = "from odoo import api, fields, models\n\n\n"


def project(files, depends=("mail",), addon="omnichannel_cc", others=None):
    spec = {addon: {"depends": list(depends), "files": files}}
    spec.update(others or {})
    return project_from_sources(spec)


def test_selftest_double_extension():
    found = find_double_extensions(
        project(
            {
                "models/omnichannel_interaction.py": HEADER + "class Interaction(models.Model):\n"
                '    _name = "omnichannel.interaction"\n'
                '    _inherit = ["mail.thread"]\n',
                "models/omnichannel_interaction_chat.py": HEADER
                + "class InteractionChat(models.Model):\n"
                '    _inherit = "omnichannel.interaction"\n',
                "models/omnichannel_interaction_sms.py": HEADER
                + "class InteractionSms(models.Model):\n"
                '    _inherit = ["omnichannel.interaction", "mail.activity.mixin"]\n',
                "models/mixin.py": HEADER + "class Mixin(models.AbstractModel):\n"
                '    _name = "omnichannel.mixin"\n\n\n'
                "class MixinAgain(models.AbstractModel):\n"
                '    _inherit = "omnichannel.mixin"\n',
            }
        )
    )
    assert len(found) == 2, found
    assert found[0].startswith("omnichannel_cc: omnichannel.interaction in 3 classes")
    assert "omnichannel_cc/models/omnichannel_interaction_chat.py:4 InteractionChat" in found[0]
    assert found[1].startswith("omnichannel_cc: omnichannel.mixin in 2 classes")


def test_selftest_single_extension_is_clean():
    found = find_double_extensions(
        project(
            {
                # _name X with _inherit [X, mixin]: one declaration
                "models/omnichannel_channel.py": HEADER + "class Channel(models.Model):\n"
                '    _name = "omnichannel.channel"\n'
                '    _inherit = ["omnichannel.channel", "mail.alias.mixin.optional"]\n',
                # a new model with a prototype extends nothing
                "models/omnichannel_channel_copy.py": HEADER + "class Copy(models.Model):\n"
                '    _name = "omnichannel.channel.copy"\n'
                '    _inherit = "omnichannel.channel"\n',
                "models/res_partner.py": HEADER + "class ResPartner(models.Model):\n"
                '    _inherit = "res.partner"\n',
                # the addon's tests are not its code
                "tests/test_x.py": HEADER + "class Fake(models.Model):\n"
                '    _inherit = "res.partner"\n',
            },
            # another addon may extend the same model once more
            others={
                "omnichannel_cc_sms": {
                    "depends": ["omnichannel_cc"],
                    "files": {
                        "models/res_partner.py": HEADER + "class ResPartner(models.Model):\n"
                        '    _inherit = "res.partner"\n'
                    },
                }
            },
        )
    )
    assert found == []


def test_selftest_double_field():
    found = find_double_fields(
        project(
            {
                "models/a.py": HEADER + "class A(models.Model):\n"
                '    _inherit = "res.partner"\n'
                "    x_level = fields.Integer()\n"
                "    x_note = fields.Char()\n"
                "    x_note = fields.Text()\n",
                "models/b.py": "from odoo import models\nfrom odoo import fields as f\n\n\n"
                "class B(models.Model):\n"
                '    _inherit = "res.partner"\n'
                '    x_level = f.Integer(string="Level")\n'
                "    x_other = f.Char()\n",
                "models/c.py": HEADER + "class C(models.Model):\n"
                '    _name = "omnichannel.thing"\n'
                "    x_level = fields.Integer()\n",  # another model: fine
            }
        )
    )
    a, b = "omnichannel_cc/models/a.py", "omnichannel_cc/models/b.py"
    assert found == [
        f"omnichannel_cc: res.partner.x_level declared 2 times: {a}:6 A; {b}:7 B",
        f"omnichannel_cc: res.partner.x_note declared 2 times: {a}:7 A; {a}:8 A",
    ]


def test_selftest_single_fields_are_clean():
    found = find_double_fields(
        project(
            {
                "models/a.py": HEADER + "class A(models.Model):\n"
                '    _inherit = "res.partner"\n'
                "    x_level = fields.Integer()\n"
                "    x_when = fields.Datetime(default=fields.Datetime.now)\n"
                "    def f(self):\n"
                "        x_level = fields.Integer()\n",  # not a class attribute
            },
            others={
                "omnichannel_cc_sms": {
                    "depends": ["omnichannel_cc"],
                    "files": {
                        "models/res_partner.py": HEADER + "class ResPartner(models.Model):\n"
                        '    _inherit = "res.partner"\n'
                        "    x_level = fields.Integer(required=True)\n"
                    },
                }
            },
        )
    )
    assert found == []


STATEFUL = (
    HEADER + "class Interaction(models.Model):\n"
    '    _name = "omnichannel.interaction"\n'
    '    offer_ids = fields.One2many("omnichannel.offer", "interaction_id")\n'
    '    agent_id = fields.Many2one("omnichannel.agent")\n'
    "\n"
    "    def _set_state(self, new_state, **vals):\n"
    "        self.write(dict(vals, state=new_state))\n"
    '        self.env.cr.execute("UPDATE omnichannel_interaction SET state = %s", [new_state])\n'
    "\n"
    "    @api.model_create_multi\n"
    "    def create(self, vals_list):\n"
    "        for vals in vals_list:\n"
    '            vals["state"] = vals.get("state") or "new"\n'
    "        return super().create(vals_list)\n"
)


def state_lines(files, others=None):
    return [line for _key, line in find_state_writes(project(files, others=others))]


def test_selftest_state_machine_is_clean():
    offer = (
        HEADER + "class Offer(models.Model):\n"
        '    _name = "omnichannel.offer"\n'
        '    interaction_id = fields.Many2one("omnichannel.interaction")\n'
        "\n"
        "    def _set_state(self, state):\n"
        '        self.write({"state": state})\n'
        "\n"
        "    def action_accept(self):\n"
        '        self._set_state("accepted")\n'
        '        self.interaction_id._set_state("active")\n'
        "\n"
        "    def write(self, vals):\n"
        '        if vals.get("state") == "pending":\n'
        '            vals["date_next"] = 1\n'
        "        return super().write(vals)\n"
    )
    other = (
        HEADER + "class Agent(models.Model):\n"
        '    _name = "omnichannel.agent"\n'
        "    def _write_state(self, state):\n"
        '        self.write({"state": "wrapup"})\n'  # an agent state: not ours to judge
        '        self.env.cr.execute("UPDATE omnichannel_agent SET state = %s", [state])\n'
        "        for agent in self:\n"
        '            agent.state = "busy"\n'
        "\n\n"
        "class Wizard(models.TransientModel):\n"
        '    _name = "omnichannel.fax.send"\n'
        "    def action_send(self):\n"
        '        self.env["omnichannel.interaction"].create({"state": "done"})\n'
        '        vals = {"name": "x"}\n'
        '        vals.update({"state": "queued"})\n'  # a dict, only created from
        '        self.env["omnichannel.interaction"].create(vals)\n'
        '        self.env["omnichannel.case"].write({"state": "done"})\n'
        '        self.env.cr.execute("SELECT id FROM omnichannel_interaction WHERE state = %s")\n'
        "\n"
        "    def _update(self):\n"
        '        """Not SQL: UPDATE omnichannel_interaction SET state = 1."""\n'
    )
    files = {
        "models/omnichannel_interaction.py": STATEFUL,
        "models/omnichannel_offer.py": offer,
        "models/other.py": other,
    }
    assert state_lines(files) == []


def test_selftest_state_written_elsewhere():
    interaction_more = (
        HEADER + "class InteractionVoip(models.Model):\n"
        '    _inherit = "omnichannel.interaction"\n'
        "\n"
        "    def _voip_hangup(self):\n"
        '        vals = {"state": "wrapup", "date_ended": 1}\n'  # line 8
        "        self.write(vals)\n"  # 9
        "        for rec in self.sudo():\n"
        '            rec.write({"state": "missed"})\n'  # 11
        '            rec.state = "done"\n'  # 12
        '        self.offer_ids.write({"state": "cancelled"})\n'  # 13
        '        self.agent_id.write({"state": "busy"})\n'  # 14: an agent: fine
        "\n"
        "    def write(self, vals):\n"
        '        if vals.get("hangup"):\n'
        '            vals["state"] = "wrapup"\n'  # 18
        "        return super().write(vals)\n"
    )
    sql = (
        HEADER + "class Queue(models.Model):\n"
        '    _name = "omnichannel.queue"\n'
        "\n"
        "    def _offer(self, interaction):\n"
        "        self.env.cr.execute(\n"
        '            """UPDATE omnichannel_interaction\n'  # 9
        "                  SET agent_id = %s, state = 'offered'\n"  # 10
        '                WHERE id = %s"""\n'
        "        )\n"
        "        self.env.cr.execute(\n"
        "            f\"UPDATE {interaction._table} SET state = 'x'\"\n"  # 14
        "        )\n"
        '        interaction.write({"state": "queued"})\n'  # 16: unknown target, interaction state
        '        interaction.write({"state": "done"})\n'  # 17: unknown target, shared state: fine
        "\n\n"
        "class Callback(models.Model):\n"
        '    _name = "omnichannel.callback"\n'
        '    state = fields.Selection([("pending", "Pending")], ondelete={"x": lambda recs: '
        'recs.write({"state": "pending"})})\n'  # 22
        "\n"
        "    def _claim(self):\n"
        "        self.env.cr.execute(\"UPDATE omnichannel_callback c SET state = 'in_progress'\")\n"
        "        self.env.cr.execute(\"UPDATE omnichannel_offer SET state = 'cancelled'\")\n"
        "\n"
        "    def _set_state(self, state):\n"
        "        # the state method of a call-back does not change offers\n"
        '        self.env["omnichannel.offer"].browse(1).write({"state": "cancelled"})\n'  # 30
    )
    controller = (
        "from odoo import http\n"
        "from odoo.http import request\n\n\n"
        "class Main(http.Controller):\n"
        "    def hook(self, interaction_id):\n"
        '        rec = request.env["omnichannel.interaction"].browse(interaction_id)\n'
        '        rec.write({"state": "done"})\n'  # 8
        "        other = request.get_record()\n"
        '        other.write(dict(state="abandoned"))\n'  # 10
    )
    found = state_lines(
        {
            "models/omnichannel_interaction.py": STATEFUL,
            "models/omnichannel_queue.py": sql,
            "controllers/main.py": controller,
        },
        others={
            "omnichannel_cc_voip": {
                "depends": ["omnichannel_cc"],
                "files": {"models/omnichannel_interaction.py": interaction_more},
            }
        },
    )
    voip = "omnichannel_cc_voip/models/omnichannel_interaction.py:"
    queue = "omnichannel_cc/models/omnichannel_queue.py:"
    main = "omnichannel_cc/controllers/main.py:"
    interaction_method = "omnichannel.interaction._set_state()"
    interaction = f"the state of omnichannel.interaction outside {interaction_method}"
    offer = "the state of omnichannel.offer outside omnichannel.offer._set_state()"
    callback = "the state of omnichannel.callback outside omnichannel.callback._set_state()"
    assert found == [
        f"{main}8 in Main.hook: write() sets {interaction}",
        f"{main}10 in Main.hook: write() sets the interaction state 'abandoned' outside "
        + interaction_method,
        f"{queue}10 in Queue._offer: SQL `omnichannel_interaction SET state` sets {interaction}",
        f"{queue}14 in Queue._offer: SQL `? SET state` sets a state outside a state method",
        f"{queue}16 in Queue._offer: write() sets the interaction state 'queued' outside "
        + interaction_method,
        f"{queue}22 in Callback.<lambda>: write() sets a state in a class of "
        + "omnichannel.callback outside _set_state()",
        f"{queue}25 in Callback._claim: SQL `omnichannel_callback SET state` sets {callback}",
        f"{queue}26 in Callback._claim: SQL `omnichannel_offer SET state` sets {offer}",
        f"{queue}30 in Callback._set_state: write() sets {offer}",
        f"{voip}9 in InteractionVoip._voip_hangup: write() sets {interaction}",
        f"{voip}11 in InteractionVoip._voip_hangup: write() sets {interaction}",
        f"{voip}12 in InteractionVoip._voip_hangup: .state = ... sets {interaction}",
        f"{voip}13 in InteractionVoip._voip_hangup: write() sets {offer}",
        f"{voip}18 in InteractionVoip.write: write() of omnichannel.interaction changes "
        + "vals['state']: state changes go through _set_state()",
    ]


def test_selftest_state_allowlist():
    files = {
        "models/omnichannel_interaction.py": STATEFUL + "\n    def _reset(self):\n"
        '        self.write({"state": "new"})\n'
    }
    found = find_state_writes(project(files))
    key = "omnichannel_cc/models/omnichannel_interaction.py::Interaction._reset"
    assert [k for k, _line in found] == [key]
    assert apply_allowlist(found, {}) == ([found[0][1]], [])
    assert apply_allowlist(found, {key: "why"}) == ([], [])
    gone = "omnichannel_cc/models/omnichannel_interaction.py::Interaction._gone"
    assert apply_allowlist(found, {key: "why", gone: "why"}) == ([], [gone])


def test_selftest_sql_detection():
    assert sql_state_updates("UPDATE omnichannel_offer SET state = 'x' WHERE state = 'y'") == [
        ("omnichannel_offer", 29)
    ]
    assert sql_state_updates("update public.omnichannel_callback AS c set a = 1,\n state=2") == [
        ("omnichannel_callback", 52)
    ]
    # state only in the WHERE clause, or another column ending in "state"
    assert sql_state_updates("UPDATE omnichannel_interaction SET a = 1 WHERE state = 'q'") == []
    assert sql_state_updates("UPDATE mail_message SET omnichannel_social_state = 'x'") == []
    assert sql_state_updates("... SET state = %s") == [(None, 8)]


FIELD_CHECKS = HEADER + (
    "class Interaction(models.Model):\n"
    '    _name = "omnichannel.interaction"\n'
    '    _inherit = ["omnichannel.mixin"]\n'
    '    channel_id = fields.Many2one("omnichannel.channel")\n'
    "\n\n"
    "class Mixin(models.AbstractModel):\n"
    '    _name = "omnichannel.mixin"\n'
    "    mixin_note = fields.Char()\n"
)


def test_selftest_needless_field_checks():
    chat = HEADER + (
        "class InteractionChat(models.Model):\n"
        '    _inherit = "omnichannel.interaction"\n'
        '    discuss_channel_id = fields.Many2one("discuss.channel")\n'
        "\n"
        "    def _panel(self):\n"
        "        for rec in self:\n"
        '            if "discuss_channel_id" in rec._fields:\n'  # 10
        "                pass\n"
        '        if "mixin_note" not in self._fields:\n'  # 12: from our own mixin
        "            pass\n"
        '        Interaction = self.env["omnichannel.interaction"].sudo()\n'
        '        return "channel_id" in Interaction._fields\n'  # 15: from the dependency
    )
    found = find_needless_field_checks(
        project(
            {"models/omnichannel_interaction.py": FIELD_CHECKS},
            others={
                "omnichannel_cc_chat": {
                    "depends": ["omnichannel_cc", "im_livechat"],
                    "files": {"models/omnichannel_interaction.py": chat},
                }
            },
        )
    )
    path = "omnichannel_cc_chat/models/omnichannel_interaction.py"
    assert [line.split(",")[0] for line in found] == [
        f"{path}:10 in InteractionChat._panel: 'discuss_channel_id' in rec._fields",
        f"{path}:12 in InteractionChat._panel: 'mixin_note' in self._fields",
        f"{path}:15 in InteractionChat._panel: 'channel_id' in Interaction._fields",
    ]
    assert "omnichannel_cc/models/omnichannel_interaction.py:7" in found[2]


def test_selftest_optional_field_checks_are_clean():
    partner = HEADER + (
        "class ResPartner(models.Model):\n"
        '    _inherit = "res.partner"\n'
        "\n"
        "    def _orders(self):\n"
        '        SaleOrder = self.env["sale.order"]\n'
        '        has_delivery = "delivery_status" in SaleOrder._fields\n'  # sale_stock's
        '        has_sms = "sms_note" in self.env["omnichannel.interaction"]._fields\n'
        "        return has_delivery, has_sms\n"
    )
    sms = HEADER + (
        "class InteractionSms(models.Model):\n"
        '    _inherit = "omnichannel.interaction"\n'
        "    sms_note = fields.Char()\n"
    )
    found = find_needless_field_checks(
        project(
            {"models/omnichannel_interaction.py": FIELD_CHECKS, "models/res_partner.py": partner},
            # sms_note comes from an addon omnichannel_cc does not depend on
            others={
                "omnichannel_cc_sms": {
                    "depends": ["omnichannel_cc", "sms"],
                    "files": {"models/omnichannel_interaction.py": sms},
                }
            },
        )
    )
    assert found == []
