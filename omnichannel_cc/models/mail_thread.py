from odoo import api, models

from ..tools import email_gateway
from .omnichannel_interaction import FINAL_STATES


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    @api.model
    def _message_route_process(self, message, message_dict, routes):
        """Mail for contact center interactions.

        Odoo's parser drops the headers that tell an auto-reply from a human
        (Auto-Submitted, Precedence...) and the fax gateways' X-Fax-From: they
        travel to ``message_new`` in the context. A reply to an interaction
        that is already closed becomes a new contact on the channel (a new
        interaction on the same case) instead of waking a finished one.
        """
        model = "omnichannel.interaction"
        if not any(route[0] == model for route in routes or ()):
            return super()._message_route_process(message, message_dict, routes)
        context = {"omnichannel_mail_headers": email_gateway.kept_headers(message)}
        new_routes = []
        for route in routes:
            target, thread_id, _custom_values, user_id, alias = route
            if target == model and thread_id:
                # sudo: the gateway's user may not read it; only state and channel are read
                interaction = self.env[model].sudo().browse(thread_id).exists()
                if interaction and interaction.state in FINAL_STATES:
                    context["omnichannel_followup_id"] = interaction.id
                    route = (
                        model,
                        False,
                        {"channel_id": interaction.channel_id.id},
                        user_id,
                        alias,
                    )
            new_routes.append(route)
        return super(MailThread, self.with_context(**context))._message_route_process(
            message, message_dict, new_routes
        )
