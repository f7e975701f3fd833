from . import omnichannel_channel
from . import omnichannel_interaction
from . import omnichannel_sms_media
from . import sms_sms
from . import sms_tracker
