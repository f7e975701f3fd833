from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, index_exists


class ResUsers(models.Model):
    _inherit = "res.users"

    omnichannel_extension = fields.Char(
        string="Phone extension",
        copy=False,
        help="Internal extension of the agent on the PBX (digits only), unique within a company.",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["omnichannel_extension"]

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
        return super().write(vals)

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
