"""Click-to-dial buttons on the records agents call from."""

from odoo import _, models
from odoo.exceptions import UserError


def _dial(record, partner, **links):
    """Call ``partner`` about ``record``, which the user must be able to read."""
    record.ensure_one()
    record.check_access("read")
    return record.env["omnichannel.interaction"]._voip_dial(partner, links=links)


class ResPartner(models.Model):
    _inherit = "res.partner"

    def action_voip_dial(self):
        return _dial(self, self)


class AccountMove(models.Model):
    _inherit = "account.move"

    def action_voip_dial(self):
        return _dial(self, self.partner_id, invoice_id=self.id)


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def action_voip_dial(self):
        return _dial(self, self.partner_id, sale_order_id=self.id)


class OmnichannelCase(models.Model):
    _inherit = "omnichannel.case"

    def action_voip_dial(self):
        if len(self) == 1 and not self.partner_id:
            raise UserError(_("Case %(name)s has no customer to call.", name=self.display_name))
        return _dial(self, self.partner_id, case_id=self.id)
