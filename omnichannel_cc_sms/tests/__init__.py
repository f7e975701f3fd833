from . import test_interaction_sms
from . import test_sms_access
from . import test_sms_inbound
from . import test_sms_outbound
