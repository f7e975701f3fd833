{
    "name": "Omnichannel Contact Center: Satisfaction Surveys on the Phone Keypad",
    "summary": "The caller answers the satisfaction survey on the keypad after the call",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "omnichannel_cc_survey", "omnichannel_cc_voip"],
    "data": [],
    "auto_install": True,
    "installable": True,
    "development_status": "Alpha",
}
