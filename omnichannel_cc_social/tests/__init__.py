from . import test_channel_social
