{
    "name": "Omnichannel Contact Center: Web Chat",
    "summary": "Website live chat routed by the contact center: the ACD picks the operator, "
    "the chat becomes an interaction with the screen-pop",
    "version": "18.0.1.1.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "im_livechat"],
    "data": [
        "views/omnichannel_channel_views.xml",
        "views/omnichannel_interaction_views.xml",
    ],
    "demo": ["demo/omnichannel_livechat_demo.xml"],
    "assets": {
        "web.assets_backend": ["omnichannel_cc_livechat/static/src/**/*"],
        "web.assets_tests": ["omnichannel_cc_livechat/static/tests/tours/*.js"],
    },
    "auto_install": True,
    "installable": True,
    "development_status": "Alpha",
}
