from . import social
from . import invitation
from . import webform
from . import livechat
