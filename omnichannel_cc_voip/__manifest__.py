{
    "name": "Omnichannel Contact Center: Telephony",
    "summary": "CTI webhooks for any PBX, browser softphone, click-to-dial, listen-in, recordings",
    "version": "18.0.2.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc"],
    "external_dependencies": {"python": ["phonenumbers"]},
    "data": [
        "security/ir.model.access.csv",
        "security/omnichannel_voip_command_rules.xml",
        "security/omnichannel_campaign_dialer_rules.xml",
        "data/ir_cron_data.xml",
        "views/res_users_views.xml",
        "views/omnichannel_channel_views.xml",
        "views/res_users_softphone_views.xml",
        "views/omnichannel_click_to_dial_views.xml",
        "views/omnichannel_campaign_views.xml",
    ],
    "demo": ["demo/omnichannel_voip_demo.xml"],
    "assets": {
        "web.assets_backend": [
            "omnichannel_cc_voip/static/lib/jssip/jssip.min.js",
            "omnichannel_cc_voip/static/src/softphone/*",
        ],
        "web.assets_tests": [
            "omnichannel_cc_voip/static/tests/tours/*.js",
        ],
        "web.assets_unit_tests": [
            "omnichannel_cc_voip/static/tests/unit/**/*",
        ],
    },
    "post_init_hook": "post_init_hook",
    "installable": True,
    "development_status": "Alpha",
}
