import functools

from odoo import models
from odoo.osv import expression


class OmnichannelRulesSqlMixin(models.AbstractModel):
    """Record rules checked by PostgreSQL instead of in memory.

    Odoo 18 checks the record rules of a write, and of every read of an
    x2many field, by evaluating the rules' domain on the records in Python
    (``filtered_domain``), every leaf of it, loading each relational value
    the domain walks. The contact center's rules test the queue's members
    (``queue_id.member_ids``: every agent of the queue, hundreds in a large
    center): in memory that list was loaded again for each accept and each
    close of each agent, most of their time. Here the same domain is
    evaluated in one indexed query, as Odoo itself did up to 16 (same rules,
    same result: ``tests/test_rules_sql.py`` compares both on every role).
    """

    _name = "omnichannel.rules.sql.mixin"
    _description = "Record rules checked in SQL"

    def _check_access(self, operation):
        ids = [ident for ident in self._ids if isinstance(ident, int)]
        if self.env.su or not ids or len(ids) != len(self._ids):
            # new records (not in the database): Odoo's own evaluation
            return super()._check_access(operation)
        if not self.env["ir.model.access"].check(self._name, operation, raise_exception=False):
            return super()._check_access(operation)
        Rule = self.env["ir.rule"]
        domain = Rule._compute_domain(self._name, operation)
        if not domain:
            return None
        # sudo: the rules' own domain is the filter (applied here, not by the ORM);
        # archived records are checked too, as Odoo's evaluation checks them
        allowed = set(
            self.sudo()
            .with_context(active_test=False)
            .search(expression.AND([[("id", "in", ids)], domain]))
            ._ids
        )
        forbidden = self.browse([ident for ident in ids if ident not in allowed])
        if forbidden:
            return forbidden, functools.partial(Rule._make_access_error, operation, forbidden)
        return None
