from odoo import fields, models

from .omnichannel_queue import KIND_SELECTION


class OmnichannelCampaign(models.Model):
    _inherit = "omnichannel.campaign"

    satisfaction_kind = fields.Selection(
        KIND_SELECTION,
        string="Satisfaction measure",
        help="Asked after the campaign's interactions instead of their queue's measure "
        "(with the queue's rules). Empty: the queue's.",
    )
