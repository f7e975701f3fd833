import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.misc import hmac as odoo_hmac

from ..tools import invitation as invitation_tools

_logger = logging.getLogger(__name__)

KINDS = [
    ("chat", "Chat"),
    ("audio", "Audio call"),
    ("video", "Video call"),
    ("upload", "Photo / file upload"),
]
SESSION_KINDS = ("chat", "audio", "video")
# the omnichannel channel type an invitation of each kind lands on
CHANNEL_TYPE_OF_KIND = {"chat": "chat", "audio": "video", "video": "video"}
DEFAULT_EXPIRY_HOURS = 24
PREFERRED_AGENT_SECONDS = 300
# state -> states it may move to: a used, expired or revoked link is final
INVITATION_TRANSITIONS = {
    "active": ("used", "expired", "revoked"),
    "used": (),
    "expired": (),
    "revoked": (),
}
STATE_MACHINE_KEY = "omnichannel_invitation_state_machine"
# an object no RPC client can send: the key cannot be passed to skip the machine
STATE_MACHINE = object()
# set by the link itself (the public controller, as superuser), never by a user
SYSTEM_FIELDS = frozenset(
    {
        "token",
        "token_hash",
        "signature",
        "use_count",
        "date_last_used",
        "discuss_channel_id",
        "session_interaction_id",
    }
)


class OmnichannelInvitation(models.Model):
    """A signed, expiring link inviting a customer to a chat, audio or video
    session (Odoo Discuss) or to upload photos to their case."""

    _name = "omnichannel.invitation"
    _description = "Contact center invitation link"
    _inherit = ["mail.thread", "omnichannel.state.mixin"]
    _order = "id desc"
    _state_transitions = INVITATION_TRANSITIONS

    @api.model
    def _default_expiry(self):
        return fields.Datetime.now() + timedelta(hours=self._default_expiry_hours())

    @api.model
    def _default_expiry_hours(self):
        # sudo: only administrators read system parameters; the links' default lifetime only
        param = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("omnichannel_cc.invitation_expiry_hours")
        )
        try:
            hours = int(param or DEFAULT_EXPIRY_HOURS)
        except ValueError:
            hours = DEFAULT_EXPIRY_HOURS
        return hours if hours > 0 else DEFAULT_EXPIRY_HOURS

    name = fields.Char(string="Reference", required=True, copy=False, readonly=True, default="/")
    kind = fields.Selection(KINDS, required=True, default="chat", tracking=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True
    )
    case_id = fields.Many2one("omnichannel.case", index="btree_not_null", tracking=True)
    interaction_id = fields.Many2one(
        "omnichannel.interaction",
        string="From interaction",
        index="btree_not_null",
        help="The interaction the agent was handling when sending this link.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Agent",
        index=True,
        default=lambda self: self.env.user,
        tracking=True,
        help="Joins the session and gets it offered first. Empty: the queue decides.",
    )
    queue_id = fields.Many2one(
        "omnichannel.queue",
        index="btree_not_null",
        help="Where the session waits when no agent is set (default: the channel's queue).",
    )
    invited_by_id = fields.Many2one(
        "res.users", string="Invited by", default=lambda self: self.env.user, readonly=True
    )
    channel_id = fields.Many2one(
        "omnichannel.channel",
        domain="[('channel_type', 'in', ('chat', 'video')), ('company_id', '=', company_id)]",
        help="The contact center channel of the session (a chat or a video channel).",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    token = fields.Char(copy=False, readonly=True, groups="base.group_system")
    token_hash = fields.Char(copy=False, readonly=True, index=True, groups="base.group_system")
    signature = fields.Char(copy=False, readonly=True, groups="base.group_system")
    expiry = fields.Datetime(
        string="Expires on", required=True, default=_default_expiry, tracking=True
    )
    single_use = fields.Boolean(
        default=False,
        help="The link is used once, when the customer presses Join (or sends files); "
        "showing its page, as e-mail scanners do, does not use it.",
    )
    state = fields.Selection(
        [("active", "Active"), ("used", "Used"), ("expired", "Expired"), ("revoked", "Revoked")],
        default="active",
        required=True,
        index=True,
        tracking=True,
        copy=False,
    )
    use_count = fields.Integer(default=0, readonly=True, copy=False)
    date_last_used = fields.Datetime(string="Last opened", readonly=True, copy=False)
    discuss_channel_id = fields.Many2one(
        "discuss.channel", string="Discuss session", readonly=True, copy=False
    )
    session_interaction_id = fields.Many2one(
        "omnichannel.interaction", string="Session interaction", readonly=True, copy=False
    )
    url = fields.Char(string="Link", compute="_compute_url")

    _sql_constraints = [
        ("token_hash_uniq", "unique(token_hash)", "Two invitations cannot share a token."),
    ]

    @api.constrains("kind", "case_id", "interaction_id")
    def _check_upload_target(self):
        for invitation in self:
            if invitation.kind == "upload" and not (
                invitation.case_id or invitation.interaction_id
            ):
                raise ValidationError(
                    _("An upload link needs a case or an interaction to store the files on.")
                )

    @api.constrains("kind", "channel_id")
    def _check_channel(self):
        for invitation in self:
            if invitation.kind in SESSION_KINDS and not invitation.channel_id:
                raise ValidationError(
                    _(
                        "No chat or video channel for this %(kind)s invitation: create one "
                        "under Contact Center / Configuration / Channels.",
                        kind=dict(KINDS)[invitation.kind],
                    )
                )

    def _compute_url(self):
        for invitation in self:
            # sudo: the token is a system field; who may read the invitation may see its link
            token = invitation.sudo().token
            invitation.url = (
                f"{invitation.get_base_url()}/omnichannel/invite/{token}" if token else False
            )

    @api.model
    def _default_channel(self, kind, company):
        channel_type = CHANNEL_TYPE_OF_KIND.get(kind)
        if not channel_type:
            return self.env["omnichannel.channel"]
        # sudo: channels of the invitation's company, which may not be one the user selected
        return (
            self.env["omnichannel.channel"]
            .sudo()
            .search([("channel_type", "=", channel_type), ("company_id", "=", company.id)], limit=1)
        )

    def _check_user_values(self, vals):
        """Users (agents, managers) never set what the link sets itself, and
        only point a link to a case or interaction they may read."""
        if self.env.su:
            return
        forbidden = SYSTEM_FIELDS.intersection(vals)
        if forbidden:
            raise UserError(
                _(
                    "These fields are set by the link itself: %(fields)s.",
                    fields=", ".join(sorted(forbidden)),
                )
            )
        if vals.get("case_id"):
            self.env["omnichannel.case"].browse(vals["case_id"]).check_access("read")
        if vals.get("interaction_id"):
            self.env["omnichannel.interaction"].browse(vals["interaction_id"]).check_access("read")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_user_values(vals)
            if not self.env.su and vals.get("state", "active") != "active":
                raise UserError(_("A new invitation link is active."))
            if vals.get("name", "/") == "/":
                # sudo: agents may not read sequences; the invitations' own numbering
                vals["name"] = (
                    self.env["ir.sequence"].sudo().next_by_code("omnichannel.invitation") or "/"
                )
            if vals.get("interaction_id") and not vals.get("case_id"):
                origin = self.env["omnichannel.interaction"].browse(vals["interaction_id"])
                vals["case_id"] = origin.case_id.id
            if not vals.get("channel_id"):
                company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
                vals["channel_id"] = self._default_channel(vals.get("kind", "chat"), company).id
        invitations = super().create(vals_list)
        # sudo: the token, its hash and signature are system fields, set only here
        for invitation in invitations.sudo():
            token = invitation_tools.new_token()
            invitation.write({"token": token, "token_hash": invitation_tools.token_digest(token)})
            invitation._sign()
        return invitations

    def write(self, vals):
        self._check_user_values(vals)
        if "state" in vals and self.env.context.get(STATE_MACHINE_KEY) is not STATE_MACHINE:
            # every state change goes through the state machine: a used,
            # expired or revoked link does not come back to life
            vals = dict(vals)
            state = vals.pop("state")
            return self._set_state(state, **vals) is not None
        res = super().write(vals)
        if "expiry" in vals:
            # a legitimate change of the expiry (through the ORM) is signed again
            # sudo: the token and signature are system fields
            for invitation in self.sudo().filtered("token"):
                invitation._sign()
        return res

    def _state_write(self, new_state, vals):
        """The machine's own write (the transition is already checked)."""
        self.with_context(**{STATE_MACHINE_KEY: STATE_MACHINE}).write(dict(vals, state=new_state))

    # ------------------------------------------------------------------
    # Signature
    # ------------------------------------------------------------------
    def _signature_for(self, token, expiry):
        self.ensure_one()
        # sudo: the database secret is for administrators; only the HMAC leaves this call
        return odoo_hmac(
            self.env(su=True),
            invitation_tools.SCOPE,
            invitation_tools.signature_message(self.id, token, expiry),
        )

    def _sign(self):
        # sudo: the token and signature are system fields
        for invitation in self.sudo():
            # super().write: no re-signing loop
            super(OmnichannelInvitation, invitation).write(
                {"signature": invitation._signature_for(invitation.token, invitation.expiry)}
            )
        return True

    @api.model
    def _find_by_token(self, token):
        """The invitation of ``token`` (sudo), if its signature verifies; else empty."""
        digest = invitation_tools.token_digest(token)
        if not digest:
            return self.browse()
        # sudo: public visitors find the invitation by its token, checked against the signature
        invitation = (
            self.sudo()
            .with_context(active_test=False)
            .search([("token_hash", "=", digest)], limit=1)
        )
        if not invitation:
            return invitation
        expected = invitation._signature_for(token, invitation.expiry)
        if not invitation_tools.same_signature(expected, invitation.signature):
            _logger.warning("Invitation %s: signature mismatch, link refused", invitation.id)
            return self.browse()
        return invitation

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_revoke(self):
        # a used or expired link is already dead: only active ones are revoked
        self.filtered(lambda i: i.state == "active")._set_state("revoked")
        return True

    def action_send(self):
        """E-mail the link to the customer."""
        template = self.env.ref("omnichannel_cc_invitation.mail_template_omnichannel_invitation")
        for invitation in self:
            if invitation.state != "active":
                raise UserError(_("Invitation %(name)s is no longer active.", name=invitation.name))
            if not invitation.partner_id.email:
                raise UserError(
                    _(
                        "%(partner)s has no e-mail address: copy the link and send it another way.",
                        partner=invitation.partner_id.display_name,
                    )
                )
            template.send_mail(invitation.id, email_layout_xmlid="mail.mail_notification_light")
            invitation.message_post(
                body=_("Invitation sent by e-mail to %(email)s.", email=invitation.partner_id.email)
            )
        return True

    def action_open_session(self):
        """Join the Discuss session of this invitation (as the current user)."""
        self.ensure_one()
        if not self.discuss_channel_id:
            raise UserError(_("The customer has not opened the link yet."))
        # whoever may read the invitation may join its session
        return self.env["omnichannel.interaction"]._omnichannel_join_discuss(
            self.discuss_channel_id
        )

    # ------------------------------------------------------------------
    # Public link
    # ------------------------------------------------------------------
    def _link_status(self):
        self.ensure_one()
        return invitation_tools.status(
            self.state, self.expiry, fields.Datetime.now(), self.single_use, self.use_count
        )

    def _mark_expired(self):
        # sudo: the visitor's request records the expiry of the link it checked
        self.filtered(lambda i: i.state == "active").sudo()._set_state(
            "expired", guard=SQL("expiry <= %s", fields.Datetime.now())
        )

    def _claim_use(self):
        """Count one use, exactly once: a conditional UPDATE checked by rowcount.

        Two concurrent opens of a single-use link: the second waits on the
        row lock, then its UPDATE either fails to serialize (the request is
        retried and sees the link used) or matches no row. A single-use link
        becomes used through the state machine's guarded claim; a multi-use
        one stays active and only counts.
        """
        self.ensure_one()
        now = fields.Datetime.now()
        if self.single_use:
            used = self._set_state(
                "used",
                guard=SQL("expiry > %s AND COALESCE(use_count, 0) = 0", now),
                use_count=1,
                date_last_used=now,
            )
            return bool(used)
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                """UPDATE omnichannel_invitation
                      SET use_count = COALESCE(use_count, 0) + 1,
                          date_last_used = %(now)s
                    WHERE id = %(id)s
                      AND state = 'active'
                      AND expiry > %(now)s""",
                now=now,
                id=self.id,
            )
        )
        claimed = self.env.cr.rowcount == 1
        self.invalidate_recordset(["use_count", "date_last_used"])
        return claimed

    def _target_queue(self):
        self.ensure_one()
        return self.queue_id or self.channel_id.queue_id

    def _ensure_session(self):
        """The Discuss channel and the interaction of this invitation, created
        on the first join and found again on the next ones."""
        self.ensure_one()
        # sudo: the visitor's join (link checked and used) makes the session and interaction
        invitation = self.sudo()
        if not invitation.discuss_channel_id:
            invitation.discuss_channel_id = invitation._create_discuss_channel()
        discuss = invitation.discuss_channel_id
        Interaction = invitation.env["omnichannel.interaction"].with_company(self.company_id)
        interaction, created = Interaction._inbound_once(
            invitation.channel_id,
            f"invitation:{invitation.id}",
            lambda: Interaction.create(invitation._session_interaction_values()),
        )
        if created:
            invitation.session_interaction_id = interaction
            interaction.message_post(
                body=Markup("%s <a href='/odoo/discuss?active_id=discuss.channel_%s'>%s</a>")
                % (
                    _("The customer opened invitation %(name)s:", name=invitation.name),
                    discuss.id,
                    discuss.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return discuss, interaction

    def _create_discuss_channel(self):
        self.ensure_one()
        kind_label = dict(KINDS)[self.kind]
        # created as the public user: Discuss adds the creating user as a
        # member, and only the agent and the visitor belong here
        # sudo: the public user may not create channels; this one, for the invitation only
        channel = (
            self.env["discuss.channel"]
            .with_user(self.env.ref("base.public_user"))
            .sudo()
            .create(
                {
                    "channel_type": "group",
                    "name": _(
                        "%(kind)s with %(partner)s (%(ref)s)",
                        kind=kind_label,
                        partner=self.partner_id.name,
                        ref=self.name,
                    ),
                    "default_display_mode": "video_full_screen" if self.kind == "video" else False,
                    "channel_member_ids": [(0, 0, {"partner_id": self.user_id.partner_id.id})]
                    if self.user_id
                    else [],
                }
            )
        )
        return channel

    def _session_interaction_values(self):
        self.ensure_one()
        partner = self.partner_id
        queue = self._target_queue()
        values = {
            "channel_id": self.channel_id.id,
            "company_id": self.company_id.id,
            "direction": "inbound",
            "external_id": f"invitation:{self.id}",
            "contact_address": partner.email or partner.mobile or partner.phone or partner.name,
            "subject": _(
                "%(kind)s session (invitation %(ref)s)", kind=dict(KINDS)[self.kind], ref=self.name
            ),
            "partner_id": partner.id,
            "case_id": self.case_id.id,
            "queue_id": queue.id,
            "state": "queued",
            "discuss_channel_id": self.discuss_channel_id.id,
        }
        if self.user_id:
            values["preferred_agent_id"] = self.user_id.id
            values["preferred_until"] = fields.Datetime.now() + timedelta(
                seconds=PREFERRED_AGENT_SECONDS
            )
        return values

    def _store_uploads(self, files):
        """Attach ``files`` (``[(name, mimetype, bytes)]``, already checked) to
        the case (and the interaction) with one chatter message each."""
        self.ensure_one()
        # sudo: the visitor's upload (link checked and used) goes on the case and interaction
        invitation = self.sudo()
        case = invitation.case_id or invitation.interaction_id.case_id
        interaction = invitation.interaction_id
        targets = [record for record in (case, interaction) if record]
        body = _(
            "%(partner)s uploaded %(count)s file(s) through invitation %(ref)s.",
            partner=invitation.partner_id.name,
            count=len(files),
            ref=invitation.name,
        )
        Attachment = invitation.env["ir.attachment"]
        stored = Attachment
        for target in targets:
            # pending attachments, as the portal uploads them: message_post
            # links them to the record (a public user may only attach those)
            attachments = Attachment.create(
                [
                    {
                        "name": name,
                        "raw": content,
                        "mimetype": mimetype,
                        "res_model": "mail.compose.message",
                        "res_id": 0,
                    }
                    for name, mimetype, content in files
                ]
            )
            target.message_post(
                body=body,
                attachment_ids=attachments.ids,
                author_id=invitation.partner_id.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )
            stored |= attachments
        return stored

    @api.model
    def _cron_expire(self):
        now = fields.Datetime.now()
        # sudo: a cron: the expired links of every company
        expired = self.sudo().search([("state", "=", "active"), ("expiry", "<=", now)])
        # guarded: a link used or revoked meanwhile is left as it is
        return len(expired._set_state("expired", guard=SQL("expiry <= %s", now)))
