"""Campaign analysis (issue 16): outbound campaigns and inbound (utm)
attribution side by side, per campaign, channel, agent and outcome."""

from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..models.omnichannel_campaign import NOT_REACHED_OUTCOMES
from ..models.omnichannel_campaign_contact import CONTACT_STATES, OUTCOMES
from ..models.omnichannel_interaction import STATES, WAITING_STATES
from ..tools import campaign as campaign_tools


class OmnichannelCampaignReport(models.Model):
    """Two kinds of rows, so that every measure sums right in a pivot:

    * ``contact``: one per contact of an outbound campaign's list (contacts,
      reached when one of its calls was answered, its last outcome);
    * ``call``: one per interaction of an outbound campaign (an attempt) or
      with a utm campaign, source or medium (an inbound contact is its own
      contact). Converted: the quotation or order made from the interaction,
      counted on the order's first interaction only; revenue: that order's
      untaxed amount in the company's currency once confirmed.

    Rates are per-row 100 / 0 / NULL numbers averaged by the pivot, as in the
    interaction analysis: ``reach_rate`` on contacts, ``abandon_rate`` on the
    calls that reached the customer or were abandoned (as the campaign's
    dashboard counts it).
    """

    _name = "omnichannel.campaign.report"
    _description = "Contact center campaign analysis"
    _auto = False
    _order = "date desc"

    row_type = fields.Selection([("contact", "Contact"), ("call", "Call")], readonly=True)
    date = fields.Datetime(readonly=True)
    campaign_id = fields.Many2one("omnichannel.campaign", string="Campaign", readonly=True)
    utm_campaign_id = fields.Many2one("utm.campaign", string="Marketing campaign", readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    channel_id = fields.Many2one("omnichannel.channel", readonly=True)
    queue_id = fields.Many2one("omnichannel.queue", readonly=True)
    agent_id = fields.Many2one("res.users", string="Agent", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    direction = fields.Selection([("inbound", "Inbound"), ("outbound", "Outbound")], readonly=True)
    outcome = fields.Selection(OUTCOMES, string="Last outcome", readonly=True)
    contact_state = fields.Selection(CONTACT_STATES, readonly=True)
    excluded_reason = fields.Selection(campaign_tools.EXCLUSION_REASONS, readonly=True)
    state = fields.Selection(STATES, string="Call status", readonly=True)
    disposition_id = fields.Many2one("omnichannel.disposition", readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Order", readonly=True)

    contacts = fields.Integer(string="# Contacts", readonly=True, aggregator="sum")
    attempts = fields.Integer(string="# Calls", readonly=True, aggregator="sum")
    answered = fields.Integer(
        string="# Calls reaching the customer", readonly=True, aggregator="sum"
    )
    reached = fields.Integer(string="# Reached", readonly=True, aggregator="sum")
    converted = fields.Integer(string="# Quotations and orders", readonly=True, aggregator="sum")
    revenue = fields.Float(
        string="Revenue",
        readonly=True,
        aggregator="sum",
        help="Untaxed amount of the confirmed orders made from the calls, in the company's "
        "currency.",
    )
    abandoned = fields.Integer(string="# Abandoned", readonly=True, aggregator="sum")
    reach_rate = fields.Float(string="Reach rate (%)", readonly=True, aggregator="avg")
    abandon_rate = fields.Float(string="Abandonment (%)", readonly=True, aggregator="avg")

    @api.model
    def _select_contacts(self):
        return SQL(
            """
    SELECT
        ct.id * 2 AS id,
        'contact' AS row_type,
        COALESCE(ct.date_last_attempt, ct.create_date) AS date,
        ct.campaign_id,
        cmp.utm_campaign_id,
        NULL::int AS source_id,
        NULL::int AS medium_id,
        cmp.channel_id,
        ct.queue_id,
        ct.user_id AS agent_id,
        ct.company_id,
        ct.partner_id,
        'outbound' AS direction,
        ct.last_outcome AS outcome,
        ct.state AS contact_state,
        ct.excluded_reason,
        NULL::varchar AS state,
        NULL::int AS disposition_id,
        NULL::int AS sale_order_id,
        1 AS contacts,
        0 AS attempts,
        0 AS answered,
        COALESCE(r.reached, false)::int AS reached,
        0 AS converted,
        0.0 AS revenue,
        0 AS abandoned,
        CASE WHEN r.calls > 0 THEN (CASE WHEN r.reached THEN 100.0 ELSE 0.0 END) END
            AS reach_rate,
        NULL::float AS abandon_rate
    FROM omnichannel_campaign_contact ct
    JOIN omnichannel_campaign cmp ON cmp.id = ct.campaign_id
    LEFT JOIN LATERAL (
        SELECT count(*) AS calls, bool_or(%(reached)s) AS reached
          FROM omnichannel_interaction i
          LEFT JOIN omnichannel_disposition d ON d.id = i.disposition_id
         WHERE i.campaign_contact_id = ct.id
    ) r ON TRUE""",
            reached=self._reached_sql(),
        )

    @api.model
    def _select_calls(self):
        return SQL(
            """
    SELECT
        i.id * 2 + 1 AS id,
        'call' AS row_type,
        i.create_date AS date,
        i.campaign_id,
        COALESCE(i.utm_campaign_id, cmp.utm_campaign_id) AS utm_campaign_id,
        i.utm_source_id AS source_id,
        i.utm_medium_id AS medium_id,
        i.channel_id,
        i.queue_id,
        i.agent_id,
        i.company_id,
        i.partner_id,
        i.direction,
        ct.last_outcome AS outcome,
        ct.state AS contact_state,
        ct.excluded_reason,
        i.state,
        i.disposition_id,
        so.id AS sale_order_id,
        (i.campaign_contact_id IS NULL)::int AS contacts,
        1 AS attempts,
        (%(reached)s)::int AS answered,
        (i.campaign_contact_id IS NULL AND %(reached)s)::int AS reached,
        (so.id IS NOT NULL)::int AS converted,
        CASE WHEN so.state = 'sale'
             THEN so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0)
             ELSE 0.0 END AS revenue,
        (i.state = 'abandoned')::int AS abandoned,
        CASE WHEN i.campaign_contact_id IS NOT NULL THEN NULL
             WHEN %(reached)s THEN 100.0
             WHEN i.state NOT IN %(waiting)s THEN 0.0 END AS reach_rate,
        CASE WHEN i.state = 'abandoned' THEN 100.0
             WHEN %(reached)s THEN 0.0 END AS abandon_rate
    FROM omnichannel_interaction i
    LEFT JOIN omnichannel_campaign_contact ct ON ct.id = i.campaign_contact_id
    LEFT JOIN omnichannel_campaign cmp ON cmp.id = i.campaign_id
    LEFT JOIN omnichannel_disposition d ON d.id = i.disposition_id
    -- the order counts once: on the first interaction linked to it
    LEFT JOIN sale_order so
           ON so.id = i.sale_order_id
          AND so.state != 'cancel'
          AND i.id = (SELECT min(i2.id) FROM omnichannel_interaction i2
                       WHERE i2.sale_order_id = i.sale_order_id)
    WHERE i.campaign_contact_id IS NOT NULL
       OR i.utm_campaign_id IS NOT NULL
       OR i.utm_source_id IS NOT NULL
       OR i.utm_medium_id IS NOT NULL""",
            waiting=WAITING_STATES,
            reached=self._reached_sql(),
        )

    @api.model
    def _reached_sql(self):
        """The call ``i`` (disposition ``d``) reached the customer, as
        ``omnichannel.campaign._reached_domain``."""
        return SQL(
            "(i.date_answered IS NOT NULL AND i.state != 'abandoned' "
            "AND COALESCE(d.outcome, '') NOT IN %s)",
            NOT_REACHED_OUTCOMES,
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s UNION ALL %s)",
                SQL.identifier(self._table),
                self._select_contacts(),
                self._select_calls(),
            )
        )
