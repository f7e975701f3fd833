from . import test_signature
from . import test_res_users
from . import test_omnichannel_channel
