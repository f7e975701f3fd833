"""18.0.2.0.0: the SIP passwords move to res_users.omnichannel_sip_secret
(administrators only); omnichannel_sip_password becomes a computed field
checked per record (a manager reads only her companies' users)."""

from odoo.tools.sql import column_exists, rename_column


def migrate(cr, version):
    if column_exists(cr, "res_users", "omnichannel_sip_password") and not column_exists(
        cr, "res_users", "omnichannel_sip_secret"
    ):
        rename_column(cr, "res_users", "omnichannel_sip_password", "omnichannel_sip_secret")
