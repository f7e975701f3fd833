from . import omnichannel_script_run
