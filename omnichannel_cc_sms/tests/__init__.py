from . import test_hoot
from . import test_interaction_sms
from . import test_sms_access
from . import test_sms_console_ui
from . import test_sms_inbound
from . import test_sms_outbound
from . import test_sms_campaign
from . import test_sms_media_hostile
