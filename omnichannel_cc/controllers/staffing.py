"""The staffing plan as a spreadsheet: one click in the plan's form."""

from odoo import http
from odoo.http import content_disposition, request

from ..models.omnichannel_staffing_plan import XLSX_MIMETYPE


class OmnichannelStaffingController(http.Controller):
    @http.route(
        "/omnichannel_cc/staffing_plan/<int:plan_id>/xlsx",
        type="http",
        auth="user",
        methods=["GET"],
        readonly=True,
    )
    def staffing_plan_xlsx(self, plan_id, **kwargs):
        plan = request.env["omnichannel.staffing.plan"].browse(plan_id).exists()
        if not plan:
            raise request.not_found()
        # the model checks the user may read the plan (a refusal answers 403)
        content, filename = plan._export_xlsx()
        return request.make_response(
            content,
            headers=[
                ("Content-Type", XLSX_MIMETYPE),
                ("Content-Disposition", content_disposition(filename)),
                ("Content-Length", len(content)),
            ],
        )
