{
    "name": "Omnichannel Contact Center: Telephony",
    "summary": "Agent extensions and signed PBX credentials for phone channels",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc"],
    "data": [
        "views/res_users_views.xml",
        "views/omnichannel_channel_views.xml",
    ],
    "post_init_hook": "post_init_hook",
    "installable": True,
    "development_status": "Alpha",
}
