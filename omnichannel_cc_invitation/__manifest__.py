{
    "name": "Omnichannel Contact Center: Invitation Links",
    "summary": "Signed, expiring links inviting a customer to a chat, audio or video session "
    "or to upload files for a case",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc"],
    "data": [
        "security/ir.model.access.csv",
        "security/omnichannel_invitation_rules.xml",
        "data/omnichannel_invitation_data.xml",
        "wizard/omnichannel_invitation_create_views.xml",
        "views/omnichannel_invitation_views.xml",
        "views/omnichannel_invitation_templates.xml",
        "views/omnichannel_cc_invitation_menus.xml",
    ],
    "demo": [],
    "assets": {
        "web.assets_tests": ["omnichannel_cc_invitation/static/tests/tours/*.js"],
    },
    "installable": True,
    "development_status": "Alpha",
}
