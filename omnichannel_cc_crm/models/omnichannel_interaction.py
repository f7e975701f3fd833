from markupsafe import Markup

from odoo import _, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.omnichannel_cc.models.omnichannel_channel import PHONE_CHANNEL_TYPES

# the disposition outcome that makes the opportunity when the interaction closes
OPPORTUNITY_OUTCOME = "opportunity"


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    # A many2one, as sale_order_id: an interaction leads to at most one
    # opportunity (the disposition makes it "if none yet"), while an
    # opportunity gathers every contact about it (the follow-up calls too).
    lead_id = fields.Many2one(
        "crm.lead",
        string="Opportunity",
        index="btree_not_null",
        ondelete="set null",
        copy=False,
        tracking=True,
    )

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals or "disposition_id" in vals:
            self._untrusted()._crm_opportunity_outcome()
        return result

    # ------------------------------------------------------------------
    # Actions (form button, console quick action, XML-RPC)
    # ------------------------------------------------------------------
    def action_new_opportunity(self):
        """The opportunity of this interaction (made now if there is none
        yet, with its utm, customer and agent's team), as a form action."""
        lead = self._crm_opportunity_checked()
        return {
            "type": "ir.actions.act_window",
            "name": _("Opportunity"),
            "res_model": "crm.lead",
            "res_id": lead.id,
            "views": [[False, "form"]],
            "target": "current",
        }

    def api_create_opportunity(self):
        """XML-RPC: the id of this interaction's opportunity (made if none yet)."""
        return self._crm_opportunity_checked().id

    def _crm_opportunity_checked(self):
        """Checks of the console's quick actions: the agent's own
        interaction, someone to sell to, and the salesman's right to create."""
        self._check_console_own()
        if not self.partner_id and not self.contact_address:
            raise UserError(
                _(
                    "Identify the customer first: %(name)s has neither a customer nor a "
                    "contact address.",
                    name=self.name,
                )
            )
        # sudo: whether a lead is linked, whoever's it is; its id only
        lead = self.sudo().lead_id
        if lead:
            return self.env["crm.lead"].browse(lead.id)
        if not self.env["crm.lead"].has_access("create"):
            raise AccessError(_("Only salespeople may create opportunities."))
        return self._crm_create_opportunity()

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _crm_opportunity_outcome(self):
        """Closed with an "opportunity" disposition: make the opportunity,
        unless one is linked already."""
        # sudo: the state, outcome and link only, whoever closes
        to_create = self.sudo().filtered(
            lambda rec: (
                rec.state == "done"
                and rec.disposition_id.outcome == OPPORTUNITY_OUTCOME
                and not rec.lead_id
            )
        )
        for rec in self.browse(to_create.ids):
            if not self.env["crm.lead"].has_access("create"):
                raise AccessError(
                    _(
                        "Only salespeople may close %(name)s as an opportunity: choose "
                        "another disposition.",
                        name=rec.name,
                    )
                )
            rec._crm_create_opportunity()

    def _crm_create_opportunity(self):
        self.ensure_one()
        return self.env["crm.lead"].create(self._crm_lead_values())

    def _crm_lead_values(self):
        """An opportunity of this contact: its utm, customer (else its
        address), agent and the agent's sales team, and what it was about."""
        self.ensure_one()
        partner = self.partner_id
        agent = self.agent_id
        vals = {
            "type": "opportunity",
            "name": self.subject
            or _(
                "%(customer)s (%(interaction)s)",
                customer=partner.display_name or self.contact_address or "",
                interaction=self.name,
            ),
            "partner_id": partner.id,
            "user_id": agent.id,
            "description": self._crm_lead_description(),
            "omnichannel_interaction_ids": [fields.Command.link(self.id)],
            **{fname: value for fname, value in self._utm_values().items() if value},
        }
        # sudo: the agent's sales team membership; its id only
        team = agent.sudo().sale_team_id
        if team:
            vals["team_id"] = team.id
        if not partner and self.contact_address:
            key = "phone" if self.channel_type in PHONE_CHANNEL_TYPES else "email_from"
            vals[key] = self.contact_address
        return vals

    def _crm_lead_description(self):
        """The subject and the customer's last message."""
        self.ensure_one()
        parts = []
        if self.subject:
            parts.append(Markup("<p><b>%s</b></p>") % self.subject)
        message = self._crm_last_customer_message()
        if message:
            parts.append(message.body)
        return Markup("").join(parts) or False

    def _crm_last_customer_message(self):
        self.ensure_one()
        partner = self.partner_id
        messages = self.message_ids.filtered(
            lambda m: (
                m.message_type in ("email", "comment", "sms")
                and m.body
                and (m.author_id == partner if partner else not m.author_id.user_ids)
            )
        )
        return messages.sorted("id", reverse=True)[:1]
