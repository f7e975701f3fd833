{
    "name": "Omnichannel Contact Center: Satisfaction Surveys",
    "summary": "E-mail a satisfaction survey to the customer when an interaction is closed",
    "version": "18.0.1.0.0",
    "category": "Services/Contact Center",
    "website": "https://github.com/omnichannel-cc/omnichannel-cc",
    "author": "Omnichannel CC contributors",
    "license": "LGPL-3",
    "depends": ["omnichannel_cc", "survey"],
    "data": [
        "data/mail_template_data.xml",
        "views/omnichannel_queue_views.xml",
        "views/omnichannel_interaction_views.xml",
        "views/survey_user_input_views.xml",
    ],
    "installable": True,
    "development_status": "Alpha",
}
