def post_init_hook(env):
    """SMS channels created before this addon's gateways get their URL token."""
    channels = (
        env["omnichannel.channel"]
        .with_context(active_test=False)
        .search([("channel_type", "=", "sms")])
    )
    channels._sms_ensure_token()
