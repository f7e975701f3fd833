from . import test_channel_chat
from . import test_security
from . import test_visitor_language
