from . import test_chat_rating
