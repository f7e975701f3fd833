{
    "name": "Omnichannel Contact Center: Satisfaction Surveys by SMS",
    "summary": "Text the satisfaction survey link to phone and SMS customers",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "omnichannel_cc_survey", "omnichannel_cc_sms"],
    "data": [],
    "auto_install": True,
    "installable": True,
    "development_status": "Alpha",
}
