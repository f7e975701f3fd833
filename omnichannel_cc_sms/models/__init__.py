from . import omnichannel_channel
from . import omnichannel_interaction
from . import omnichannel_sms_media
from . import sms_sms
from . import sms_tracker
from . import omnichannel_campaign
from . import omnichannel_campaign_contact
