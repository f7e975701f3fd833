from odoo import api, fields, models

from ..tools import satisfaction
from .omnichannel_queue import KIND_SELECTION, TEMPLATES


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    survey_user_input_id = fields.Many2one(
        "survey.user_input",
        string="Satisfaction answer",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
    )
    survey_invitation_ids = fields.One2many(
        "omnichannel.survey.invitation", "interaction_id", string="Satisfaction invitations"
    )
    survey_invitation_state = fields.Selection(
        related="survey_invitation_ids.state", string="Survey status"
    )
    satisfaction_kind = fields.Selection(KIND_SELECTION, readonly=True, copy=False)
    satisfaction_value = fields.Integer(
        string="Satisfaction score", readonly=True, copy=False, aggregator="avg"
    )
    satisfaction_comment = fields.Text(readonly=True, copy=False)

    def _set_state(self, new_state, guard=None, **vals):
        changed = super()._set_state(new_state, guard=guard, **vals)
        if new_state == "done" and changed:
            self.env["omnichannel.survey.invitation"]._schedule(changed)
        return changed

    def _survey_kind(self):
        """The measure asked after this interaction: its campaign's, else its queue's."""
        self.ensure_one()
        return self.campaign_id.satisfaction_kind or self.queue_id.satisfaction_kind

    def _survey_template(self, kind=None):
        """The survey a ``kind`` answer (default: this interaction's measure)
        is stored in: the queue's when it asks the same measure, else the
        shipped one of the measure."""
        self.ensure_one()
        kind = kind or self._survey_kind()
        if self.queue_id.satisfaction_kind == kind and self.queue_id.survey_id:
            return self.queue_id.survey_id
        survey = self.env["survey.survey"]
        return (
            (self.env.ref(TEMPLATES[kind], raise_if_not_found=False) or survey) if kind else survey
        )

    def _survey_prompt(self):
        """Whether to ask this interaction's customer in the channel itself
        (the PBX plays the keypad survey after the call, the chat window
        shows the rating): ``{"kind", "min", "max"}`` or False.

        Decided when the call is answered, by the rules known then
        (measure, customer, internal contact, open complaint, sampling,
        quiet period); the disposition and duration are not known yet, and
        an answer the customer gave is kept whatever they turn out to be.
        """
        self.ensure_one()
        # sudo: the PBX's route request reads the rules, whoever asks
        interaction = self.sudo()
        kind = interaction._survey_kind()
        if not kind or not interaction.partner_id:
            return False
        # sudo: no user may read every invitation or create one; the rules decide, not the agent
        invitations = self.env["omnichannel.survey.invitation"].sudo()
        if invitations.search_count([("interaction_id", "=", interaction.id)], limit=1):
            return False
        reason = invitations._skip_reason(
            interaction, fields.Datetime.now(), set(), when_answered=True
        )
        if reason:
            return False
        low, high = satisfaction.RANGES[kind]
        return {"kind": kind, "min": low, "max": high}

    @api.model
    def _survey_record_answer(
        self, interaction_id, kind, value, comment=None, channel="email", idempotency_key=None
    ):
        """Record a satisfaction answer for an interaction, from any channel.

        The entry point of the channels that ask without an invitation link:
        the phone keypad after the call (the PBX's ``survey_answer`` event),
        the chat window's end-of-chat rating, an SMS reply with a digit. The
        interaction's invitation is used (created when the queue's rules
        skipped or had not sent it yet); at most one answer per interaction;
        ``idempotency_key`` makes a re-delivered event a no-op. Out-of-range
        values raise ValueError with nothing stored. Returns the dict of
        ``omnichannel.survey.invitation._record_answer``.
        """
        # sudo: the caller (a signed webhook, the chat visitor) is checked by its controller
        interaction = self.sudo().browse(interaction_id).exists()
        if not interaction:
            raise ValueError("unknown interaction")
        # sudo: no user may write invitations; the customer's answer is recorded on one
        invitations = self.env["omnichannel.survey.invitation"].sudo()
        invitation = invitations.search([("interaction_id", "=", interaction.id)], limit=1)
        # the keypad does not know the measure: the invitation's, else the queue's
        kind = kind or invitation.kind or interaction._survey_kind()
        if not kind:
            raise ValueError("this interaction is not surveyed")
        if invitation and invitation.kind != kind:
            raise ValueError(f"this interaction is surveyed with {invitation.kind}, not {kind}")
        if not invitation:
            queue = interaction.queue_id
            invitation = invitations.create(
                {
                    "interaction_id": interaction.id,
                    "partner_id": interaction.partner_id.id,
                    "queue_id": queue.id,
                    "agent_id": interaction.agent_id.id,
                    "company_id": interaction.company_id.id,
                    "kind": kind,
                    "survey_id": interaction._survey_template(kind).id,
                    "send_channel": False,
                    "date_scheduled": fields.Datetime.now(),
                }
            )
        return invitation._record_answer(
            value, comment=comment, channel=channel, idempotency_key=idempotency_key
        )
