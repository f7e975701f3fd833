import logging

from markupsafe import Markup

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

MAIL_TEMPLATE = "omnichannel_cc_survey.mail_template_interaction_survey"


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
    survey_state = fields.Selection(related="survey_user_input_id.state", string="Survey status")

    def _set_state(self, new_state, guard=None, **vals):
        changed = super()._set_state(new_state, guard=guard, **vals)
        if new_state == "done":
            changed._omnichannel_survey_send()
        return changed

    def _omnichannel_survey_send(self):
        """Create the satisfaction answer of done interactions and e-mail its link.

        At most one answer per interaction: already surveyed interactions
        are skipped, and a unique constraint on the answer guards against
        concurrent closes. Agents have no rights on surveys: the answer is
        created as superuser, on behalf of the contact center.
        """
        # sudo: agents have no rights on surveys; the answer and its mail are the contact center's
        interactions = self.sudo().filtered(
            lambda i: (
                i.state == "done"
                and not i.survey_user_input_id
                and i.partner_id
                and i.queue_id.survey_id
            )
        )
        if not interactions:
            return
        # a second close in the same transaction sees the link; a concurrent
        # one waits on this row lock and then sees it too
        self.env.cr.execute(
            SQL(
                "SELECT id FROM omnichannel_interaction WHERE id IN %s FOR UPDATE",
                tuple(interactions.ids),
            )
        )
        interactions.invalidate_recordset(["survey_user_input_id"])
        template = interactions.env.ref(MAIL_TEMPLATE, raise_if_not_found=False)
        for interaction in interactions.filtered(lambda i: not i.survey_user_input_id):
            survey = interaction.queue_id.survey_id
            try:
                answer = survey._create_answer(
                    partner=interaction.partner_id,
                    check_attempts=False,
                    omnichannel_interaction_id=interaction.id,
                )
            except UserError as error:
                # a closed survey must not prevent closing the interaction
                _logger.warning(
                    "No satisfaction survey for interaction %s: %s", interaction.id, error
                )
                interaction.message_post(
                    body=Markup("<p>%s</p>")
                    % _(
                        "The satisfaction survey %(survey)s could not be sent: %(error)s",
                        survey=survey.title,
                        error=error,
                    ),
                    subtype_xmlid="mail.mt_note",
                )
                continue
            interaction.survey_user_input_id = answer
            if template and interaction.partner_id.email:
                template.send_mail(answer.id, email_layout_xmlid="mail.mail_notification_light")
                body = _(
                    "Satisfaction survey %(survey)s e-mailed to %(customer)s.",
                    survey=survey.title,
                    customer=interaction.partner_id.name,
                )
            else:
                body = _(
                    "Satisfaction survey %(survey)s prepared for %(customer)s, who has no "
                    "e-mail address: share its link another way.",
                    survey=survey.title,
                    customer=interaction.partner_id.name,
                )
            interaction.message_post(body=Markup("<p>%s</p>") % body, subtype_xmlid="mail.mt_note")
