from . import test_channel_chat
from . import test_security
