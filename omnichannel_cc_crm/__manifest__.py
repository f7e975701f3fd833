{
    "name": "Omnichannel Contact Center: CRM",
    "summary": "Opportunities from interactions, with the interaction's utm attribution",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "crm"],
    "data": [
        "data/omnichannel_disposition_data.xml",
        "views/crm_lead_views.xml",
        "views/omnichannel_campaign_views.xml",
        "views/omnichannel_interaction_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "omnichannel_cc_crm/static/src/agent_console/*",
        ],
        "web.assets_tests": [
            "omnichannel_cc_crm/static/tests/tours/*.js",
        ],
    },
    "auto_install": True,
    "installable": True,
    "development_status": "Alpha",
}
