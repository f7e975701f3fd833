"""Agent call scripts: answer checks, branching and script validation.

Pure logic fed plain data (``Step``, ``Branch``, ``Choice``): no ORM, no env,
loadable from its file alone. The models turn their records into these
dataclasses and call in here, so every rule is tested without a database.

A script is an ordered list of steps. After an answer the step's branches are
tried in order; the first that matches gives the next step (``END``: the
script is over). When none matches, the script goes on with the next step by
sequence, or ends after the last one.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup, escape

END = 0

# Answer types of a step
NONE = "none"
CHOICE = "choice"
TEXT = "text"
NUMBER = "number"
DATE = "date"
YES_NO = "yes_no"
ANSWER_TYPES = (NONE, CHOICE, TEXT, NUMBER, DATE, YES_NO)

# Branch conditions
ANY = "any"
EQUALS = "equals"
CHOICE_IS = "choice"
YES = "yes"
NO = "no"
RANGE = "range"
CONDITIONS = (ANY, EQUALS, CHOICE_IS, YES, NO, RANGE)
# Which conditions make sense for which answer type (ANY fits every type)
CONDITIONS_BY_TYPE = {
    NONE: (ANY,),
    CHOICE: (ANY, EQUALS, CHOICE_IS),
    TEXT: (ANY, EQUALS),
    NUMBER: (ANY, EQUALS, RANGE),
    DATE: (ANY, EQUALS),
    YES_NO: (ANY, EQUALS, YES, NO),
}

MAX_TEXT = 10000
YES_WORDS = frozenset({"yes", "y", "true", "1", "tak"})
NO_WORDS = frozenset({"no", "n", "false", "0", "nie"})

# English texts of the errors; the models show translated texts by ``code``.
MESSAGES = {
    # answers
    "required": "%(step)s: an answer is required.",
    "not_text": "%(step)s: the answer must be text.",
    "too_long": "%(step)s: the answer is longer than %(max)s characters.",
    "not_number": "%(step)s: %(value)s is not a number.",
    "not_date": "%(step)s: %(value)s is not a date (use YYYY-MM-DD).",
    "not_yes_no": "%(step)s: answer yes or no, not %(value)s.",
    "unknown_choice": "%(step)s: %(value)s is not one of the choices.",
    # scripts
    "duplicate_step": "Step %(step)s appears twice.",
    "unknown_answer_type": "%(step)s: unknown answer type %(value)s.",
    "no_choices": "%(step)s: a multiple-choice question needs choices.",
    "unknown_target": "%(step)s: a branch leads to a step that is not in this script.",
    "condition_mismatch": "%(step)s: the condition %(value)s does not fit this answer type.",
    "unknown_branch_choice": "%(step)s: a branch names a choice of another question.",
    "bad_range": "%(step)s: a range branch needs a lower or upper bound, lower below upper.",
    "bad_equals_value": "%(step)s: the branch value %(value)s is not a possible answer.",
    "cycle": "The script loops back: %(steps)s.",
    "unreachable": "%(step)s can never be reached.",
}


class ScriptError(ValueError):
    """An answer or a script that does not hold; ``code`` names the problem."""

    def __init__(self, code, step="", **params):
        self.code = code
        self.step = step
        self.params = params
        super().__init__(MESSAGES[code] % dict(params, step=step))


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class Branch:
    """Where to go after an answer. ``next_step_id`` ``END`` ends the script.

    ``value`` is compared to the answer for EQUALS; ``choice_id`` for
    CHOICE_IS; RANGE holds for ``min_value <= number <= max_value`` with
    ``None`` for an open bound.
    """

    condition: str = ANY
    next_step_id: int = END
    value: str = ""
    choice_id: int = 0
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Step:
    id: int
    sequence: int = 10
    name: str = ""
    answer_type: str = NONE
    required: bool = False
    choices: tuple = ()
    branches: tuple = ()

    @property
    def label(self):
        return self.name or f"#{self.id}"


@dataclass(frozen=True)
class Answer:
    """A checked answer. ``value`` is ``None`` for a step passed without one."""

    answer_type: str
    value: object = None
    display: str = ""

    @property
    def empty(self):
        return self.value is None


# ----------------------------------------------------------------------
# Answers
# ----------------------------------------------------------------------
def parse_number(value):
    """A float from a number or text such as ``1 234,50``; None when it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "").replace("_", "")
        if "," in text and "." in text:
            # the last separator is the decimal one: 1.234,50 or 1,234.50
            thousands = "." if text.rfind(",") > text.rfind(".") else ","
            text = text.replace(thousands, "")
        text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_date(value):
    """A date from a date, a datetime or ISO text (YYYY-MM-DD); None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text).date()
        except ValueError:
            return None
    return None


def parse_yes_no(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
    return None


def find_choice(step, value):
    """The step's choice given by its id or its label (case-insensitive)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return next((c for c in step.choices if c.id == value), None)
    if isinstance(value, str):
        label = value.strip().casefold()
        for choice in step.choices:
            if choice.name.strip().casefold() == label:
                return choice
        if label.isdigit():
            return find_choice(step, int(label))
    return None


def format_number(number):
    return str(int(number)) if number.is_integer() else repr(number)


def _is_empty(step, value):
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    # XML-RPC has no None: False means "no answer", except for a yes/no question
    return value is False and step.answer_type != YES_NO


def parse_answer(step, value):
    """Check ``value`` against the step and return an ``Answer``; ScriptError if wrong."""
    kind = step.answer_type
    if kind == NONE:
        return Answer(NONE)
    if _is_empty(step, value):
        if step.required:
            raise ScriptError("required", step.label)
        return Answer(kind)
    shown = str(value)[:80]
    if kind == TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ScriptError("not_text", step.label)
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            raise ScriptError("too_long", step.label, max=MAX_TEXT)
        return Answer(TEXT, text, text)
    if kind == NUMBER:
        number = parse_number(value)
        if number is None:
            raise ScriptError("not_number", step.label, value=shown)
        return Answer(NUMBER, number, format_number(number))
    if kind == DATE:
        day = parse_date(value)
        if day is None:
            raise ScriptError("not_date", step.label, value=shown)
        return Answer(DATE, day, day.isoformat())
    if kind == YES_NO:
        yes = parse_yes_no(value)
        if yes is None:
            raise ScriptError("not_yes_no", step.label, value=shown)
        return Answer(YES_NO, yes, "yes" if yes else "no")
    if kind == CHOICE:
        choice = find_choice(step, value)
        if choice is None:
            raise ScriptError("unknown_choice", step.label, value=shown)
        return Answer(CHOICE, choice.id, choice.name)
    raise ScriptError("unknown_answer_type", step.label, value=kind)


# ----------------------------------------------------------------------
# Branching
# ----------------------------------------------------------------------
def _equals(step, branch_value, answer):
    """Whether the branch's text value equals the answer (by the step's type)."""
    kind = step.answer_type
    if kind == TEXT:
        return branch_value.strip().casefold() == answer.value.casefold()
    if kind == NUMBER:
        number = parse_number(branch_value)
        return number is not None and math.isclose(number, answer.value, abs_tol=1e-9)
    if kind == DATE:
        return parse_date(branch_value) == answer.value
    if kind == YES_NO:
        yes = parse_yes_no(branch_value)
        return yes is not None and yes == answer.value
    if kind == CHOICE:
        choice = find_choice(step, branch_value)
        return choice is not None and choice.id == answer.value
    return False


def branch_matches(step, branch, answer):
    if branch.condition == ANY:
        return True
    if answer is None or answer.empty:
        return False
    if branch.condition == EQUALS:
        return _equals(step, branch.value, answer)
    if branch.condition == CHOICE_IS:
        return step.answer_type == CHOICE and answer.value == branch.choice_id
    if branch.condition in (YES, NO):
        return step.answer_type == YES_NO and answer.value == (branch.condition == YES)
    if branch.condition == RANGE:
        if step.answer_type != NUMBER:
            return False
        low, high = branch.min_value, branch.max_value
        return (low is None or answer.value >= low) and (high is None or answer.value <= high)
    return False


class Flow:
    """The steps of one script in order, with the ways between them."""

    def __init__(self, steps):
        self.steps = sorted(steps, key=lambda s: (s.sequence, s.id))
        self.by_id = {s.id: s for s in self.steps}
        self._position = {s.id: i for i, s in enumerate(self.steps)}

    @property
    def first(self):
        return self.steps[0].id if self.steps else END

    def following(self, step_id):
        """The next step by sequence, END after the last one."""
        position = self._position[step_id] + 1
        return self.steps[position].id if position < len(self.steps) else END

    def next_step(self, step_id, answer):
        """Where the script goes after this answer (a step id or END)."""
        step = self.by_id[step_id]
        for branch in step.branches:
            if branch_matches(step, branch, answer):
                target = branch.next_step_id
                return target if target in self.by_id else END
        return self.following(step_id)

    def walk(self, answers):
        """Follow the script from its first step through ``answers`` ({step id: Answer}).

        Returns the steps passed, in order, and the first step still waiting
        for an answer (END when the script was answered to its end).
        """
        passed, seen = [], set()
        step_id = self.first
        while step_id != END and step_id in answers and step_id not in seen:
            seen.add(step_id)
            passed.append(step_id)
            step_id = self.next_step(step_id, answers[step_id])
        return passed, step_id

    # ------------------------------------------------------------------
    # Shape of the script
    # ------------------------------------------------------------------
    def _live_branches(self, step):
        """The branches that can match: none after an ANY branch."""
        for branch in step.branches:
            yield branch
            if branch.condition == ANY:
                return

    def exhaustive(self, step):
        """Whether some branch always matches, so the step never falls through."""
        conditions = {b.condition for b in step.branches}
        if ANY in conditions:
            return True
        if not step.required:
            return False  # an empty answer matches no condition but ANY
        if step.answer_type == YES_NO:
            covered = {b.condition == YES for b in step.branches if b.condition in (YES, NO)}
            covered |= {parse_yes_no(b.value) for b in step.branches if b.condition == EQUALS} - {
                None
            }
            return covered == {True, False}
        if step.answer_type == CHOICE and step.choices:
            covered = {b.choice_id for b in step.branches if b.condition == CHOICE_IS}
            for branch in step.branches:
                if branch.condition == EQUALS:
                    choice = find_choice(step, branch.value)
                    covered.add(choice.id if choice else 0)
            return {c.id for c in step.choices} <= covered
        return False

    def targets(self, step_id):
        """The steps that may follow ``step_id`` (END left out), in order."""
        step = self.by_id[step_id]
        found = [b.next_step_id for b in self._live_branches(step) if b.next_step_id != END]
        if not self.exhaustive(step):
            found.append(self.following(step_id))
        result = []
        for target in found:
            if target != END and target not in result:
                result.append(target)
        return result

    def remaining(self, step_id):
        """Fewest and most steps from ``step_id`` (included) to the end."""
        memo = {}

        def visit(current, stack):
            if current in memo:
                return memo[current]
            if current in stack or current not in self.by_id:
                return (0, 0)  # a loop or a broken link: count nothing more
            stack.add(current)
            nexts = [visit(t, stack) for t in self.targets(current)]
            step = self.by_id[current]
            ends = any(
                b.next_step_id == END or b.next_step_id not in self.by_id
                for b in self._live_branches(step)
            ) or (not self.exhaustive(step) and self.following(current) == END)
            if ends:
                nexts.append((0, 0))
            stack.discard(current)
            low = min((n[0] for n in nexts), default=0)
            high = max((n[1] for n in nexts), default=0)
            memo[current] = (low + 1, high + 1)
            return memo[current]

        return visit(step_id, set()) if step_id in self.by_id else (0, 0)

    def problems(self):
        """Everything wrong with the script, as ScriptErrors (empty: fine)."""
        errors = []
        ids = [s.id for s in self.steps]
        for step_id in {i for i in ids if ids.count(i) > 1}:
            errors.append(ScriptError("duplicate_step", self.by_id[step_id].label))
        for step in self.steps:
            errors.extend(self._step_problems(step))
        if errors:
            return errors  # the graph below assumes sane steps
        errors.extend(self._cycles())
        reachable = self._reachable()
        for step in self.steps:
            if step.id not in reachable:
                errors.append(ScriptError("unreachable", step.label))
        return errors

    def _step_problems(self, step):
        errors = []
        if step.answer_type not in ANSWER_TYPES:
            return [ScriptError("unknown_answer_type", step.label, value=step.answer_type)]
        if step.answer_type == CHOICE and not step.choices:
            errors.append(ScriptError("no_choices", step.label))
        choice_ids = {c.id for c in step.choices}
        for branch in step.branches:
            if branch.next_step_id != END and branch.next_step_id not in self.by_id:
                errors.append(ScriptError("unknown_target", step.label))
            if branch.condition not in CONDITIONS_BY_TYPE[step.answer_type]:
                errors.append(ScriptError("condition_mismatch", step.label, value=branch.condition))
            elif branch.condition == CHOICE_IS and branch.choice_id not in choice_ids:
                errors.append(ScriptError("unknown_branch_choice", step.label))
            elif branch.condition == RANGE and (
                (branch.min_value is None and branch.max_value is None)
                or (
                    branch.min_value is not None
                    and branch.max_value is not None
                    and branch.min_value > branch.max_value
                )
            ):
                errors.append(ScriptError("bad_range", step.label))
            elif branch.condition == EQUALS:
                try:
                    parse_answer(step, branch.value)
                    valid = bool((branch.value or "").strip())
                except ScriptError:
                    valid = False
                if not valid:
                    errors.append(ScriptError("bad_equals_value", step.label, value=branch.value))
        return errors

    def _reachable(self):
        seen = set()
        todo = [self.first] if self.steps else []
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(self.targets(current))
        return seen

    def _cycles(self):
        """One error per loop found (depth-first, iterative)."""
        errors = []
        state = {}  # step id -> 1 on the stack, 2 done
        for root in self.steps:
            if root.id in state:
                continue
            stack = [(root.id, iter(self.targets(root.id)))]
            path = [root.id]
            state[root.id] = 1
            while stack:
                current, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[current] = 2
                    stack.pop()
                    path.pop()
                elif state.get(child) == 1:
                    loop = path[path.index(child) :] + [child]
                    names = " -> ".join(self.by_id[i].label for i in loop)
                    errors.append(ScriptError("cycle", self.by_id[child].label, steps=names))
                elif child not in state:
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(self.targets(child))))
        return errors


def progress(passed_count, remaining_max):
    """Percent done when ``passed_count`` steps are behind and at most
    ``remaining_max`` (the current one included) ahead."""
    total = passed_count + remaining_max
    return 100 if not total else round(100.0 * passed_count / total)


def render(html, values):
    """Replace ``{name}`` placeholders of a (sanitized) HTML text by escaped values."""
    result = Markup(html or "")
    for key, value in values.items():
        result = result.replace("{%s}" % key, escape(value or ""))
    return result
