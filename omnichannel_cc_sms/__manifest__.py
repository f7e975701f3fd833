{
    "name": "Omnichannel Contact Center: SMS",
    "summary": "Two-way SMS channel: Twilio, SMSAPI.pl, Kannel or any HTTP gateway, delivery "
    "reports, opt-out, segment counting",
    "version": "18.0.1.1.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "sms"],
    "external_dependencies": {"python": ["phonenumbers"]},
    "data": [
        "security/ir.model.access.csv",
        "security/omnichannel_sms_media_rules.xml",
        "data/ir_cron_data.xml",
        "data/omnichannel_campaign_sms_cron.xml",
        "views/omnichannel_interaction_views.xml",
        "views/omnichannel_channel_views.xml",
        "views/sms_sms_views.xml",
        "views/omnichannel_campaign_views.xml",
    ],
    "demo": ["demo/omnichannel_sms_demo.xml"],
    "assets": {
        "web.assets_backend": [
            "omnichannel_cc_sms/static/src/**/*",
        ],
        "web.assets_tests": [
            "omnichannel_cc_sms/static/tests/tours/**/*",
        ],
        "web.assets_unit_tests": [
            "omnichannel_cc_sms/static/tests/unit/**/*",
        ],
    },
    "post_init_hook": "post_init_hook",
    "installable": True,
    "development_status": "Alpha",
}
