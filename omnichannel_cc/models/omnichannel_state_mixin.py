from odoo import _, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class OmnichannelStateMixin(models.AbstractModel):
    """The one state machine of a contact center record (interactions,
    offers, PBX commands): every state change goes through ``_set_state``.

    A model lists its transitions in ``_state_transitions`` (state -> states
    it may move to) and may override ``_state_write`` to add what its
    transitions imply (time stamps, notifications).
    """

    _name = "omnichannel.state.mixin"
    _description = "Contact center state machine"
    _state_transitions = {}

    def _set_state(self, new_state, guard=None, **vals):
        """Move ``self`` to ``new_state``, writing ``vals`` with it, through the
        ORM (tracked, listeners run); refuse a transition the table forbids.

        ``guard`` (True, or an ``SQL`` condition) makes the change a claim safe
        under concurrency: a conditional UPDATE moves only the rows still in a
        state that may reach ``new_state`` (and matching the condition); the
        others are left alone, not refused. Returns the records that changed.
        """
        allowed_from = tuple(
            state for state, targets in self._state_transitions.items() if new_state in targets
        )
        records = self
        if guard:
            # read the current values first: tracking compares with them
            self.mapped("state")
            self.flush_recordset()
            condition = guard if isinstance(guard, SQL) else SQL("TRUE")
            self.env.cr.execute(
                SQL(
                    """UPDATE %s SET state = %s
                        WHERE id IN %s AND state IN %s AND %s
                    RETURNING id""",
                    SQL.identifier(self._table),
                    new_state,
                    tuple(self.ids) or (None,),
                    allowed_from or (None,),
                    condition,
                ),
                log_exceptions=False,
            )
            moved = {row[0] for row in self.env.cr.fetchall()}
            records = self.filtered(lambda rec: rec.id in moved)
        for rec in records:
            if rec.state not in allowed_from:
                labels = dict(self._fields["state"]._description_selection(self.env))
                raise UserError(
                    _(
                        "%(record)s is %(state)s and cannot become %(new)s.",
                        record=rec.display_name,
                        state=labels[rec.state],
                        new=labels[new_state],
                    )
                )
        if records:
            records._state_write(new_state, vals)
        return records

    def _state_write(self, new_state, vals):
        """Write the new state (the transition is already checked)."""
        self.write(dict(vals, state=new_state))
