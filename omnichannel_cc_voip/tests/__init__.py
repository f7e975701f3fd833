from . import test_res_users
from . import test_omnichannel_channel
from . import test_ami
from . import test_softphone
from . import test_cti_events
from . import test_voip_command
from . import test_voip_webhook
from . import test_hoot
