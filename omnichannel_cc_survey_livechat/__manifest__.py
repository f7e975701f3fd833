{
    "name": "Omnichannel Contact Center: Chat Satisfaction Rating",
    "summary": "The visitor's end-of-chat rating is the chat's CSAT survey answer",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "omnichannel_cc_survey", "omnichannel_cc_livechat"],
    "data": [],
    "auto_install": True,
    "installable": True,
    "development_status": "Alpha",
}
