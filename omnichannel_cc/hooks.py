import logging

_logger = logging.getLogger(__name__)

# Below this many partners the E.164 columns are filled at install; above it
# the install stays fast and the cron fills them in batches.
INLINE_BACKFILL_LIMIT = 20000


def post_init_hook(env):
    partners = env["res.partner"].with_context(active_test=False)
    todo = partners._omnichannel_phone_backfill_domain()
    count = partners.search_count(todo)
    if count <= INLINE_BACKFILL_LIMIT:
        partners._omnichannel_backfill_phone_e164(batch_size=INLINE_BACKFILL_LIMIT + 1)
        return
    _logger.info("omnichannel_cc: %s partners to normalise, left to the backfill cron", count)
    env.ref("omnichannel_cc.ir_cron_partner_phone_backfill")._trigger()
