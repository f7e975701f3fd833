{
    "name": "Omnichannel Contact Center: Dashboard",
    "summary": "Service level, handle time, occupancy, satisfaction and campaign results "
    "in the Dashboards app",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["spreadsheet_dashboard", "omnichannel_cc", "omnichannel_cc_survey"],
    "data": ["data/dashboards.xml"],
    "assets": {
        "web.assets_tests": [
            "omnichannel_cc_dashboard/static/tests/tours/**/*",
        ],
    },
    "auto_install": True,
    "installable": True,
    "development_status": "Alpha",
}
