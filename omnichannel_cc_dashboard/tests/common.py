"""Read the dashboard's spreadsheet and evaluate it as the Dashboards app does.

The pivots are read with ``read_group`` exactly as the spreadsheet's pivot
data source asks the server (``spreadsheet/static/src/pivot/pivot_model.js``
through ``web/views/pivot/pivot_model.js``: the pivot's domain and the
global filters' domains, its context, measures by field name, ``lazy``
off), and the cells are evaluated by a small interpreter of the formulas the
dashboard uses (arithmetic, ``IFERROR``, ``_t``, ``PIVOT.VALUE``,
``PIVOT.HEADER``, ``IF`` with ``=`` and cell references).
"""

import calendar
import json
import re
from datetime import date, datetime, time, timedelta

import pytz

from odoo.tools import SQL, file_open
from odoo.tools.misc import OrderedSet

DASHBOARD_FILE = "omnichannel_cc_dashboard/data/files/contact_center_dashboard.json"
SAMPLE_FILE = "omnichannel_cc_dashboard/data/files/contact_center_sample_dashboard.json"
MONTHS = [calendar.month_name[m].lower() for m in range(1, 13)]


def load_json(path=DASHBOARD_FILE):
    with file_open(path) as f:
        return json.load(f)


def make_contact(env, channel, queue, queued, state, wait=0, talk=0, wrap=0, agent=None, **extra):
    """An interaction with known times (seconds), created at ``queued``, as
    omnichannel_cc's report tests make them: ``done`` (answered after
    ``wait``) or ``abandoned`` (after ``wait``)."""
    vals = {
        "channel_id": channel.id,
        "queue_id": queue.id,
        "state": state,
        "date_queued": queued,
        "agent_id": agent.id if agent else False,
        **extra,
    }
    ended = queued + timedelta(seconds=wait)
    if state == "done":
        answered, ended = ended, ended + timedelta(seconds=talk)
        vals.update(
            date_answered=answered,
            date_ended=ended,
            date_closed=ended + timedelta(seconds=wrap),
        )
    else:
        vals.update(date_ended=ended, date_closed=ended, end_reason="customer")
    interaction = env["omnichannel.interaction"].create(vals)
    interaction.flush_recordset()
    env.cr.execute(
        SQL(
            "UPDATE omnichannel_interaction SET create_date = %s WHERE id = %s",
            queued,
            interaction.id,
        )
    )
    interaction.invalidate_recordset(["create_date"])
    return interaction


def odoo_charts(data):
    return [
        dict(figure["data"], id=figure["id"])
        for sheet in data["sheets"]
        for figure in sheet["figures"]
        if figure["tag"] == "chart" and figure["data"]["type"].startswith("odoo_")
    ]


# ----------------------------------------------------------------------
# Global filters -> domains (spreadsheet/static/src/global_filters/)
# ----------------------------------------------------------------------
def month_bounds(year, month, offset=0):
    month_index = year * 12 + (month - 1) + offset
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def filter_domain(global_filter, matching, value, tz="UTC"):
    """The domain a global filter adds to one data source.

    ``value``: for a fixed-period date filter ``{"year": 2025, "period":
    "march"}``; for a relation filter a list of ids (empty: no domain)."""
    chain = matching.get("chain")
    if not chain or not value:
        return []
    if global_filter["type"] == "relation":
        return [(chain, "in", list(value))]
    assert global_filter["type"] == "date" and global_filter["rangeType"] == "fixedPeriod"
    first, last = month_bounds(
        value["year"], MONTHS.index(value["period"]) + 1, matching.get("offset", 0)
    )
    if matching["type"] == "date":
        return [(chain, ">=", str(first)), (chain, "<=", str(last))]
    zone = pytz.timezone(tz)

    def to_utc(day, at):
        local = zone.localize(datetime.combine(day, at))
        return local.astimezone(pytz.utc).strftime("%Y-%m-%d %H:%M:%S")

    return [(chain, ">=", to_utc(first, time.min)), (chain, "<=", to_utc(last, time(23, 59, 59)))]


# ----------------------------------------------------------------------
# Pivots
# ----------------------------------------------------------------------
def measure_spec(measure):
    """What the pivot model asks read_group for (``_getMeasureSpecs``)."""
    name, aggregator = measure["fieldName"], measure.get("aggregator")
    if name == "__count":
        return "__count"
    if aggregator:
        return f"{name}_{aggregator}_id:{aggregator}({name})"
    return name


def measure_key(measure):
    name, aggregator = measure["fieldName"], measure.get("aggregator")
    return f"{name}_{aggregator}_id" if aggregator and name != "__count" else name


class EvaluatedPivot:
    """One pivot's data, fetched as the spreadsheet fetches it."""

    def __init__(self, env, definition, extra_domain):
        self.definition = definition
        Model = env[definition["model"]].with_context(**definition["context"])
        self.domain = [*map(tuple, definition["domain"]), *extra_domain]
        fields = [measure_spec(m) for m in definition["measures"]]
        self.measures = {m["id"]: measure_key(m) for m in definition["measures"]}
        assert not definition["columns"], "column groupbys are not used by this dashboard"
        self.row_field = None
        [total] = Model.read_group(self.domain, fields, [], lazy=False)
        self.total = total
        self.rows = []
        if definition["rows"]:
            assert len(definition["rows"]) == 1, "one row groupby per pivot"
            self.row_field = definition["rows"][0]["fieldName"]
            self.rows = Model.read_group(self.domain, fields, [self.row_field], lazy=False)
            sort = definition.get("sortedColumn")
            if sort:
                key = self.measures[sort["measure"]]
                self.rows.sort(
                    key=lambda group: (group[key] is not None, group[key] or 0),
                    reverse=sort["order"] == "desc",
                )

    def value(self, measure_id, *args):
        key = self.measures[measure_id]
        if not args:
            return blank(self.total[key])
        field, position = args
        assert field == f"#{self.row_field}", f"{field} is no row of {self.definition['name']}"
        position = int(position)
        if position > len(self.rows):
            return ""
        return blank(self.rows[position - 1][key])

    def header(self, field, position):
        assert field == f"#{self.row_field}"
        position = int(position)
        if position > len(self.rows):
            return ""
        group_value = self.rows[position - 1][self.row_field]
        if not group_value:
            return "None"
        return group_value[1] if isinstance(group_value, tuple) else group_value


def blank(value):
    """An empty cell for what read_group gives over no row (None, False), as
    ``OdooPivotModel.getPivotCellValue`` does; 0 stays 0."""
    if value is None or value is False:
        return ""
    return value


# ----------------------------------------------------------------------
# Formulas
# ----------------------------------------------------------------------
class FormulaError(Exception):
    pass


TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>"[^"]*")
      | (?P<ref>(?:[A-Za-z_]+!)?[A-Z]{1,2}[0-9]+)(?![\w.(])
      | (?P<func>[A-Za-z_][A-Za-z0-9_.]*)(?=\()
      | (?P<op>[-+*/(),=])
    )""",
    re.VERBOSE,
)
FUNCTIONS_USED = {"PIVOT.VALUE", "PIVOT.HEADER", "IF", "IFERROR", "_t"}


def tokenize(formula):
    tokens, position = [], 0
    while position < len(formula):
        match = TOKEN_RE.match(formula, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot read {formula[position:]!r} in {formula!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def formula_functions(formula):
    return {value for kind, value in tokenize(formula.lstrip("=")) if kind == "func"}


def number(value):
    if isinstance(value, FormulaError):
        raise value
    if value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormulaError(f"#VALUE! {value!r}")
    return value


class Workbook:
    """Evaluates the cells of a spreadsheet whose pivots are given."""

    def __init__(self, data, pivots):
        self.sheets = {sheet["name"]: sheet for sheet in data["sheets"]}
        self.pivots = pivots

    def cell(self, ref, sheet="Dashboard"):
        if "!" in ref:
            sheet, ref = ref.split("!")
        content = self.sheets[sheet]["cells"].get(ref, {}).get("content", "")
        if not content.startswith("="):
            try:
                return float(content)
            except ValueError:
                return content
        parser = _Parser(tokenize(content[1:]), self, sheet)
        try:
            result = parser.expression()
            assert parser.done(), f"unread tokens in {content!r}"
            return result
        except FormulaError as error:
            return error


class _Parser:
    def __init__(self, tokens, workbook, sheet):
        self.tokens, self.position = tokens, 0
        self.workbook, self.sheet = workbook, sheet

    def done(self):
        return self.position == len(self.tokens)

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else (None, None)

    def take(self, value=None):
        token = self.peek()
        assert value is None or token[1] == value, f"expected {value}, got {token}"
        self.position += 1
        return token

    def expression(self):
        left = self.sum()
        while self.peek()[1] == "=":
            self.take()
            right = self.sum()
            if isinstance(left, FormulaError) or isinstance(right, FormulaError):
                raise left if isinstance(left, FormulaError) else right
            left = left == right
        return left

    def sum(self):
        left = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            right = self.term()
            left = number(left) + number(right) if op == "+" else number(left) - number(right)
        return left

    def term(self):
        left = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            right = self.unary()
            if op == "*":
                left = number(left) * number(right)
            elif number(right) == 0:
                raise FormulaError("#DIV/0!")
            else:
                left = number(left) / number(right)
        return left

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return -number(self.unary())
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind == "number":
            return float(value)
        if kind == "string":
            return value[1:-1]
        if kind == "ref":
            return self.workbook.cell(value, sheet=self.sheet)
        if value == "(":
            result = self.expression()
            self.take(")")
            return result
        if kind == "func":
            return self.call(value)
        raise ValueError(f"unexpected {value!r}")

    def arguments(self):
        """Argument sub-parsers, unevaluated (IFERROR evaluates lazily)."""
        self.take("(")
        arguments = []
        while self.peek()[1] != ")":
            start = self.position
            depth = 0
            while depth or self.peek()[1] not in (",", ")"):
                token = self.take()[1]
                depth += {"(": 1, ")": -1}.get(token, 0)
            arguments.append(self.tokens[start : self.position])
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return arguments

    def evaluate(self, tokens):
        parser = _Parser(tokens, self.workbook, self.sheet)
        result = parser.expression()
        assert parser.done()
        return result

    def call(self, name):
        arguments = self.arguments()
        if name == "IF":
            condition = self.evaluate(arguments[0])
            if isinstance(condition, FormulaError):
                raise condition
            return self.evaluate(arguments[1] if condition else arguments[2])
        if name == "IFERROR":
            try:
                result = self.evaluate(arguments[0])
                if isinstance(result, FormulaError):
                    raise result
                return result
            except FormulaError:
                return self.evaluate(arguments[1])
        values = [self.evaluate(argument) for argument in arguments]
        for value in values:
            if isinstance(value, FormulaError):
                raise value
        if name == "_t":
            return values[0]
        if name in ("PIVOT.VALUE", "PIVOT.HEADER"):
            pivot = self.workbook.pivots[str(int(values[0]))]
            if name == "PIVOT.VALUE":
                return pivot.value(*values[1:])
            return pivot.header(*values[1:])
        raise ValueError(f"function {name} is not known to this interpreter")


def data_sources(data):
    """(kind, id, model, domain, fieldMatching, measures, groupbys) of every
    pivot and Odoo chart."""
    sources = []
    for pivot_id, pivot in data["pivots"].items():
        sources.append(
            (
                "pivot",
                pivot_id,
                pivot["model"],
                pivot["domain"],
                pivot["fieldMatching"],
                [m["fieldName"] for m in pivot["measures"]],
                [d["fieldName"] for d in pivot["rows"] + pivot["columns"]],
            )
        )
    for chart in odoo_charts(data):
        groupbys = OrderedSet(chart["metaData"]["groupBy"] + chart["searchParams"]["groupBy"])
        sources.append(
            (
                "chart",
                chart["id"],
                chart["metaData"]["resModel"],
                chart["searchParams"]["domain"],
                chart["fieldMatching"],
                [chart["metaData"]["measure"]],
                [g.split(":")[0] for g in groupbys],
            )
        )
    return sources
