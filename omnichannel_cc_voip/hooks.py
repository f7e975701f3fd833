def post_init_hook(env):
    """Phone channels created before this addon get their PBX credentials."""
    channels = (
        env["omnichannel.channel"]
        .with_context(active_test=False)
        .search([("channel_type", "=", "phone")])
    )
    channels._voip_ensure_credentials()
