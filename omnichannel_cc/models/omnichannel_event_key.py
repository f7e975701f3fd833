from odoo import api, fields, models
from odoo.tools import SQL


class OmnichannelEventKey(models.Model):
    """Idempotency keys of events received from providers.

    One row per (scope, key). Claiming a key is one
    ``INSERT ... ON CONFLICT DO NOTHING``: under REPEATABLE READ a key that a
    concurrent transaction committed after our snapshot raises a
    serialization failure, which Odoo retries for RPC and HTTP requests; on
    the retry the key is visible and the caller finds the existing record.
    So two racing deliveries of one event never apply it twice.
    """

    _name = "omnichannel.event.key"
    _description = "Contact center event idempotency key"
    _log_access = False

    scope = fields.Char(required=True, index=True)
    key = fields.Char(required=True)
    res_id = fields.Integer()
    create_date = fields.Datetime(default=fields.Datetime.now, readonly=True)

    _sql_constraints = [
        ("scope_key_uniq", "unique(scope, key)", "This event was already received."),
    ]

    @api.model
    def _claim(self, scope, key, res_id=None):
        """True when this transaction is the first to see (scope, key);
        ``res_id``, when already known, is stored with the claim."""
        self.flush_model()
        # A concurrent claim raises a serialization failure that Odoo
        # retries: not an error worth logging as one.
        self.env.cr.execute(
            SQL(
                """INSERT INTO omnichannel_event_key (scope, key, res_id, create_date)
                   VALUES (%s, %s, %s, now() AT TIME ZONE 'UTC')
                   ON CONFLICT (scope, key) DO NOTHING
                   RETURNING id""",
                scope,
                key,
                res_id,
            ),
            log_exceptions=False,
        )
        return bool(self.env.cr.fetchone())

    @api.model
    def _set_res_id(self, scope, key, res_id):
        self.env.cr.execute(
            SQL(
                "UPDATE omnichannel_event_key SET res_id = %s WHERE scope = %s AND key = %s",
                res_id,
                scope,
                key,
            )
        )

    @api.model
    def _get_res_id(self, scope, key):
        self.env.cr.execute(
            SQL(
                "SELECT res_id FROM omnichannel_event_key WHERE scope = %s AND key = %s",
                scope,
                key,
            )
        )
        row = self.env.cr.fetchone()
        return row and row[0]
