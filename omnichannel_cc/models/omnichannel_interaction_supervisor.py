from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import routing
from .omnichannel_interaction import WAITING_STATES

# Changes that move a figure of the wallboard.
WALLBOARD_FIELDS = {"state", "queue_id", "agent_id"}


class OmnichannelInteraction(models.Model):
    """Supervisor actions from the wallboard: assign, pick, join silently."""

    _inherit = "omnichannel.interaction"

    # the wallboard counts what was closed today
    date_closed = fields.Datetime(index=True)

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env["omnichannel.queue"]._wallboard_notify(records.sudo().company_id.ids)
        return records

    def write(self, vals):
        result = super().write(vals)
        if WALLBOARD_FIELDS.intersection(vals):
            self.env["omnichannel.queue"]._wallboard_notify(self.sudo().company_id.ids)
        return result

    # ------------------------------------------------------------------
    # Supervisor actions
    # ------------------------------------------------------------------
    def _check_supervisor(self):
        """Managers act on every interaction of their companies, supervisors on
        those of the queues they supervise."""
        self.check_access("read")
        user = self.env.user
        if self.env.su or user.has_group("omnichannel_cc.group_omnichannel_manager"):
            return
        for rec in self.sudo():
            if not rec.queue_id or user not in rec.queue_id.supervisor_ids:
                raise AccessError(
                    _(
                        "Only a supervisor of the queue %(queue)s or a manager may reassign "
                        "%(name)s.",
                        queue=rec.queue_id.display_name or _("(none)"),
                        name=rec.name,
                    )
                )

    def _lock_for_change(self, states, busy_message):
        """Row-lock this interaction, without waiting, if it is in one of
        ``states``: True when locked, False when it is in another state, a
        UserError with ``busy_message`` when another transaction holds it."""
        self.ensure_one()
        self.env.flush_all()
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        """SELECT id FROM omnichannel_interaction
                            WHERE id = %s AND state IN %s FOR UPDATE NOWAIT""",
                        self.id,
                        tuple(states),
                    ),
                    log_exceptions=False,
                )
                locked = bool(cr.fetchone())
        except pg_errors.LockNotAvailable as error:
            raise UserError(busy_message) from error
        self.invalidate_recordset()
        return locked

    def _supervisor_lock(self):
        """Lock the waiting interaction against the ACD and agents' accepts."""
        busy = _("%(name)s is being routed right now; try again.", name=self.name)
        if not self._lock_for_change(WAITING_STATES, busy):
            raise UserError(
                _("%(name)s is no longer waiting: an agent has it already.", name=self.name)
            )

    def _supervisor_cancel_offers(self):
        """Cancel the pending offers; the agents they held, to refresh once the
        interaction is no longer theirs."""
        self.ensure_one()
        offers = self.offer_ids.filtered(lambda o: o.state == "pending")
        users = offers.user_id | self.agent_id
        offers._close("cancelled", requeue=False)
        return self.env["omnichannel.agent"].sudo().search([("user_id", "in", users.ids)])

    def _log_note(self, body):
        """An internal note on the interaction, by the current user."""
        self.sudo().message_post(
            body=body, author_id=self.env.user.partner_id.id, subtype_xmlid="mail.mt_note"
        )

    def _check_assign_target(self, target):
        """Refuse, with a clear message, an agent this interaction cannot be given to."""
        self.ensure_one()
        if not target or not target.has_group("omnichannel_cc.group_omnichannel_agent"):
            raise UserError(_("Choose a Contact Center agent."))
        if self.company_id not in target.company_ids:
            raise UserError(
                _(
                    "%(agent)s does not work for %(company)s.",
                    agent=target.name,
                    company=self.company_id.name,
                )
            )
        if not self.queue_id:
            raise UserError(_("%(name)s is in no queue.", name=self.name))

    def _agent_cannot_take(self, target):
        return UserError(
            _(
                "%(agent)s cannot take %(name)s now: they are not available or have no "
                "free place for this channel.",
                agent=target.name,
                name=self.name,
            )
        )

    def action_supervisor_assign(self, user_id):
        """Give a waiting interaction to one agent: pending offers are cancelled
        and the agent gets an offer (the ACD's own locking and capacity check)."""
        self.ensure_one()
        self._check_supervisor()
        target = self.env["res.users"].sudo().browse(int(user_id)).exists()
        if target == self.env.user:
            return self.action_supervisor_pick()
        rec = self.sudo()
        rec._check_assign_target(target)
        rec._supervisor_lock()
        released = rec._supervisor_cancel_offers()
        if rec.state != "queued":
            rec.write(
                {
                    "state": "queued",
                    "agent_id": False,
                    "date_offered": False,
                    "date_queued": rec.date_queued or fields.Datetime.now(),
                }
            )
        self.env.flush_all()
        if not rec.queue_id._offer(rec, [routing.Candidate(user_id=target.id)]):
            raise rec._agent_cannot_take(target)
        released._refresh_state()
        rec._log_note(
            _(
                "Assigned to %(agent)s by supervisor %(supervisor)s.",
                agent=target.name,
                supervisor=self.env.user.name,
            )
        )
        return rec._api_result()

    def action_supervisor_pick(self):
        """The supervisor takes the waiting interaction: it becomes theirs and active."""
        self.ensure_one()
        self._check_supervisor()
        rec = self.sudo()
        rec._supervisor_lock()
        released = rec._supervisor_cancel_offers()
        now = fields.Datetime.now()
        rec.write(
            {
                "state": "active",
                "agent_id": self.env.uid,
                "date_queued": rec.date_queued or now,
                "date_answered": now,
            }
        )
        (released | self.env["omnichannel.agent"]._for_user(self.env.user))._refresh_state()
        rec._log_note(_("Picked up by supervisor %(supervisor)s.", supervisor=self.env.user.name))
        return rec._api_result()

    def action_supervisor_join(self):
        """Join silently: as a member of the chat's Discuss channel when the
        interaction has one, else as a follower of its chatter; nobody is notified."""
        self.ensure_one()
        self._check_supervisor()
        rec = self.sudo()
        channel = rec.discuss_channel_id if "discuss_channel_id" in rec._fields else False
        if channel:
            channel._add_members(users=self.env.user, post_joined_message=False)
        else:
            rec.message_subscribe(partner_ids=self.env.user.partner_id.ids)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "views": [[False, "form"]],
            "target": "current",
        }
