"""Call scripts on interactions: which script, the current step, answers, back.

``script_current_step``, ``script_answer`` and ``script_back`` are public:
the agent console, the "Run script" wizard and integrations over XML-RPC all
drive a script through them. State kept on the interaction is small: the
answers (one per step) and the step shown now; the way through the script is
replayed from the answers each time, so editing an earlier answer re-routes
the rest and drops the answers of steps no longer on the way.
"""

from collections import namedtuple

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..tools import script as script_tools
from .omnichannel_interaction import FINAL_STATES

SUPERVISOR_GROUP = "omnichannel_cc.group_omnichannel_supervisor"

ScriptState = namedtuple(
    "ScriptState", "flow records answers passed frontier route current position"
)


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    script_id = fields.Many2one(
        "omnichannel.script",
        compute="_compute_script_id",
        store=True,
        readonly=False,
        index="btree_not_null",
        help="The call script of this interaction: the queue's unless chosen here.",
    )
    script_answer_ids = fields.One2many(
        "omnichannel.script.answer", "interaction_id", string="Script answers"
    )
    script_step_id = fields.Many2one(
        "omnichannel.script.step",
        string="Current script step",
        ondelete="set null",
        copy=False,
        readonly=True,
        help="Empty: the first step not answered yet.",
    )
    script_done = fields.Boolean(string="Script completed", copy=False, readonly=True, index=True)

    @api.depends("queue_id")
    def _compute_script_id(self):
        for rec in self:
            started = rec.script_id and any(
                answer.script_id == rec.script_id for answer in rec.script_answer_ids
            )
            if not started:
                rec.script_id = rec._script_default() or rec.script_id

    def write(self, vals):
        changed = self.browse()
        if "script_id" in vals:
            changed = self.filtered(lambda rec: rec.script_id.id != (vals["script_id"] or False))
        result = super().write(vals)
        if changed:
            # another script: start it from its first step
            super(OmnichannelInteraction, changed).write(
                {"script_step_id": False, "script_done": False}
            )
        return result

    def _script_default(self):
        """The script an interaction follows when nobody chose one: its queue's.

        Campaigns and channels may override this to put theirs first.
        """
        self.ensure_one()
        script = self.queue_id.script_id
        return script if script.active else script.browse()

    # ------------------------------------------------------------------
    # Public API (UI, agent console, XML-RPC)
    # ------------------------------------------------------------------
    def script_current_step(self):
        """The step to show now, or ``{"done": True, ...}`` at the end.

        Keys of a step: ``script_id``, ``script_name``, ``step_id``, ``title``,
        ``text`` (HTML with the placeholders filled in), ``answer_type``,
        ``required``, ``choices`` ([{id, name}]), ``answer`` (the previous
        answer {value, display} or False), ``progress`` (position, passed,
        remaining_min, remaining_max, percent), ``can_go_back`` and
        ``answers`` (the answers so far: [{step_id, question, value}]).
        """
        self.ensure_one()
        self.check_access("read")
        if not self.script_id:
            return {
                "done": True,
                "script_id": False,
                "script_name": False,
                "answers": [],
                "can_go_back": False,
                "progress": {"percent": 100},
            }
        state = self._script_state()
        return self._script_payload(state)

    def script_answer(self, step_id, value=None):
        """Check and store the answer to a step, then return the next step (as
        ``script_current_step``). A wrong answer raises and changes nothing."""
        self.ensure_one()
        self._script_check_writable()
        self._script_lock()
        state = self._script_state()
        if not isinstance(step_id, int) or step_id not in state.route:
            raise UserError(
                _(
                    "This step is not on the way through the script of %(name)s now.",
                    name=self.name,
                )
            )
        try:
            answer = script_tools.parse_answer(state.flow.by_id[step_id], value)
        except script_tools.ScriptError as error:
            raise ValidationError(self.script_id._script_error_text(error)) from error

        step = self.env["omnichannel.script.step"].browse(step_id)
        vals = self.env["omnichannel.script.answer"]._script_vals(step, answer)
        existing = state.records.get(step_id)
        if existing:
            existing.write(vals)
        else:
            self.env["omnichannel.script.answer"].create(dict(vals, interaction_id=self.id))

        answers = dict(state.answers)
        answers[step_id] = answer
        next_id = state.flow.next_step(step_id, answer)
        passed, frontier = state.flow.walk(answers)
        on_way = set(passed)
        stale = self.env["omnichannel.script.answer"].union(
            *(rec for sid, rec in state.records.items() if sid not in on_way)
        )
        # answers of steps no longer on the way: the write access was checked above
        stale.sudo().unlink()
        self.write(
            {"script_step_id": next_id or False, "script_done": frontier == script_tools.END}
        )
        return self.script_current_step()

    def script_back(self):
        """Go back one step (its answer is kept and shown); returns that step."""
        self.ensure_one()
        self._script_check_writable()
        self._script_lock()
        state = self._script_state()
        if state.position == 0:
            raise UserError(_("This is the first step of the script."))
        self.write({"script_step_id": state.route[state.position - 1]})
        return self.script_current_step()

    def action_script_run(self):
        """Open the script wizard on the current step."""
        self.ensure_one()
        if not self.script_id:
            raise UserError(_("Interaction %(name)s has no script.", name=self.name))
        return self.env["omnichannel.script.run"]._action_open(self)

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _script_check_writable(self):
        self.check_access("write")
        if not self.script_id:
            raise UserError(_("Interaction %(name)s has no script.", name=self.name))
        if self.state in FINAL_STATES and not self.env.user.has_group(SUPERVISOR_GROUP):
            raise UserError(
                _(
                    "Interaction %(name)s is closed: only a supervisor may change its "
                    "script answers.",
                    name=self.name,
                )
            )

    def _script_lock(self):
        """Serialise answers of one interaction (two tabs, console and wizard)."""
        self.env.cr.execute(
            SQL("SELECT id FROM omnichannel_interaction WHERE id = %s FOR UPDATE", self.id)
        )

    def _script_state(self):
        """Replay the script through the stored answers."""
        self.ensure_one()
        script = self.script_id
        flow = script._script_flow()
        records = {
            answer.step_id.id: answer
            for answer in self.script_answer_ids
            if answer.script_id == script and answer.step_id.id in flow.by_id
        }
        answers = {step_id: answer._script_plain() for step_id, answer in records.items()}
        passed, frontier = flow.walk(answers)
        route = passed + ([frontier] if frontier != script_tools.END else [])
        current = self.script_step_id.id
        if not current or current not in route:
            current = frontier
        position = route.index(current) if current in route else len(route)
        return ScriptState(flow, records, answers, passed, frontier, route, current, position)

    def _script_render_values(self):
        return {
            "customer": self.partner_id.name or self.contact_address or _("the customer"),
            "agent": self.agent_id.name or self.env.user.name,
            "company": self.company_id.name,
        }

    def _script_payload(self, state):
        script = self.script_id
        answers = [
            {
                "step_id": step_id,
                "question": state.records[step_id].question,
                "value": state.records[step_id].value_display or "",
            }
            for step_id in state.passed
        ]
        common = {
            "script_id": script.id,
            "script_name": script.name,
            "answers": answers,
            "can_go_back": state.position > 0,
        }
        if state.current == script_tools.END:
            return dict(
                common,
                done=True,
                progress={
                    "position": len(state.passed),
                    "passed": len(state.passed),
                    "remaining_min": 0,
                    "remaining_max": 0,
                    "percent": 100,
                },
            )
        step = self.env["omnichannel.script.step"].browse(state.current)
        low, high = state.flow.remaining(step.id)
        previous = state.records.get(step.id)
        text = script_tools.render(step.text or "", self._script_render_values())
        return dict(
            common,
            done=False,
            step_id=step.id,
            title=step.name,
            text=str(text),
            answer_type=step.answer_type,
            required=step.required,
            choices=[{"id": c.id, "name": c.name} for c in step.choice_ids],
            answer=(
                {"value": previous._script_value(), "display": previous.value_display or ""}
                if previous
                else False
            ),
            progress={
                "position": state.position + 1,
                "passed": state.position,
                "remaining_min": low,
                "remaining_max": high,
                "percent": script_tools.progress(state.position, high),
            },
        )
