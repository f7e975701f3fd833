import re

from odoo.tests import TransactionCase, new_test_user, tagged

from odoo.addons.spreadsheet.utils.validate_data import odoo_view_links

from .common import (
    FUNCTIONS_USED,
    SAMPLE_FILE,
    data_sources,
    formula_functions,
    load_json,
    odoo_charts,
)

NUMERIC = ("integer", "float", "monetary")
PIVOT_FORMULA_RE = re.compile(r'PIVOT\.(VALUE|HEADER)\((\d+),"([^"]*)"(?:,"([^"]*)")?')


@tagged("post_install", "-at_install")
class TestDashboardDefinition(TransactionCase):
    """The spreadsheet names only models, fields and cells that exist, with
    the right types, and only supervisors and managers see it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = load_json()
        cls.dashboard = cls.env.ref("omnichannel_cc_dashboard.spreadsheet_dashboard_contact_center")
        group = "omnichannel_cc.group_omnichannel_"
        cls.agent = new_test_user(cls.env, "dash_agent", groups=group + "agent")
        cls.supervisor = new_test_user(cls.env, "dash_supervisor", groups=group + "supervisor")
        cls.manager = new_test_user(cls.env, "dash_manager", groups=group + "manager")

    def _field(self, model, chain):
        """The last field of a dotted chain, checked link by link."""
        field = None
        for name in chain.split("."):
            self.assertIn(name, self.env[model]._fields, f"{model} has no field {name}")
            field = self.env[model]._fields[name]
            model = field.comodel_name or model
        return field

    def test_record(self):
        dashboard = self.dashboard
        self.assertTrue(dashboard.is_published)
        self.assertEqual(dashboard.name, "Contact Center")
        self.assertEqual(
            dashboard.group_ids, self.env.ref("omnichannel_cc.group_omnichannel_supervisor")
        )
        self.assertEqual(dashboard.main_data_model_ids.model, "omnichannel.interaction.report")
        self.assertEqual(dashboard.dashboard_group_id.name, "Contact Center")
        # the stored spreadsheet is the file's
        self.assertEqual(dashboard.spreadsheet_data and load_json(), self.data)
        self.assertEqual(self.data["version"], 21)

    def test_data_sources_name_real_fields(self):
        filters = {f["id"]: f for f in self.data["globalFilters"]}
        self.assertEqual(
            sorted((f["type"], f["label"]) for f in filters.values()),
            [
                ("date", "Period"),
                ("relation", "Channel"),
                ("relation", "Company"),
                ("relation", "Queue"),
            ],
        )
        sources = data_sources(self.data)
        self.assertEqual(
            sorted({model for _kind, _id, model, *_rest in sources}),
            [
                "omnichannel.agent.state.report",
                "omnichannel.campaign.report",
                "omnichannel.interaction.report",
                "omnichannel.survey.report",
            ],
        )
        for kind, source_id, model, domain, matching, measures, groupbys in sources:
            where = f"{kind} {source_id} on {model}"
            self.assertIn(model, self.env, where)
            Model = self.env[model]
            for measure in measures:
                field = self._field(model, measure)
                self.assertIn(field.type, NUMERIC, f"{where}: measure {measure}")
                self.assertTrue(field.aggregator, f"{where}: measure {measure} has no aggregator")
            for groupby in groupbys:
                field = self._field(model, groupby)
                self.assertTrue(field.store and field.column_type, f"{where}: {groupby}")
            for leaf in domain:
                self._field(model, leaf[0])
            # the domain is one Odoo accepts
            Model.search_count(domain)
            # every global filter says how it applies here
            self.assertEqual(set(matching), set(filters), f"{where}: fieldMatching")
            for filter_id, match in matching.items():
                global_filter = filters[filter_id]
                if not match:
                    # only agent time has no queue or channel
                    self.assertEqual(model, "omnichannel.agent.state.report", where)
                    self.assertIn(global_filter["label"], ("Queue", "Channel"), where)
                    continue
                field = self._field(model, match["chain"])
                self.assertEqual(field.type, match["type"], f"{where}: {match}")
                if global_filter["type"] == "relation":
                    self.assertEqual(field.comodel_name, global_filter["modelName"], where)
                else:
                    self.assertIn(field.type, ("date", "datetime"), where)
                    self.assertIn(match.get("offset", 0), (0, -1), where)
        for link in odoo_view_links(self.data):
            action = link["action"]
            for leaf in action["domain"]:
                self._field(action["modelName"], leaf[0])
            context = action["context"]
            for name in context.get("pivot_measures", []) + [context.get("graph_measure")]:
                if name:
                    self.assertIn(self._field(action["modelName"], name).type, NUMERIC)
            for name in (
                context.get("pivot_row_groupby", [])
                + context.get("pivot_column_groupby", [])
                + context.get("graph_groupbys", [])
            ):
                self._field(action["modelName"], name.split(":")[0])

    def test_formulas_name_real_pivots_and_measures(self):
        pivots = self.data["pivots"]
        used = set()
        for sheet in self.data["sheets"]:
            for ref, cell in sheet["cells"].items():
                content = cell.get("content", "")
                if not content.startswith("="):
                    continue
                self.assertLessEqual(formula_functions(content), FUNCTIONS_USED, ref)
                for kind, pivot_id, first, second in PIVOT_FORMULA_RE.findall(content):
                    self.assertIn(pivot_id, pivots, f"{sheet['name']}!{ref}")
                    pivot = pivots[pivot_id]
                    used.add(pivot_id)
                    rows = {f"#{row['fieldName']}" for row in pivot["rows"]}
                    if kind == "VALUE":
                        self.assertIn(first, {m["id"] for m in pivot["measures"]}, ref)
                        if second:
                            self.assertIn(second, rows, ref)
                    else:
                        self.assertIn(first, rows, ref)
        self.assertEqual(used, set(pivots), "every pivot is shown somewhere")
        self.assertEqual(self.data["pivotNextId"], len(pivots) + 1)
        # scorecards and gauges show Data cells that hold a formula
        data_cells = next(s for s in self.data["sheets"] if s["name"] == "Data")["cells"]
        for sheet in self.data["sheets"]:
            for figure in sheet["figures"]:
                chart = figure["data"]
                for key in ("keyValue", "baseline"):
                    if key in chart:
                        sheet_name, ref = chart[key].split("!")
                        self.assertEqual(sheet_name, "Data")
                        self.assertTrue(data_cells[ref]["content"].startswith("="), ref)

    def test_menus_and_sample(self):
        for xmlid in self.data["chartOdooMenusReferences"].values():
            self.assertTrue(self.env.ref(xmlid).action, xmlid)
        self.assertEqual(
            set(self.data["chartOdooMenusReferences"]), {c["id"] for c in odoo_charts(self.data)}
        )
        sample = load_json(SAMPLE_FILE)
        self.assertFalse(sample["pivots"] or sample["globalFilters"] or odoo_charts(sample))
        self.assertEqual(self.dashboard.sample_dashboard_file_path, SAMPLE_FILE)
        # a supervisor whose queues have no contact yet gets the sample
        result = self.dashboard.with_user(self.supervisor).get_readonly_dashboard()
        self.assertEqual(result, {"snapshot": sample, "is_sample": True})

    def test_visible_to_supervisors_and_managers_only(self):
        Dashboard = self.env["spreadsheet.dashboard"]
        for user, visible in ((self.agent, False), (self.supervisor, True), (self.manager, True)):
            with self.subTest(user=user.login):
                # each user's request starts with an empty cache (x2many values are shared)
                self.env.invalidate_all()
                found = Dashboard.with_user(user).search([("id", "=", self.dashboard.id)])
                self.assertEqual(bool(found), visible)
                # what the Dashboards app loads (dashboard_loader.js)
                groups = (
                    self.env["spreadsheet.dashboard.group"]
                    .with_user(user)
                    .web_search_read(
                        [("published_dashboard_ids", "!=", False)],
                        {"published_dashboard_ids": {"fields": {"name": {}}}},
                    )["records"]
                )
                listed = {d["id"] for g in groups for d in g["published_dashboard_ids"]}
                self.assertEqual(self.dashboard.id in listed, visible)
