from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon


class WebformCommon(OmnichannelCommon):
    """The core's queues, agents and customers, and one web form on the claims queue."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel_webform = cls.env["omnichannel.channel"].create(
            {
                "name": "Claim form",
                "channel_type": "webform",
                "address": "claim-form-test",
                "queue_id": cls.queue_claims.id,
            }
        )
        cls.Interaction = cls.env["omnichannel.interaction"]

    def _stored(self):
        """What a refused submission must not create."""
        return (
            self.Interaction.search_count([("channel_id", "=", self.channel_webform.id)]),
            self.env["res.partner"].with_context(active_test=False).search_count([]),
            self.env["ir.attachment"].search_count([("res_model", "=", "omnichannel.interaction")]),
            self.env["omnichannel.webform.submission"].search_count([]),
            self.env["omnichannel.callback"].search_count([]),
        )

    def _interactions(self):
        return self.Interaction.search([("channel_id", "=", self.channel_webform.id)])
