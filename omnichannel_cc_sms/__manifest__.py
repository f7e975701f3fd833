{
    "name": "Omnichannel Contact Center: SMS",
    "summary": "Reply to customers by SMS from their interaction, logged in its chatter",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "sms"],
    "data": [
        "views/omnichannel_interaction_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "omnichannel_cc_sms/static/src/**/*",
        ],
        "web.assets_tests": [
            "omnichannel_cc_sms/static/tests/tours/*.js",
        ],
        "web.assets_unit_tests": [
            "omnichannel_cc_sms/static/tests/unit/**/*",
        ],
    },
    "installable": True,
    "development_status": "Alpha",
}
