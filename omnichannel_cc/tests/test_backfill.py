from odoo.tests import TransactionCase, tagged

from ..models.res_partner import BACKFILL_PARAM_LAST, BACKFILL_PARAM_UNTIL


@tagged("post_install", "-at_install")
class TestPhoneBackfill(TransactionCase):
    """Partners that existed before install get their E.164 columns by batches."""

    def test_backfill_in_batches(self):
        Partner = self.env["res.partner"]
        pl = self.env.ref("base.pl")
        partners = Partner.create(
            [
                {"name": f"Old {i}", "country_id": pl.id, "phone": f"22 100 00 {i:02d}"}
                for i in range(25)
            ]
        )
        # simulate rows written before the module existed: columns empty
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET phone_e164 = NULL, mobile_e164 = NULL WHERE id IN %s",
            [tuple(partners.ids)],
        )
        partners.invalidate_recordset(["phone_e164", "mobile_e164"])
        params = self.env["ir.config_parameter"].sudo()
        params.set_param(BACKFILL_PARAM_LAST, str(partners[0].id - 1))
        params.set_param(BACKFILL_PARAM_UNTIL, str(partners[-1].id))

        self.assertEqual(Partner.search_count(Partner._omnichannel_phone_backfill_domain()), 25)
        done = Partner._omnichannel_backfill_phone_e164(batch_size=10, max_batches=2)
        self.assertEqual(done, 20)
        self.assertEqual(params.get_param(BACKFILL_PARAM_LAST), str(partners[19].id))
        partners.invalidate_recordset(["phone_e164"])
        self.assertEqual(partners[0].phone_e164, "+48221000000")
        self.assertFalse(partners[24].phone_e164)
        # the cron was re-triggered for the rest
        cron = self.env.ref("omnichannel_cc.ir_cron_partner_phone_backfill")
        self.assertTrue(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]))

        done = Partner._omnichannel_backfill_phone_e164(batch_size=10)
        self.assertEqual(done, 5)
        partners.invalidate_recordset(["phone_e164"])
        self.assertEqual(partners[24].phone_e164, "+48221000024")
        self.assertFalse(params.get_param(BACKFILL_PARAM_UNTIL))
        # nothing left: a further run does nothing
        self.assertEqual(Partner._omnichannel_backfill_phone_e164(batch_size=10), 0)

    def test_install_precreated_the_columns(self):
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'res_partner' "
            "AND column_name IN ('phone_e164', 'mobile_e164')"
        )
        self.assertEqual(len(self.env.cr.fetchall()), 2)
