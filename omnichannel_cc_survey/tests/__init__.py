from . import test_invitation_rules
from . import test_survey_answer
from . import test_survey_access
from . import test_survey_page
from . import test_survey_tour
from . import test_survey_board
from . import test_agent_scorecard_survey
from . import test_state_exits_survey
