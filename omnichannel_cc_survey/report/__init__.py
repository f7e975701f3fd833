from . import omnichannel_survey_report
