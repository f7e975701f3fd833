from . import omnichannel_interaction_report
from . import omnichannel_agent_state_report
from . import omnichannel_campaign_report
from . import omnichannel_agent_scorecard
