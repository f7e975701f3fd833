from . import omnichannel_queue
from . import omnichannel_campaign
from . import omnichannel_agent
from . import omnichannel_interaction
from . import omnichannel_survey_invitation
from . import survey_user_input
from . import res_partner
