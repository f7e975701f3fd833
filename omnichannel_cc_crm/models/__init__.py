from . import crm_lead
from . import omnichannel_agent
from . import omnichannel_campaign
from . import omnichannel_campaign_contact
from . import omnichannel_disposition
from . import omnichannel_interaction
