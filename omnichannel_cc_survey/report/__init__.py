from . import omnichannel_survey_report
from . import omnichannel_agent_scorecard
