"""Agents: one becoming available wakes the campaign dialer."""

from odoo import models


class OmnichannelAgent(models.Model):
    _inherit = "omnichannel.agent"

    def _write_state(self, state, **vals):
        was = self.state
        result = super()._write_state(state, **vals)
        if state == "available" and was != "available":
            # sudo: any running automatic campaign, even outside the agent's queues and companies:
            # a free agent wakes the dialer (a cron trigger)
            campaigns = (
                self.env["omnichannel.campaign"]
                .sudo()
                .search(
                    [
                        ("state", "=", "running"),
                        ("dial_mode", "in", ("progressive", "power", "predictive")),
                    ],
                    limit=1,
                )
            )
            campaigns._dialer_trigger()
        return result
