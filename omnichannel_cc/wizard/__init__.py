from . import omnichannel_script_run
from . import omnichannel_fax_send
