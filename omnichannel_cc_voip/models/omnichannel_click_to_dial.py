"""Click-to-dial buttons on the records agents call from."""

from odoo import _, models
from odoo.exceptions import UserError


class ResPartner(models.Model):
    _inherit = "res.partner"

    def action_voip_dial(self):
        self.ensure_one()
        self.check_access("read")
        return self.env["omnichannel.interaction"]._voip_dial(self)


class AccountMove(models.Model):
    _inherit = "account.move"

    def action_voip_dial(self):
        self.ensure_one()
        self.check_access("read")
        return self.env["omnichannel.interaction"]._voip_dial(
            self.partner_id, links={"invoice_id": self.id}
        )


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def action_voip_dial(self):
        self.ensure_one()
        self.check_access("read")
        return self.env["omnichannel.interaction"]._voip_dial(
            self.partner_id, links={"sale_order_id": self.id}
        )


class OmnichannelCase(models.Model):
    _inherit = "omnichannel.case"

    def action_voip_dial(self):
        self.ensure_one()
        self.check_access("read")
        if not self.partner_id:
            raise UserError(_("Case %(name)s has no customer to call.", name=self.display_name))
        return self.env["omnichannel.interaction"]._voip_dial(
            self.partner_id, links={"case_id": self.id}
        )
