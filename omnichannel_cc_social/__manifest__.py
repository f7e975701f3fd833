{
    "name": "Omnichannel Contact Center: Social Messengers",
    "summary": "WhatsApp Cloud API, Facebook Messenger and Telegram conversations as "
    "interactions, replies sent after commit",
    "version": "18.0.1.0.1",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc"],
    "data": [
        "security/ir.model.access.csv",
        "security/omnichannel_social_rules.xml",
        "data/ir_cron_data.xml",
        "views/omnichannel_channel_views.xml",
        "views/omnichannel_social_identity_views.xml",
        "views/omnichannel_cc_social_menus.xml",
    ],
    "demo": [],
    "installable": True,
    "development_status": "Alpha",
}
