from . import test_channel_chat
