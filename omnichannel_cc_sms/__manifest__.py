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
    "installable": True,
    "development_status": "Alpha",
}
