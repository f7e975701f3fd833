from odoo import fields, models


class SmsTracker(models.Model):
    """The gateway's id of an SMS, kept on its tracker: Odoo deletes sent
    ``sms.sms`` records, the tracker (and the chatter's notification it
    updates) stays for the delivery reports that come later."""

    _inherit = "sms.tracker"

    omnichannel_channel_id = fields.Many2one(
        "omnichannel.channel",
        string="SMS channel",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    omnichannel_provider_id = fields.Char(
        string="Gateway message id", index="btree_not_null", readonly=True
    )
