import logging

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column, create_index

from ..tools import address as address_tools
from .omnichannel_case import OPEN_CASE_STATES

_logger = logging.getLogger(__name__)

BACKFILL_PARAM_LAST = "omnichannel_cc.phone_backfill_last_id"
BACKFILL_PARAM_UNTIL = "omnichannel_cc.phone_backfill_until_id"
SCREEN_POP_INTERACTIONS = 10
SCREEN_POP_ROWS = 20
# what the display name of a partner is made of (res.partner._get_complete_name)


def normalize_email(text):
    """``text``'s e-mail address as Odoo stores it in ``email_normalized``
    (``odoo.tools.email_normalize``), so that identification finds exactly
    what Odoo's own lookups find; AddressError when there is none."""
    email = tools.email_normalize(text) if isinstance(text, str) else False
    if not email or not address_tools.looks_like_email(email):
        raise address_tools.AddressError(f"{text!r} is not an e-mail address")
    return email


DISPLAY_NAME_FIELDS = [
    "name",
    "company_name",
    "parent_id",
    "type",
    "is_company",
    "commercial_company_name",
]
IDENTIFY_FIELDS = [
    *DISPLAY_NAME_FIELDS,
    "customer_rank",
    "write_date",
    "commercial_partner_id",
]
POP_PARTNER_FIELDS = [
    *DISPLAY_NAME_FIELDS,
    "commercial_partner_id",
    # read by the multi-company record rule
    "partner_share",
    "company_id",
    "email",
    "phone",
    "mobile",
    "city",
    "lang",
    "vat",
]


class ResPartner(models.Model):
    _inherit = "res.partner"

    phone_e164 = fields.Char(
        string="Phone (E.164)",
        compute="_compute_phone_e164",
        store=True,
        index="btree_not_null",
        copy=False,
        help="The phone number in international E.164 form, used to identify callers.",
    )
    mobile_e164 = fields.Char(
        string="Mobile (E.164)",
        compute="_compute_phone_e164",
        store=True,
        index="btree_not_null",
        copy=False,
    )
    omnichannel_interaction_ids = fields.One2many(
        "omnichannel.interaction", "partner_id", string="Interactions"
    )
    omnichannel_interaction_count = fields.Integer(
        compute="_compute_omnichannel_counts", string="Interaction count"
    )
    omnichannel_case_count = fields.Integer(
        compute="_compute_omnichannel_counts", string="Case count"
    )
    omnichannel_history_ids = fields.Many2many(
        "omnichannel.interaction",
        compute="_compute_omnichannel_history_ids",
        string="Contact history",
        help="Every interaction of this customer and its contacts, all channels, newest first.",
    )

    # --- Campaigns (issue 16): marketing consent --------------------------
    # Polish Electronic Communications Law (Prawo komunikacji elektronicznej,
    # 2024), art. 398: direct marketing by phone calls or SMS needs the prior
    # consent of the person called; the consent is kept with its date and source
    # to prove it. Marketing campaigns call only partners with consent.
    omnichannel_marketing_consent = fields.Boolean(
        string="Marketing calls and SMS",
        tracking=True,
        help="The person agreed beforehand to be contacted for marketing by phone or SMS "
        "(Polish Electronic Communications Law, art. 398: marketing calls and SMS need the "
        "prior consent of the person called; it may be withdrawn at any time). Marketing "
        "campaigns call only partners with this consent; service calls (collections, "
        "claims, renewals) do not need it.",
    )
    omnichannel_marketing_consent_date = fields.Datetime(
        string="Consent given on",
        tracking=True,
        help="When the consent was given (or withdrawn): the proof asked for by art. 398.",
    )
    omnichannel_marketing_consent_source = fields.Char(
        string="Consent source",
        tracking=True,
        help="How the consent was given: web form, recorded call, signed contract...",
    )
    # --- end of campaigns' consent ----------------------------------------

    def _auto_init(self):
        # Pre-create the columns so that installing on a big database does
        # not compute every row in the install transaction: the backfill
        # cron (or the post-init hook for small databases) fills them.
        cr = self.env.cr
        if not column_exists(cr, "res_partner", "phone_e164"):
            create_column(cr, "res_partner", "phone_e164", "varchar")
            create_column(cr, "res_partner", "mobile_e164", "varchar")
            cr.execute("SELECT COALESCE(MAX(id), 0) FROM res_partner")
            until = cr.fetchone()[0]
            cr.execute(
                """INSERT INTO ir_config_parameter (key, value, create_date, write_date)
                   VALUES (%s, '0', now(), now()), (%s, %s, now(), now())
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
                (BACKFILL_PARAM_LAST, BACKFILL_PARAM_UNTIL, str(until)),
            )
        return super()._auto_init()

    def init(self):
        res = super().init()
        create_index(
            self.env.cr,
            "res_partner_email_normalized_occ_idx",
            "res_partner",
            ["email_normalized"],
            where="email_normalized IS NOT NULL",
        )
        return res

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _omnichannel_phone_region(self):
        """ISO code of the country a national number of this partner is read in.

        The partner's country, else its company's, else the main company's;
        never the current user's company, so the stored value does not
        depend on who saved the record.
        """
        self.ensure_one()
        country = self.country_id or self.company_id.country_id
        if not country:
            main = self.env.ref("base.main_company", raise_if_not_found=False)
            # sudo: the main company may not be one of the user's; only its country is read
            country = main.sudo().country_id if main else country
        return country.code or None

    @api.depends("phone", "mobile", "country_id", "company_id.country_id")
    def _compute_phone_e164(self):
        for partner in self:
            region = (
                partner._omnichannel_phone_region() if (partner.phone or partner.mobile) else None
            )
            partner.phone_e164 = (
                address_tools.normalize_phone_or_none(partner.phone, region) or False
            )
            partner.mobile_e164 = (
                address_tools.normalize_phone_or_none(partner.mobile, region) or False
            )

    def _omnichannel_family_domain(self):
        return [("commercial_partner_id", "in", self.commercial_partner_id.ids)]

    def _compute_omnichannel_counts(self):
        Interaction = self.env["omnichannel.interaction"]
        Case = self.env["omnichannel.case"]
        commercial = self.commercial_partner_id
        interaction_counts = dict(
            Interaction._read_group(
                [("commercial_partner_id", "in", commercial.ids)],
                ["commercial_partner_id"],
                ["__count"],
            )
        )
        case_counts = dict(
            Case._read_group(
                [("commercial_partner_id", "in", commercial.ids)],
                ["commercial_partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.omnichannel_interaction_count = interaction_counts.get(
                partner.commercial_partner_id, 0
            )
            partner.omnichannel_case_count = case_counts.get(partner.commercial_partner_id, 0)

    def _omnichannel_open_case_counts(self):
        """{commercial partner: open cases} for these partners' customers."""
        return dict(
            self.env["omnichannel.case"]._read_group(
                [
                    ("commercial_partner_id", "in", self.commercial_partner_id.ids),
                    ("state", "in", OPEN_CASE_STATES),
                ],
                ["commercial_partner_id"],
                ["__count"],
            )
        )

    def _compute_omnichannel_history_ids(self):
        Interaction = self.env["omnichannel.interaction"]
        for partner in self:
            if not partner.id:
                partner.omnichannel_history_ids = Interaction
                continue
            partner.omnichannel_history_ids = Interaction.search(
                [("commercial_partner_id", "=", partner.commercial_partner_id.id)],
                order="create_date desc, id desc",
                limit=200,
            )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def write(self, vals):
        # campaigns (issue 16): a consent given or withdrawn is dated unless the date is given
        if "omnichannel_marketing_consent" in vals and not vals.get(
            "omnichannel_marketing_consent_date"
        ):
            vals = dict(vals, omnichannel_marketing_consent_date=fields.Datetime.now())
        res = super().write(vals)
        # sudo: companies the user does not belong to count too; only whether one is here
        if ("country_id" in vals or "tz" in vals) and self.env["res.company"].sudo().with_context(
            active_test=False
        ).search_count([("partner_id", "in", self.ids)], limit=1):
            # a company moved: national numbers read in another country, its
            # "today" (overdue balances in the routing) in another time zone
            self.env.registry.clear_cache()
        return res

    # --- Campaigns (issue 16): marketing consent --------------------------
    def _omnichannel_has_marketing_consent(self):
        """Whether this person may get marketing calls (art. 398): their own
        consent; none when they asked not to be contacted."""
        self.ensure_one()
        return bool(self.omnichannel_marketing_consent)

    # --- end of campaigns' consent ----------------------------------------

    # ------------------------------------------------------------------
    # Backfill of the E.164 columns
    # ------------------------------------------------------------------
    @api.model
    def _omnichannel_phone_backfill_domain(self):
        # sudo: only administrators read system parameters; the backfill's own two
        params = self.env["ir.config_parameter"].sudo()
        until = int(params.get_param(BACKFILL_PARAM_UNTIL) or 0)
        last = int(params.get_param(BACKFILL_PARAM_LAST) or 0)
        if not until:
            return [("id", "=", 0)]
        return [
            ("id", ">", last),
            ("id", "<=", until),
            "|",
            ("phone", "!=", False),
            ("mobile", "!=", False),
        ]

    @api.model
    def _omnichannel_backfill_phone_e164(self, batch_size=2000, max_batches=None):
        """Fill phone_e164 / mobile_e164 of partners created before install.

        Works in id order, remembers the last id done, reports progress to
        the cron and re-triggers itself until the end. Returns the number
        of partners processed.
        """
        # sudo: only administrators write system parameters; the backfill's own progress
        params = self.env["ir.config_parameter"].sudo()
        # sudo: a cron filling the E.164 columns of every partner, whatever the rules
        partners = self.sudo().with_context(active_test=False)
        domain = self._omnichannel_phone_backfill_domain()
        remaining = partners.search_count(domain)
        done = 0
        batches = 0
        while remaining:
            batch = partners.search(domain, order="id", limit=batch_size)
            fields_to_fill = [self._fields["phone_e164"], self._fields["mobile_e164"]]
            for field in fields_to_fill:
                self.env.add_to_compute(field, batch)
            batch.flush_recordset(["phone_e164", "mobile_e164"])
            params.set_param(BACKFILL_PARAM_LAST, str(batch[-1].id))
            done += len(batch)
            remaining = max(remaining - len(batch), 0)
            batches += 1
            _logger.info(
                "omnichannel_cc: normalised phones of %s partners, %s to go", done, remaining
            )
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
            domain = self._omnichannel_phone_backfill_domain()
            if max_batches and batches >= max_batches:
                if remaining:
                    self.env.ref("omnichannel_cc.ir_cron_partner_phone_backfill")._trigger()
                break
        if not remaining:
            params.set_param(BACKFILL_PARAM_UNTIL, False)
            params.set_param(BACKFILL_PARAM_LAST, False)
        return done

    @api.model
    def _cron_omnichannel_backfill_phone_e164(self):
        # A cron transaction is committed per batch by its own progress
        # bookkeeping; keep each run short.
        self._omnichannel_backfill_phone_e164(batch_size=2000, max_batches=25)

    # ------------------------------------------------------------------
    # Caller identification
    # ------------------------------------------------------------------
    @api.model
    def _omnichannel_candidate_regions(self):
        """Country codes to read national numbers with: the user's companies',
        then the main company's. Cached per company set: it is asked on every
        call and changes only when a company's country does (see write)."""
        company_ids = (*self.env.companies.ids, self.env.company.id)
        return list(self._omnichannel_candidate_regions_cached(company_ids))

    @api.model
    @tools.ormcache("company_ids")
    def _omnichannel_candidate_regions_cached(self, company_ids):
        company_ids = (*company_ids, self.env.ref("base.main_company").id)
        code_by_company = dict(self._omnichannel_company_country_codes(company_ids))
        codes = []
        for company_id in company_ids:
            code = code_by_company.get(company_id)
            if code and code not in codes:
                codes.append(code)
        return tuple(codes)

    @api.model
    @tools.ormcache("company_ids")
    def _omnichannel_company_country_codes(self, company_ids):
        """``((company id, country ISO code), ...)`` in one query, cached (cleared
        by write when a company's partner changes country): ``res.company.country_id``
        is a computed field that would recompute the company address with a cold
        cache."""
        self.env["res.company"].flush_model(["partner_id"])
        self.env["res.partner"].flush_model(["country_id"])
        self.env.cr.execute(
            SQL(
                """SELECT company.id, country.code
                     FROM res_company company
                     JOIN res_partner partner ON partner.id = company.partner_id
                     JOIN res_country country ON country.id = partner.country_id
                    WHERE company.id = ANY(%s)""",
                list(company_ids),
            )
        )
        return tuple(self.env.cr.fetchall())

    @api.model
    def _omnichannel_today(self, tz):
        """Today in time zone ``tz`` (UTC's when None), as
        ``fields.Date.context_today`` without reading the user record."""
        return fields.Date.context_today(self.with_context(tz=tz)) if tz else fields.Date.today()

    @api.model
    @tools.ormcache("company_id")
    def _omnichannel_company_tz(self, company_id):
        """The time zone of a company (its partner's), cached (cleared by write
        when a company's partner changes it): the routing's "today" is the
        company's, read without the user and partner records on every call."""
        self.env["res.company"].flush_model(["partner_id"])
        self.env["res.partner"].flush_model(["tz"])
        self.env.cr.execute(
            SQL(
                """SELECT partner.tz FROM res_company company
                     JOIN res_partner partner ON partner.id = company.partner_id
                    WHERE company.id = %s""",
                company_id,
            )
        )
        row = self.env.cr.fetchone()
        return (row and row[0]) or None

    @api.model
    @api.readonly
    def omnichannel_identify(self, address, channel_type="phone"):
        """Partners reachable at ``address``, best match first.

        ``address``: a phone number in any common notation or an e-mail.
        Returns ``[{"id", "name", "commercial_partner_id"}]`` (empty when
        nobody matches); raises ValidationError when the address can be
        neither a phone number nor an e-mail.
        """
        if not isinstance(address, str) or not address.strip():
            raise ValidationError(_("Give a phone number or an e-mail address to identify."))
        kind = "email" if channel_type == "email" else address_tools.classify(address)
        if kind == "email" or (kind is None and "@" in address):
            try:
                email = normalize_email(address)
            except address_tools.AddressError as error:
                raise ValidationError(
                    _("%(address)s is not a valid e-mail address.", address=address)
                ) from error
            domain = [("email_normalized", "=", email)]
        elif kind == "phone":
            try:
                numbers = address_tools.phone_candidates(
                    address, self._omnichannel_candidate_regions()
                )
            except address_tools.AddressError as error:
                raise ValidationError(
                    _(
                        "%(address)s is not a valid phone number: %(error)s",
                        address=address,
                        error=error,
                    )
                ) from error
            domain = ["|", ("phone_e164", "in", numbers), ("mobile_e164", "in", numbers)]
        else:
            raise ValidationError(
                _(
                    "%(address)s is neither a phone number nor an e-mail address.",
                    address=address,
                )
            )
        # search and read the ranking and display fields in one query
        partners = self.search_fetch(domain, IDENTIFY_FIELDS, limit=50)
        ranked = sorted(
            partners,
            key=lambda p: (
                p.is_company,  # the person who calls before their company
                -(p.customer_rank or 0),
                -(p.write_date.timestamp() if p.write_date else 0),
                p.id,
            ),
        )
        return [
            {
                "id": partner.id,
                "name": partner.display_name,
                "commercial_partner_id": partner.commercial_partner_id.id,
            }
            for partner in ranked
        ]

    # ------------------------------------------------------------------
    # Screen-pop
    # ------------------------------------------------------------------
    # Each list block is one SQL query returning plain values: no record is
    # built for invoices, orders, cases or interactions. Cases and history
    # are those the user may read: the record rules' query is embedded in
    # the block's SQL. Invoices and orders are figures the agent may not
    # read as records (a controlled sudo: company of the user, no record
    # rule), shown only for the customers the agent serves.
    @api.readonly
    def omnichannel_screen_pop(self):
        """What an agent sees of this customer before answering.

        Agents open the panel of the customers of the interactions they may
        read and of the offers ringing for them; managers of any customer of
        their companies (AccessError otherwise). Invoices and orders are read
        with a controlled sudo: the agent gets exactly these figures, not
        access to the accounting records.
        """
        self.ensure_one()
        if not self.env.user.has_group("omnichannel_cc.group_omnichannel_agent"):
            raise AccessError(_("Only contact center agents can open the customer panel."))
        if self.env.cr.readonly and not self.exists():
            # a customer created a moment ago may not be on the replica yet:
            # Odoo runs the request again on the primary on this error
            raise pg_errors.ReadOnlySqlTransaction(
                "customer panel: customer not on the replica yet, asking the primary"
            )
        partner = self
        # fetch() reads only what the panel shows, under the access rules
        # (AccessError otherwise); check_access then finds the fields of the
        # rules in cache instead of reading the whole row
        partner.fetch(POP_PARTNER_FIELDS)
        self.check_access("read")
        commercial = partner.commercial_partner_id
        commercial.fetch(POP_PARTNER_FIELDS)
        # the history the user may read (record rules) proves that they
        # serve this customer; only an empty one needs a check of its own,
        # and nothing else is read before it
        interactions = self._omnichannel_pop_interactions(commercial)
        if not interactions:
            self._omnichannel_pop_check_customer(partner, commercial)
        companies = self.env.companies
        partners, currency, today = self._omnichannel_pop_header(partner | commercial)
        invoices, overdue_amount, total_due, open_credit = self._omnichannel_pop_invoices(
            commercial, companies, today
        )
        return {
            "partner": partners[partner.id],
            "commercial_partner": partners[commercial.id],
            "currency": currency,
            "invoices": invoices,
            "overdue_amount": overdue_amount,
            "total_due": total_due,
            # credit notes and payments not matched to an invoice yet
            "open_credit": open_credit,
            "has_overdue": overdue_amount > 0,
            "sale_orders": self._omnichannel_pop_sale_orders(commercial, companies),
            "cases": self._omnichannel_pop_cases(commercial),
            "interactions": interactions,
        }

    @api.model
    def _omnichannel_pop_check_customer(self, partner, commercial):
        """AccessError unless the user may open the panel of ``commercial``'s
        customer although they may read none of its interactions (the
        history block is empty): managers (and the superuser) may, agents
        when a contact of this customer rings for them (a pending offer)."""
        if self.env.su or self.env.user.has_group("omnichannel_cc.group_omnichannel_manager"):
            return
        self.env["omnichannel.offer"].flush_model(["interaction_id", "user_id", "state"])
        self.env["omnichannel.interaction"].flush_model(["commercial_partner_id"])
        self.env.cr.execute(
            SQL(
                """SELECT 1
                     FROM omnichannel_offer offer
                     JOIN omnichannel_interaction interaction
                       ON interaction.id = offer.interaction_id
                    WHERE offer.user_id = %s
                      AND offer.state = 'pending'
                      AND interaction.commercial_partner_id = %s
                    LIMIT 1""",
                self.env.uid,
                commercial.id,
            )
        )
        if not self.env.cr.fetchone():
            if self.env.cr.readonly:
                # a replica may not have replayed yet the offer ringing now:
                # offers are the primary's, where Odoo runs the request again
                # on this error (http.py _transactioning)
                raise pg_errors.ReadOnlySqlTransaction(
                    "customer panel: no pending offer on the replica, asking the primary"
                )
            raise AccessError(
                _(
                    "You may open the customer panel of the customers of your interactions "
                    "and offers only: %(partner)s is not one of them.",
                    partner=partner.display_name,
                )
            )

    @api.model
    def _omnichannel_pop_header(self, partners):
        """({id: panel dict} of these (fetched) partners, company currency as
        a dict, today in the user's time zone).

        One query for the partners' country and tag names, the currency and
        the user's time zone (the web client sends it in the context; RPC
        callers may not).
        """
        Country = self.env["res.country"]
        Category = self.env["res.partner.category"]
        self.env["res.partner"].flush_model(["country_id", "category_id", "tz"])
        self.env["res.company"].flush_model(["currency_id"])
        Category.flush_model(["name"])
        # tags are read as the ORM reads a many2many: archived ones too,
        # under the tags' record rules if any
        tag_query = Category.with_context(active_test=False)._search([])
        tag_rules = (
            SQL("AND tag.id IN %s", tag_query.subselect()) if tag_query.where_clause else SQL()
        )
        self.env.cr.execute(
            SQL(
                """SELECT partner.id, %(country_name)s,
                          ARRAY(SELECT %(tag_name)s
                                  FROM res_partner_res_partner_category_rel rel
                                  JOIN res_partner_category tag ON tag.id = rel.category_id
                                 WHERE rel.partner_id = partner.id %(tag_rules)s
                                 ORDER BY %(tag_name)s),
                          currency.id, currency.name, currency.symbol, user_partner.tz
                     FROM res_partner partner
                     LEFT JOIN res_country country ON country.id = partner.country_id
                     JOIN res_company company ON company.id = %(company_id)s
                     JOIN res_currency currency ON currency.id = company.currency_id
                     JOIN res_users users ON users.id = %(uid)s
                     JOIN res_partner user_partner ON user_partner.id = users.partner_id
                    WHERE partner.id = ANY(%(ids)s)""",
                country_name=Country._field_to_sql("country", "name"),
                tag_name=Category._field_to_sql("tag", "name"),
                tag_rules=tag_rules,
                company_id=self.env.company.id,
                uid=self.env.uid,
                ids=partners.ids,
            )
        )
        rows = self.env.cr.fetchall()
        extra = {row[0]: row[1:3] for row in rows}
        currency_id, currency_name, symbol, user_tz = rows[0][3:] if rows else (None,) * 4
        today = self._omnichannel_today(self.env.context.get("tz") or user_tz)
        result = {}
        for partner in partners:
            country_name, tag_names = extra.get(partner.id, (None, []))
            result[partner.id] = {
                "id": partner.id,
                "name": partner.display_name,
                "is_company": partner.is_company,
                "email": partner.email or False,
                "phone": partner.phone or False,
                "mobile": partner.mobile or False,
                "city": partner.city or False,
                "country": country_name or False,
                "lang": partner.lang or False,
                "vat": partner.vat or False,
                "category_names": list(tag_names),
            }
        currency = {"id": currency_id, "name": currency_name, "symbol": symbol}
        return result, currency, today

    @api.model
    def _omnichannel_pop_invoices(self, commercial, companies, today):
        """(unpaid posted customer invoices oldest due first, overdue, total
        due, open credits), one query; the amounts as _omnichannel_pop_balance."""
        self.env["account.move"].flush_model(
            [
                "name",
                "invoice_date",
                "invoice_date_due",
                "amount_total",
                "amount_residual",
                "amount_residual_signed",
                "currency_id",
                "payment_state",
                "commercial_partner_id",
                "company_id",
                "move_type",
                "state",
            ]
        )
        self.env.cr.execute(
            SQL(
                """SELECT balance.overdue, balance.total, balance.credit,
                          invoice.id, invoice.name, invoice.invoice_date, invoice.invoice_date_due,
                          invoice.amount_total, invoice.amount_residual,
                          invoice.amount_residual_signed, invoice.currency, invoice.currency_id,
                          invoice.payment_state
                     FROM (%(balance)s) balance
                     LEFT JOIN (
                           SELECT move.id, move.name, move.invoice_date, move.invoice_date_due,
                                  move.amount_total, move.amount_residual,
                                  move.amount_residual_signed, currency.name AS currency,
                                  move.currency_id, move.payment_state
                             FROM account_move move
                             LEFT JOIN res_currency currency ON currency.id = move.currency_id
                            WHERE move.commercial_partner_id = %(partner_id)s
                              AND move.company_id = ANY(%(company_ids)s)
                              AND move.move_type = 'out_invoice'
                              AND move.state = 'posted'
                              AND move.payment_state IN ('not_paid', 'partial')
                            ORDER BY move.invoice_date_due ASC, move.id ASC
                            LIMIT %(limit)s) invoice ON TRUE
                    ORDER BY invoice.invoice_date_due ASC, invoice.id ASC""",
                balance=self._omnichannel_balance_sql(commercial, companies, today),
                partner_id=commercial.id,
                company_ids=companies.ids,
                limit=SCREEN_POP_ROWS,
            )
        )
        rows = self.env.cr.fetchall()
        overdue, total, credit = rows[0][:3]
        payment_labels = dict(
            self.env["account.move"]._fields["payment_state"]._description_selection(self.env)
        )
        invoices = []
        for (
            move_id,
            name,
            invoice_date,
            due,
            amount_total,
            residual,
            residual_company,
            currency,
            currency_id,
            payment_state,
        ) in (row[3:] for row in rows):
            if move_id is None:
                continue  # no open invoice: the balance row alone
            days_overdue = (today - due).days if due and due < today else 0
            invoices.append(
                {
                    "id": move_id,
                    "name": name or False,
                    "invoice_date": fields.Date.to_string(invoice_date) or False,
                    "date_due": fields.Date.to_string(due) or False,
                    "amount_total": amount_total or 0.0,
                    "amount_residual": residual or 0.0,
                    "amount_residual_company": residual_company or 0.0,
                    "currency": currency or False,
                    "currency_id": currency_id or False,
                    "payment_state": payment_state or False,
                    "payment_state_label": payment_labels.get(
                        payment_state, payment_state or False
                    ),
                    "days_overdue": days_overdue,
                    "overdue": days_overdue > 0,
                }
            )
        return invoices, max(float(overdue), 0.0), float(total), float(credit)

    @api.model
    def _omnichannel_pop_balance(self, commercial, companies, today):
        """(overdue, total due) in company currency from open receivable lines."""
        self.env.cr.execute(self._omnichannel_balance_sql(commercial, companies, today))
        overdue, total, _credit = self.env.cr.fetchone()
        return max(float(overdue), 0.0), float(total)

    @api.model
    def _omnichannel_balance_sql(self, commercial, companies, today):
        """SELECT overdue, total of the customer's open receivable lines.

        Per instalment (date_maturity), so a partly overdue invoice counts
        its overdue instalments only. Open credits (credit notes and payments
        not yet matched to an invoice: negative residuals) are available to
        the customer at once, whatever their date: they reduce what is
        overdue, so a customer whose credits cover the overdue invoices owes
        nothing overdue (and is not sent to collections). Overdue is never
        negative nor above the total due (the caller clamps at zero).
        """
        self.env["account.move.line"].flush_model(
            [
                "partner_id",
                "amount_residual",
                "date_maturity",
                "reconciled",
                "parent_state",
                "account_id",
                "company_id",
            ]
        )
        return SQL(
            """SELECT COALESCE(SUM(line.amount_residual)
                               FILTER (WHERE line.date_maturity < %s
                                          OR line.amount_residual < 0), 0) AS overdue,
                      COALESCE(SUM(line.amount_residual), 0) AS total,
                      -COALESCE(SUM(line.amount_residual)
                                FILTER (WHERE line.amount_residual < 0), 0) AS credit
                 FROM account_move_line line
                 JOIN account_account account ON account.id = line.account_id
                WHERE line.partner_id = %s
                  AND line.company_id IN %s
                  AND account.account_type = 'asset_receivable'
                  AND line.parent_state = 'posted'
                  AND NOT line.reconciled""",
            today,
            commercial.id,
            tuple(companies.ids),
        )

    @api.model
    def _omnichannel_pop_sale_orders(self, commercial, companies):
        """Open orders of the customer and its contacts (archived ones too,
        as ``child_of``), newest first; fully delivered and invoiced ones
        left out among the last SCREEN_POP_ROWS * 3. The family is
        gathered first (an array) so that the orders are found through
        their partner_id index."""
        SaleOrder = self.env["sale.order"]
        has_delivery = "delivery_status" in SaleOrder._fields
        order_fields = [
            "name",
            "partner_id",
            "company_id",
            "state",
            "date_order",
            "invoice_status",
            "amount_total",
            "currency_id",
        ]
        SaleOrder.flush_model(order_fields + (["delivery_status"] if has_delivery else []))
        self.env["res.partner"].flush_model(["parent_id"])
        self.env.cr.execute(
            SQL(
                """WITH RECURSIVE family(id) AS (
                        SELECT %s::integer
                         UNION
                        SELECT child.id
                          FROM res_partner child
                          JOIN family ON child.parent_id = family.id
                   )
                   SELECT sale.id, sale.name, sale.date_order, sale.state,
                          sale.invoice_status, %s, sale.amount_total, currency.name,
                          sale.currency_id
                     FROM sale_order sale
                     LEFT JOIN res_currency currency ON currency.id = sale.currency_id
                    WHERE sale.partner_id = ANY(ARRAY(SELECT id FROM family))
                      AND sale.company_id = ANY(%s)
                      AND sale.state IN ('draft', 'sent', 'sale')
                    ORDER BY sale.date_order DESC, sale.id DESC
                    LIMIT %s""",
                commercial.id,
                SQL.identifier("sale", "delivery_status") if has_delivery else SQL("NULL"),
                companies.ids,
                SCREEN_POP_ROWS * 3,
            )
        )
        rows = self.env.cr.fetchall()
        # after fetchall: the labels may be read from the database (cache miss)
        state_labels = dict(SaleOrder._fields["state"]._description_selection(self.env))
        result = []
        for (
            order_id,
            name,
            date_order,
            state,
            invoice_status,
            delivery,
            total,
            currency,
            currency_id,
        ) in rows:
            fully_done = (
                state == "sale"
                and invoice_status in ("invoiced", "no")
                and (not has_delivery or delivery in ("full", None))
            )
            if fully_done:
                continue
            result.append(
                {
                    "id": order_id,
                    "name": name,
                    "date_order": fields.Datetime.to_string(date_order) or False,
                    "state": state,
                    "state_label": state_labels[state],
                    "invoice_status": invoice_status or False,
                    "delivery_status": delivery or False,
                    "amount_total": total or 0.0,
                    "currency": currency or False,
                    "currency_id": currency_id or False,
                }
            )
            if len(result) >= SCREEN_POP_ROWS:
                break
        return result

    @api.model
    def _omnichannel_pop_cases(self, commercial):
        """Open cases of the customer, in the cases' order."""
        Case = self.env["omnichannel.case"]
        Case.flush_model(
            [
                "name",
                "subject",
                "state",
                "user_id",
                "queue_id",
                "commercial_partner_id",
                "company_id",
                "priority",
            ]
        )
        self.env["res.partner"].flush_model(["name"])
        # the cases the user may read (record rules), found through the
        # customer's index: built, and the rules read, before the execute
        readable = Case._search(
            [
                ("commercial_partner_id", "=", commercial.id),
                ("state", "in", OPEN_CASE_STATES),
                ("company_id", "in", self.env.companies.ids),
            ]
        )
        query = SQL(
            """SELECT case_.id, case_.name, case_.subject, case_.state,
                      case_.user_id, owner.name, %s
                 FROM omnichannel_case case_
                 LEFT JOIN res_users users ON users.id = case_.user_id
                 LEFT JOIN res_partner owner ON owner.id = users.partner_id
                 LEFT JOIN omnichannel_queue queue ON queue.id = case_.queue_id
                WHERE case_.commercial_partner_id = %s
                  AND case_.state IN %s
                  AND case_.company_id = ANY(%s)
                  AND case_.id IN %s
                ORDER BY case_.priority DESC, case_.id DESC
                LIMIT %s""",
            self.env["omnichannel.queue"]._field_to_sql("queue", "name"),
            commercial.id,
            tuple(OPEN_CASE_STATES),
            self.env.companies.ids,
            readable.subselect(),
            SCREEN_POP_ROWS,
        )
        self.env.flush_query(query)
        self.env.cr.execute(query)
        rows = self.env.cr.fetchall()
        # after the fetch: the labels may be read with a query of their own
        state_labels = dict(
            self.env["omnichannel.case"]._fields["state"]._description_selection(self.env)
        )
        return [
            {
                "id": case_id,
                "name": name,
                "subject": subject,
                "state": state,
                "state_label": state_labels.get(state, state),
                "owner_id": owner_id or False,
                "owner_name": owner_name or False,
                "queue": queue or False,
            }
            for case_id, name, subject, state, owner_id, owner_name, queue in rows
        ]

    @api.model
    def _omnichannel_pop_interaction_extra(self, interaction_ids):
        """Extra facts of the history's interactions, for the addons to fill:
        ``{interaction_id: [{"key", "label", "value"}]}``, shown on their
        lines. ``interaction_ids`` are readable by the user (record rules)."""
        return {}

    def _omnichannel_pop_interactions(self, commercial):
        """The customer's last interactions, all channels and contacts."""
        Interaction = self.env["omnichannel.interaction"]
        Interaction.flush_model(
            [
                "name",
                "channel_type",
                "direction",
                "subject",
                "state",
                "agent_id",
                "disposition_id",
                "commercial_partner_id",
                "company_id",
            ]
        )
        self.env["res.partner"].flush_model(["name"])
        # the interactions the user may read (record rules), as for the cases
        readable = Interaction._search(
            [
                ("commercial_partner_id", "=", commercial.id),
                ("company_id", "in", self.env.companies.ids),
            ]
        )
        query = SQL(
            """SELECT interaction.id, interaction.name, interaction.channel_type,
                      interaction.direction, interaction.subject, interaction.state,
                      interaction.create_date, agent.name, %s
                 FROM (SELECT id, name, channel_type, direction, subject, state,
                              create_date, agent_id, disposition_id
                         FROM omnichannel_interaction
                        WHERE commercial_partner_id = %s
                          AND company_id = ANY(%s)
                          AND id IN %s
                        ORDER BY id DESC
                        LIMIT %s) interaction
                 LEFT JOIN res_users users ON users.id = interaction.agent_id
                 LEFT JOIN res_partner agent ON agent.id = users.partner_id
                 LEFT JOIN omnichannel_disposition disposition
                        ON disposition.id = interaction.disposition_id
                ORDER BY interaction.id DESC""",
            self.env["omnichannel.disposition"]._field_to_sql("disposition", "name"),
            commercial.id,
            self.env.companies.ids,
            readable.subselect(),
            SCREEN_POP_INTERACTIONS,
        )
        self.env.flush_query(query)
        self.env.cr.execute(query)
        rows = self.env.cr.fetchall()
        # after the fetch: the labels may be read with a query of their own
        channel_labels = self.env["omnichannel.channel"]._channel_type_labels()
        state_labels = dict(Interaction._fields["state"]._description_selection(self.env))
        extras = self._omnichannel_pop_interaction_extra([row[0] for row in rows])
        return [
            {
                "id": rec_id,
                "name": name,
                "channel_type": channel_type or False,
                "channel_label": channel_labels.get(channel_type, channel_type or False),
                "direction": direction,
                "subject": subject or False,
                "state": state,
                "state_label": state_labels.get(state, state),
                "date": fields.Datetime.to_string(create_date),
                "agent": agent or False,
                "disposition": disposition or False,
                "extra": extras.get(rec_id, []),
            }
            for (
                rec_id,
                name,
                channel_type,
                direction,
                subject,
                state,
                create_date,
                agent,
                disposition,
            ) in rows
        ]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_omnichannel_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("commercial_partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_view_omnichannel_cases(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_case_action"
        )
        action["domain"] = [("commercial_partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------
    @api.model
    def _omnichannel_demo_set_lang(self, lang, user_ids):
        """Give the demo's users and customers ``lang`` when the database has
        it active (a Polish database, as setup/run creates); else leave
        them in the database's language. Called from the demo data only."""
        if not self.env["res.lang"]._lang_get(lang):
            return False
        users = self.env["res.users"].browse(user_ids).exists()
        customers = self.env["ir.model.data"].search(
            [("module", "=", "omnichannel_cc"), ("model", "=", "res.partner")]
        )
        partners = self.browse(customers.mapped("res_id")).exists() | users.partner_id
        partners.write({"lang": lang})
        return True
