{
    "name": "Omnichannel Contact Center: Web Forms",
    "summary": "Public contact forms and an embeddable snippet: each submission is an "
    "interaction on the customer, with call-back requests",
    "version": "18.0.1.0.1",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc"],
    "data": [
        "security/ir.model.access.csv",
        "security/omnichannel_webform_rules.xml",
        "views/omnichannel_channel_views.xml",
        "views/omnichannel_webform_templates.xml",
    ],
    "demo": ["demo/omnichannel_webform_demo.xml"],
    "assets": {
        "web.assets_tests": ["omnichannel_cc_webform/static/tests/tours/*.js"],
    },
    "installable": True,
    "development_status": "Alpha",
}
