from urllib.parse import urlsplit

from lxml import etree

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, index_exists

MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"

SOFTPHONE_FIELDS = ["omnichannel_softphone", "omnichannel_sip_password"]


class ResUsers(models.Model):
    _inherit = "res.users"

    omnichannel_extension = fields.Char(
        string="Phone extension",
        copy=False,
        help="Internal extension of the agent on the PBX (digits only), unique within a company.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["omnichannel_extension", *SOFTPHONE_FIELDS]

    def init(self):
        res = super().init()
        # Last guard against concurrent writes, which the checks below
        # cannot see.
        indexname = "res_users_omnichannel_extension_company_uniq"
        if not index_exists(self.env.cr, indexname):
            self.env.cr.execute(
                SQL(
                    "CREATE UNIQUE INDEX %s ON %s (company_id, omnichannel_extension) "
                    "WHERE omnichannel_extension IS NOT NULL AND omnichannel_extension != ''",
                    SQL.identifier(indexname),
                    SQL.identifier(self._table),
                )
            )
        return res

    @api.constrains("omnichannel_extension")
    def _check_omnichannel_extension(self):
        for user in self.filtered("omnichannel_extension"):
            extension = user.omnichannel_extension
            if not (extension.isascii() and extension.isdigit()):
                raise ValidationError(
                    _(
                        "The phone extension %(extension)s of %(user)s must contain digits only.",
                        extension=extension,
                        user=user.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        default_company = self.env.company.id
        self._check_omnichannel_extension_unique(
            [
                (
                    False,
                    vals.get("omnichannel_extension"),
                    vals.get("company_id") or default_company,
                )
                for vals in vals_list
            ]
        )
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("omnichannel_extension") or "company_id" in vals:
            self._check_omnichannel_extension_unique(
                [
                    (
                        user.id,
                        vals.get("omnichannel_extension", user.omnichannel_extension),
                        vals.get("company_id", user.company_id.id),
                    )
                    for user in self
                ]
            )
        res = super().write(vals)
        if "omnichannel_sip_password" in vals:
            # the written value stays cached for the writer's context only:
            # readers in other contexts compute it again from the stored column
            self.invalidate_recordset(["omnichannel_sip_password"])
        return res

    @api.model
    def _check_omnichannel_extension_unique(self, candidates):
        """Refuse extensions already used in the same company.

        Checked before the ORM writes, because the unique index would
        otherwise fail first with a bare IntegrityError.

        :param candidates: ``(user_id or False, extension, company_id)``
            triples about to be stored.
        """
        candidates = [(uid, ext, cid) for uid, ext, cid in candidates if ext]
        if not candidates:
            return
        seen = {}
        for uid, ext, cid in candidates:
            if (ext, cid) in seen:
                raise ValidationError(
                    _(
                        "The phone extension %(extension)s is given to several users at once.",
                        extension=ext,
                    )
                )
            seen[(ext, cid)] = uid
        # sudo: an extension is unique among all users, archived and other companies' too
        existing = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("omnichannel_extension", "in", [ext for __, ext, __ in candidates]),
                    ("company_id", "in", [cid for __, __, cid in candidates]),
                    ("id", "not in", [uid for uid, __, __ in candidates if uid]),
                ]
            )
        )
        for other in existing:
            if (other.omnichannel_extension, other.company_id.id) in seen:
                raise ValidationError(
                    _(
                        "The phone extension %(extension)s is already used by %(other)s "
                        "in company %(company)s.",
                        extension=other.omnichannel_extension,
                        other=other.name,
                        company=other.company_id.name,
                    )
                )

    # ------------------------------------------------------------------
    # Browser softphone
    # ------------------------------------------------------------------
    omnichannel_softphone = fields.Boolean(
        string="Browser softphone",
        help="Register the extension from the web client (WebRTC over the phone "
        "channel's WebSocket) instead of a desk phone.",
    )

    # The stored password: administrators only. Everyone else goes through
    # omnichannel_sip_password, checked record by record.
    omnichannel_sip_secret = fields.Char(
        string="SIP password (stored)",
        copy=False,
        groups="base.group_system",
    )
    # The user themselves (SELF_READABLE_FIELDS below) and the managers of the
    # user's company. The field's groups are not enough: Odoo's res.users rule
    # shows every internal user to every internal user, so a manager of
    # company B would read company A's passwords; each record is checked by
    # _omnichannel_sip_allowed (read, search, export, templates: all compute).
    omnichannel_sip_password = fields.Char(
        string="SIP password",
        copy=False,
        groups=MANAGER_GROUP,
        compute="_compute_omnichannel_sip_password",
        inverse="_inverse_omnichannel_sip_password",
        search="_search_omnichannel_sip_password",
        compute_sudo=False,
        help="Password of the extension's SIP account on the PBX.",
    )

    def _omnichannel_sip_allowed(self):
        """The users of ``self`` whose SIP password the current user may read
        and change: their own, and as a contact center manager those whose
        company is one of the current companies."""
        if self.env.su:
            return self
        me = self.env.user
        if not me.has_group(MANAGER_GROUP):
            return self.filtered(lambda user: user == me)
        companies = self.env.companies
        return self.filtered(lambda user: user == me or user.company_id in companies)

    @api.depends("omnichannel_sip_secret")
    @api.depends_context("uid", "allowed_company_ids")
    def _compute_omnichannel_sip_password(self):
        allowed = self._omnichannel_sip_allowed()
        # sudo: the stored column is for administrators; only the allowed records' values are shown
        secrets = {user.id: user.omnichannel_sip_secret for user in allowed.sudo()}
        for user in self:
            user.omnichannel_sip_password = secrets.get(user.id) or False

    def _inverse_omnichannel_sip_password(self):
        refused = self - self._omnichannel_sip_allowed()
        if refused:
            raise AccessError(
                _(
                    "You may not change the SIP password of %(users)s.",
                    users=", ".join(refused.mapped("name")),
                )
            )
        for user in self:
            value = user.omnichannel_sip_password or False
            # sudo: the stored column is for administrators; the writer was checked above
            user.sudo().omnichannel_sip_secret = value

    def _search_omnichannel_sip_password(self, operator, value):
        if operator not in ("=", "in"):
            raise UserError(_("A SIP password can only be searched by its exact value."))
        # sudo: the stored column is for administrators; only allowed users are returned
        found = (
            self.sudo()
            .with_context(active_test=False)
            .search([("omnichannel_sip_secret", operator, value)])
        )
        return [("id", "in", self.browse(found.ids)._omnichannel_sip_allowed().ids)]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + SOFTPHONE_FIELDS

    @api.model
    def _get_view_cache(self, view_id=None, view_type="form", **options):
        result = super()._get_view_cache(view_id, view_type, **options)
        # The preferences form only ever shows the user's own record, which
        # they may read (SELF_READABLE_FIELDS): do not hide the password
        # from agents there, as the field's groups would.
        preferences = self.env.ref("base.view_users_form_simple_modif", raise_if_not_found=False)
        if not (preferences and view_id == preferences.id):
            return result
        arch = etree.fromstring(result["arch"])
        nodes = arch.xpath("//field[@name='omnichannel_sip_password']")
        if not nodes:
            return result
        for node in nodes:
            node.attrib.pop("__groups_key__", None)
        return dict(result, arch=etree.tostring(arch, encoding="unicode"))

    @api.model
    def voip_softphone_config(self):
        """Settings of the current user's browser softphone.

        :return: ``{enabled, reason, softphone, extension, password, ws_url,
            sip_uri, domain, display_name}``; when ``enabled`` is False,
            ``reason`` says why and the account fields are empty.
        """
        user = self.env.user
        config = {
            "enabled": False,
            "reason": False,
            "softphone": user.omnichannel_softphone,
            "extension": user.omnichannel_extension or False,
            "password": False,
            "ws_url": False,
            "sip_uri": False,
            "domain": False,
            "display_name": user.name,
        }
        if not user.omnichannel_softphone:
            config["reason"] = _("The browser softphone is off in your preferences.")
            return config
        if not user.omnichannel_extension:
            config["reason"] = _("You have no phone extension.")
            return config
        channel = self._voip_softphone_channel()
        if not channel:
            config["reason"] = _(
                "No phone channel of %(company)s has a WebSocket SIP URL.",
                company=self.env.company.name,
            )
            return config
        ws_url = channel["voip_ws_url"]
        domain = channel["voip_sip_domain"] or urlsplit(ws_url).hostname
        config.update(
            enabled=True,
            # sudo: a manager-only field; its own user gets it (as SELF_READABLE_FIELDS allow)
            password=user.sudo().omnichannel_sip_password or False,
            ws_url=ws_url,
            sip_uri=f"sip:{user.omnichannel_extension}@{domain}",
            domain=domain,
        )
        return config

    @api.model
    def _voip_softphone_channel(self):
        """WebSocket URL and SIP domain of the current company's first active
        phone channel that has a WebSocket URL (agents may not read the
        channel's other PBX settings)."""
        # sudo: the company's phone channels, for any agent; only the WebSocket URL and SIP domain
        channels = (
            self.env["omnichannel.channel"]
            .sudo()
            .search_read(
                [
                    ("channel_type", "=", "phone"),
                    ("company_id", "=", self.env.company.id),
                    ("voip_ws_url", "!=", False),
                ],
                ["voip_ws_url", "voip_sip_domain"],
                limit=1,
            )
        )
        return channels[0] if channels else None
