"""Issue 19: the access matrix, over XML-RPC against the session's real server.

Every model of the suite's addons (read from the registry at run time: a new
model missing from TABLE fails the test) x agent, supervisor, manager, the
manager of another company, a portal user and the public user x read /
create / write / unlink (+ ``read_group``). Record rules are checked on sample
records tagged by whose they are: ``own`` (the agent's, in her queue), ``team``
(another agent's in that queue, supervised by the supervisor), ``other``
(another queue of company A, nobody's team) and ``b`` (company B).

Secrets (``groups=`` manager fields holding tokens and passwords) are then
probed as agent and supervisor through every path: read, search, read_group,
export, default_get and a mail template rendering them; managers read them.
"""

import collections
import json
import time
import urllib.request
import uuid
import xmlrpc.client

import pytest

from tests.conftest import ADDONS

pytestmark = pytest.mark.e2e

FAULT_ACCESS_ERROR = 4  # odoo/addons/base/controllers/rpc.py
FAULT_ACCESS_DENIED = 3
ROLES = ("agent", "supervisor", "manager", "manager_b", "portal")
REFUSED = "refused"
PASSED = "passed"  # the access check let the call through (done, or refused for another reason)
NO_RECORD = 2**31 - 1  # an id no model has: the ACL answers before the record rules


def row(agent, supervisor, manager):
    """Allowed operations (subset of "rwcu", "-" for none) per role; the
    manager of company B has the manager's rights on her own company only;
    portal and public users get nothing."""
    return {
        "agent": agent,
        "supervisor": supervisor,
        "manager": manager,
        "manager_b": manager,
        "portal": "-",
    }


# model -> role -> allowed operations. Reports (_auto=False) and logs: read only.
TABLE = {
    "omnichannel.agent": row("r", "rw", "rwcu"),
    "omnichannel.agent.scorecard": row("r", "r", "r"),
    "omnichannel.agent.skill": row("r", "rwcu", "rwcu"),
    "omnichannel.agent.state.log": row("r", "r", "rwcu"),
    "omnichannel.agent.state.report": row("r", "r", "r"),
    "omnichannel.break.reason": row("r", "r", "rwcu"),
    "omnichannel.callback": row("rwc", "rwcu", "rwcu"),
    "omnichannel.campaign": row("r", "rwc", "rwcu"),
    "omnichannel.campaign.contact": row("r", "rwcu", "rwcu"),
    "omnichannel.campaign.dial": row("-", "r", "r"),
    "omnichannel.campaign.dnc": row("-", "rwcu", "rwcu"),
    "omnichannel.campaign.pacing.log": row("-", "r", "r"),
    "omnichannel.campaign.report": row("r", "r", "r"),
    "omnichannel.case": row("rwc", "rwc", "rwcu"),
    "omnichannel.channel": row("r", "r", "rwcu"),
    "omnichannel.disposition": row("r", "rwc", "rwcu"),
    "omnichannel.event.inbox": row("-", "-", "r"),
    "omnichannel.event.key": row("-", "-", "r"),
    "omnichannel.fax.send": row("rwcu", "rwcu", "rwcu"),
    "omnichannel.interaction": row("rwc", "rwc", "rwcu"),
    "omnichannel.interaction.report": row("r", "r", "r"),
    "omnichannel.invitation": row("rwc", "rwc", "rwcu"),
    "omnichannel.invitation.attempt": row("-", "-", "-"),
    "omnichannel.invitation.create": row("rwcu", "rwcu", "rwcu"),
    "omnichannel.offer": row("r", "r", "rwcu"),
    "omnichannel.queue": row("r", "rw", "rwcu"),
    "omnichannel.queue.member": row("r", "rwcu", "rwcu"),
    "omnichannel.routing.rule": row("r", "rwcu", "rwcu"),
    "omnichannel.script": row("r", "rwcu", "rwcu"),
    "omnichannel.script.answer": row("rwc", "rwc", "rwcu"),
    "omnichannel.script.branch": row("r", "rwcu", "rwcu"),
    "omnichannel.script.choice": row("r", "rwcu", "rwcu"),
    "omnichannel.script.run": row("rwcu", "rwcu", "rwcu"),
    "omnichannel.script.step": row("r", "rwcu", "rwcu"),
    "omnichannel.skill": row("r", "rwc", "rwcu"),
    "omnichannel.sms.media": row("-", "-", "rwu"),
    "omnichannel.social.identity": row("rw", "rw", "rwcu"),
    "omnichannel.staffing.plan": row("-", "rwcu", "rwcu"),
    "omnichannel.staffing.plan.chart": row("-", "r", "r"),
    "omnichannel.staffing.plan.line": row("-", "r", "r"),
    "omnichannel.survey.invitation": row("r", "rw", "rwu"),
    "omnichannel.survey.report": row("r", "r", "r"),
    "omnichannel.voip.command": row("-", "-", "r"),
    "omnichannel.webform.submission": row("-", "-", "ru"),
}
READ_ONLY = {
    "omnichannel.agent.scorecard",
    "omnichannel.agent.state.report",
    "omnichannel.campaign.report",
    "omnichannel.interaction.report",
    "omnichannel.survey.report",
    "omnichannel.staffing.plan.chart",
    "omnichannel.staffing.plan.line",
    "omnichannel.campaign.dial",
    "omnichannel.campaign.pacing.log",
    "omnichannel.voip.command",
    "omnichannel.event.inbox",
    "omnichannel.event.key",
}
# Abstract models have no table and no access of their own.
ABSTRACT = {"omnichannel.state.mixin", "omnichannel.rules.sql.mixin"}

# model -> role -> sample tags that role reads (the others must stay hidden).
A_ALL = {"own", "team", "other"}
SCOPE = {
    "omnichannel.queue": {
        "agent": {"own"},
        "supervisor": {"own"},
        "manager": {"own", "other"},
        "manager_b": {"b"},
    },
    "omnichannel.channel": {
        "agent": {"own", "other"},
        "supervisor": {"own", "other"},
        "manager": {"own", "other"},
        "manager_b": {"b"},
    },
    "omnichannel.interaction": {
        "agent": {"own"},
        "supervisor": {"own", "team"},
        "manager": A_ALL,
        "manager_b": {"b"},
    },
    "omnichannel.case": {
        "agent": {"own", "team"},
        "supervisor": {"own", "team"},
        "manager": A_ALL,
        "manager_b": {"b"},
    },
    "omnichannel.offer": {
        "agent": {"own"},
        "supervisor": {"own", "team"},
        "manager": A_ALL,
        "manager_b": {"b"},
    },
    "omnichannel.callback": {
        "agent": {"own", "team"},
        "supervisor": {"own", "team"},
        "manager": A_ALL,
        "manager_b": {"b"},
    },
    "omnichannel.campaign": {
        "agent": {"own"},
        "supervisor": {"own"},
        "manager": {"own", "other"},
        "manager_b": {"b"},
    },
    "omnichannel.campaign.contact": {
        "agent": {"own"},
        "supervisor": {"own"},
        "manager": {"own", "other"},
        "manager_b": {"b"},
    },
    "omnichannel.campaign.dnc": {
        "supervisor": {"own"},
        "manager": {"own", "other"},
        "manager_b": {"b"},
    },
    "omnichannel.agent": {
        "agent": {"own"},
        "supervisor": {"own", "team"},
        "manager": A_ALL,
        "manager_b": {"b"},
    },
    "omnichannel.queue.member": {
        "agent": {"own", "other"},
        "supervisor": {"own", "other"},
        "manager": {"own", "other"},
        "manager_b": {"b"},
    },
    "omnichannel.routing.rule": {
        "agent": {"own", "other"},
        "supervisor": {"own", "other"},
        "manager": {"own", "other"},
        "manager_b": {"b"},
    },
    "omnichannel.script": {
        "agent": {"own"},
        "supervisor": {"own"},
        "manager": {"own"},
        "manager_b": {"b"},
    },
    "omnichannel.script.answer": {
        "agent": {"own"},
        "supervisor": {"own", "team"},
        "manager": A_ALL,
        "manager_b": {"b"},
    },
    "omnichannel.social.identity": {
        "agent": {"own"},
        "supervisor": {"own"},
        "manager": {"own"},
        "manager_b": {"b"},
    },
}

# Fields holding secrets: readable by managers only (``None``: by no one but
# the system, e.g. invitation tokens). Found in the registry by name; a new
# one missing here fails the test.
PROOF = collections.Counter()  # on what the create / write / unlink cells were proven
TEMPLATE_OUTCOMES = collections.Counter()  # how the mail template probes ended
SECRETS = {
    ("omnichannel.channel", "voip_secret"): "manager",
    ("omnichannel.channel", "voip_token"): "manager",
    ("omnichannel.channel", "voip_ami_secret"): "manager",
    ("omnichannel.channel", "sms_secret"): "manager",
    ("omnichannel.channel", "sms_token"): "manager",
    ("omnichannel.channel", "social_webhook_token"): "manager",
    ("omnichannel.channel", "social_verify_token"): "manager",
    ("omnichannel.channel", "social_app_secret"): "manager",
    ("omnichannel.channel", "social_access_token"): "manager",
    # the URLs the gateways call carry the tokens
    ("omnichannel.channel", "sms_inbound_url"): "manager",
    ("omnichannel.channel", "sms_status_url"): "manager",
    ("omnichannel.channel", "social_webhook_url"): "manager",
    # read and written through omnichannel_sip_password, checked per record
    ("res.users", "omnichannel_sip_secret"): None,
    ("res.users", "omnichannel_sip_password"): "manager",
    ("omnichannel.invitation", "token"): None,
    ("omnichannel.invitation", "token_hash"): None,
    ("omnichannel.invitation", "signature"): None,
    ("omnichannel.survey.invitation", "access_token"): None,
}
# Leaks found and not fixed yet: (model, field, role). Empty: keep it so.
# (The SIP passwords of company A, which a manager of company B read through
# Odoo's rule showing every internal user to every internal user, are now
# checked record by record: res.users._omnichannel_sip_allowed.)
KNOWN_LEAKS = set()
MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"
# a field written by the write cells (elsewhere: nothing but the write stamps)
HARMLESS_WRITE = {"omnichannel.channel": ("name",)}  # the alias mixin skips an empty write
# models whose company defaults to the user's current one, not the queue's
COMPANY_DEFAULTED = {
    "omnichannel.interaction",
    "omnichannel.case",
    "omnichannel.callback",
    "omnichannel.campaign",
    "omnichannel.routing.rule",
}


def short(value):
    """One line of an answer or a fault (the last line of a traceback)."""
    lines = [line for line in str(value).splitlines() if line.strip()]
    if not lines:
        return repr(value)
    return (lines[-1] if lines[0].startswith("Traceback") else lines[0])[:160]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def phone():
    return f"+4822{uuid.uuid4().int % 10**7:07d}"


class Caller:
    """XML-RPC as one user; every call returns ``(REFUSED|PASSED, value)``."""

    def __init__(self, rpc, uid, password):
        self.rpc, self.uid, self.password = rpc, uid, password
        self.proxy = rpc.proxy()

    def __call__(self, model, method, *args, **kwargs):
        try:
            value = self.proxy.execute_kw(
                self.rpc.db, self.uid, self.password, model, method, list(args), kwargs
            )
        except xmlrpc.client.Fault as fault:
            if fault.faultCode in (FAULT_ACCESS_ERROR, FAULT_ACCESS_DENIED):
                return REFUSED, fault.faultString
            return PASSED, fault.faultString
        return PASSED, value


class World:
    """Companies A and B, the users and one sample record per tag and model."""

    def __init__(self, rpc):
        self.rpc = rpc
        self.samples = {}  # model -> tag -> id
        self.company_a = rpc.ref("base.main_company")
        self.company_b = rpc.call("res.company", "create", {"name": unique("Company B")})
        rpc.call("res.users", "write", [rpc.uid], {"company_ids": [(4, self.company_b)]})
        self.users = {}
        agent_group = rpc.ref("omnichannel_cc.group_omnichannel_agent")
        groups = {
            "agent": agent_group,
            "agent2": agent_group,
            "agent3": agent_group,
            "agent_b": agent_group,
            "supervisor": rpc.ref("omnichannel_cc.group_omnichannel_supervisor"),
            "manager": rpc.ref(MANAGER_GROUP),
            "manager_b": rpc.ref(MANAGER_GROUP),
            "portal": rpc.ref("base.group_portal"),
        }
        for name, group in groups.items():
            company = self.company_b if name.endswith("_b") else self.company_a
            login, password = unique(f"am-{name}"), unique("pw")
            user_id = rpc.call(
                "res.users",
                "create",
                {
                    "name": f"AM {name}",
                    "login": login,
                    "password": password,
                    "company_id": company,
                    "company_ids": [(6, 0, [company])],
                    "groups_id": [(6, 0, [group])],
                },
            )
            self.users[name] = {
                "id": user_id,
                "uid": rpc.login(login, password),
                "password": password,
                "company": company,
            }
        self.partner = rpc.call("res.partner", "create", {"name": unique("AM customer")})
        self.partner_b = rpc.call(
            "res.partner",
            "create",
            {"name": unique("AM customer B"), "company_id": self.company_b},
        )
        uid = self.users
        self.queue = {
            "own": self.make(
                "omnichannel.queue",
                "own",
                {
                    "name": unique("AM Q own"),
                    "member_ids": [(6, 0, [uid["agent"]["id"], uid["agent2"]["id"]])],
                    "supervisor_ids": [(6, 0, [uid["supervisor"]["id"]])],
                },
            ),
            "other": self.make(
                "omnichannel.queue",
                "other",
                {"name": unique("AM Q other"), "member_ids": [(6, 0, [uid["agent3"]["id"]])]},
            ),
            "b": self.make(
                "omnichannel.queue",
                "b",
                {
                    "name": unique("AM Q b"),
                    "company_id": self.company_b,
                    "member_ids": [(6, 0, [uid["agent_b"]["id"]])],
                },
            ),
        }
        self.queue["team"] = self.queue["own"]
        # new scripts take their queue from the previous one: the cells' own queue
        self.script_queue = rpc.call(
            "omnichannel.queue",
            "create",
            {
                "name": unique("AM Q scripts"),
                "supervisor_ids": [(6, 0, [uid["supervisor"]["id"]])],
            },
        )
        self.secret_value = unique("s3cr3t")
        phone_channel = {"channel_type": "phone", "voip_secret": self.secret_value}
        self.channel = {
            "own": self.make("omnichannel.channel", "own", self.channel_vals("own", phone_channel)),
            "other": self.make("omnichannel.channel", "other", self.channel_vals("other")),
            "b": self.make("omnichannel.channel", "b", self.channel_vals("b")),
        }
        self.channel["team"] = self.channel["own"]
        self.sms_channel = rpc.call(
            "omnichannel.channel",
            "create",
            self.channel_vals(
                "own",
                {"channel_type": "sms", "sms_token": self.secret_value, "sms_secret": "x"},
            ),
        )
        self.social_channel = rpc.call(
            "omnichannel.channel",
            "create",
            self.channel_vals(
                "own",
                {
                    "channel_type": "social",
                    "social_platform": "messenger",
                    "address": unique("page"),
                    "social_app_secret": self.secret_value,
                    "social_access_token": self.secret_value,
                },
            ),
        )
        owner = {"own": "agent", "team": "agent2", "other": "agent3", "b": "agent_b"}
        self.owner = owner
        self.interaction = {}
        for tag, user in owner.items():
            self.interaction[tag] = self.make(
                "omnichannel.interaction",
                tag,
                {
                    "channel_id": self.channel[tag],
                    "queue_id": self.queue[tag],
                    "agent_id": uid[user]["id"],
                    "partner_id": self.partner_of(tag),
                    "state": "active",
                    "company_id": self.company_of(tag),
                },
            )
            self.make("omnichannel.case", tag, self.create_vals("omnichannel.case", tag, user))
            self.make("omnichannel.offer", tag, self.create_vals("omnichannel.offer", tag, user))
            self.make(
                "omnichannel.callback", tag, self.create_vals("omnichannel.callback", tag, user)
            )
            self.make(
                "omnichannel.script.answer",
                tag,
                self.create_vals("omnichannel.script.answer", tag, user),
            )
            agents = rpc.call(
                "omnichannel.agent", "search", [("user_id", "=", uid[user]["id"])]
            ) or [
                rpc.call(
                    "omnichannel.agent",
                    "create",
                    {"user_id": uid[user]["id"], "company_id": self.company_of(tag)},
                )
            ]
            self.samples.setdefault("omnichannel.agent", {})[tag] = agents[0]
        for tag in ("own", "other", "b"):
            self.campaign = self.samples.get("omnichannel.campaign", {})
            self.make("omnichannel.campaign", tag, self.create_vals("omnichannel.campaign", tag))
            self.make(
                "omnichannel.campaign.contact",
                tag,
                self.create_vals("omnichannel.campaign.contact", tag, owner[tag]),
            )
            self.make(
                "omnichannel.campaign.dnc", tag, self.create_vals("omnichannel.campaign.dnc", tag)
            )
            self.make(
                "omnichannel.routing.rule", tag, self.create_vals("omnichannel.routing.rule", tag)
            )
            self.samples.setdefault("omnichannel.queue.member", {})[tag] = rpc.call(
                "omnichannel.queue.member",
                "search",
                [("queue_id", "=", self.queue[tag]), ("user_id", "=", uid[owner[tag]]["id"])],
            )[0]
        for tag in ("own", "b"):
            vals = self.create_vals("omnichannel.script", tag)
            vals["queue_ids"] = [(6, 0, [self.queue[tag]])]
            self.make("omnichannel.script", tag, vals)
        self.make(
            "omnichannel.social.identity",
            "own",
            self.create_vals("omnichannel.social.identity", "own"),
        )
        self.make("omnichannel.skill", "own", self.create_vals("omnichannel.skill", "own"))
        self.make(
            "omnichannel.break.reason", "own", self.create_vals("omnichannel.break.reason", "own")
        )
        self.make(
            "omnichannel.disposition", "own", self.create_vals("omnichannel.disposition", "own")
        )
        self.make(
            "omnichannel.script.step", "own", self.create_vals("omnichannel.script.step", "own")
        )
        for model in ("omnichannel.script.choice", "omnichannel.script.branch"):
            self.make(model, "own", self.create_vals(model, "own"))
        self.make(
            "omnichannel.agent.skill", "own", self.create_vals("omnichannel.agent.skill", "own")
        )

    def company_of(self, tag):
        return self.company_b if tag == "b" else self.company_a

    def partner_of(self, tag):
        return self.partner_b if tag == "b" else self.partner

    def channel_vals(self, tag, extra=None):
        vals = {
            "name": unique(f"AM {tag}"),
            "channel_type": "phone",
            "address": phone(),
            "queue_id": self.queue[tag],
        }
        if tag == "b":
            vals["company_id"] = self.company_b
        return dict(vals, **(extra or {}))

    def make(self, model, tag, vals):
        record = self.rpc.call(model, "create", vals)
        self.samples.setdefault(model, {})[tag] = record
        return record

    def create_vals(self, model, tag, user=None):
        """Minimal valid values of a new record of ``model`` in the tag's
        company and queue (``None``: no such values, the model is filled by
        the application itself)."""
        uid = self.users[user or self.owner[tag]]["id"]
        company = self.company_b if tag == "b" else self.company_a
        samples = {
            m: by_tag.get(tag) or (by_tag.get("own") if tag != "b" else None)
            for m, by_tag in self.samples.items()
        }
        vals = {
            "omnichannel.queue": {"name": unique("AM Q")},
            "omnichannel.channel": {
                "name": unique("AM ch"),
                "address": phone(),
                "queue_id": self.queue[tag],
            },
            "omnichannel.interaction": {
                "channel_id": self.channel[tag],
                "queue_id": self.queue[tag],
            },
            "omnichannel.case": {
                "subject": unique("AM case"),
                "partner_id": self.partner_of(tag),
                "queue_id": self.queue[tag],
                "user_id": uid,
            },
            "omnichannel.offer": {
                "interaction_id": self.interaction[tag],
                "user_id": uid,
                "queue_id": self.queue[tag],
            },
            "omnichannel.callback": {
                "phone": phone(),
                "queue_id": self.queue[tag],
                "channel_id": self.channel[tag],
                "user_id": uid,
            },
            "omnichannel.script.answer": {
                "interaction_id": self.interaction[tag],
                "question": unique("AM question"),
            },
            "omnichannel.campaign": {"name": unique("AM campaign"), "queue_id": self.queue[tag]},
            "omnichannel.campaign.contact": {
                "campaign_id": samples.get("omnichannel.campaign"),
                "partner_id": self.partner_of(tag),
                "user_id": uid,
            },
            "omnichannel.campaign.dnc": {
                "campaign_id": samples.get("omnichannel.campaign"),
                "number": phone(),
            },
            # on the matrix's own channel only: a rule without conditions would
            # route every contact of the shared test server to the matrix's queue
            "omnichannel.routing.rule": {
                "name": unique("AM rule"),
                "queue_id": self.queue[tag],
                "channel_ids": [(6, 0, [self.channel[tag]])],
            },
            "omnichannel.script": {
                "name": unique("AM script"),
                "company_id": company,
                "queue_ids": [(6, 0, [self.script_queue])] if tag != "b" else [],
            },
            "omnichannel.script.step": {
                "script_id": samples.get("omnichannel.script"),
                "name": unique("AM step"),
            },
            "omnichannel.script.choice": {
                "step_id": samples.get("omnichannel.script.step"),
                "name": unique("AM choice"),
            },
            "omnichannel.script.branch": {"step_id": samples.get("omnichannel.script.step")},
            "omnichannel.social.identity": {
                "channel_id": self.social_channel if tag != "b" else None,
                "external_id": unique("psid"),
            },
            "omnichannel.skill": {"name": unique("AM skill")},
            "omnichannel.script.run": {"interaction_id": self.interaction[tag]},
            "omnichannel.fax.send": {"channel_id": self.channel[tag], "fax_number": phone()},
            "omnichannel.invitation.create": {"partner_id": self.partner_of(tag)},
            "omnichannel.break.reason": {"name": unique("AM break")},
            "omnichannel.disposition": {"name": unique("AM disp"), "code": unique("am")},
            "omnichannel.agent.skill": {
                "agent_id": self.samples.get("omnichannel.agent", {}).get("own"),
                "skill_id": samples.get("omnichannel.skill"),
            },
        }
        if model in COMPANY_DEFAULTED:
            vals[model]["company_id"] = company
        if model in ("omnichannel.agent.skill",) and vals[model]["skill_id"]:
            # one skill per agent: a new skill for every new row
            vals[model]["skill_id"] = self.rpc.call(
                "omnichannel.skill", "create", {"name": unique("AM skill")}
            )
        return vals.get(model)


@pytest.fixture(scope="module")
def world(odoo_server):
    return World(odoo_server)


def registry_models(rpc):
    """The suite's models, from ir.model: name -> (transient, has company_id)."""
    rows = rpc.call(
        "ir.model",
        "search_read",
        [("model", "=like", "omnichannel.%")],
        fields=["model", "modules", "transient"],
    )
    models = {}
    for model in rows:
        modules = {name.strip() for name in (model["modules"] or "").split(",")}
        if modules & set(ADDONS):
            models[model["model"]] = model["transient"]
    companies = rpc.call(
        "ir.model.fields",
        "search_read",
        [("model", "in", list(models)), ("name", "=", "company_id"), ("store", "=", True)],
        fields=["model"],
    )
    company_models = {field["model"] for field in companies}
    return {name: (transient, name in company_models) for name, transient in models.items()}


def callers(rpc, world):
    return {
        role: Caller(rpc, world.users[role]["uid"], world.users[role]["password"]) for role in ROLES
    }


def test_every_model_of_the_registry_is_classified(odoo_server):
    models = registry_models(odoo_server)
    missing = sorted(set(models) - set(TABLE) - ABSTRACT)
    assert not missing, f"models missing from TABLE (classify their access): {missing}"
    gone = sorted(set(TABLE) - set(models))
    assert not gone, f"TABLE lists models the registry no longer has: {gone}"
    # reports (SQL views, _auto=False) and the dialer's logs: read only, for everyone
    writable = {
        model: rights
        for model, rights in TABLE.items()
        if model in READ_ONLY and set("wcu") & set("".join(rights.values()))
    }
    assert not writable, f"read-only models writable in TABLE: {writable}"


def check_model(rpc, world, callers_, model, has_company, failures):
    """Every cell of one model; returns the number of cells checked."""
    cells = 0
    for role in ROLES:
        cells += check_read(world, callers_[role], model, role, has_company, failures)
        cells += check_changes(rpc, world, callers_[role], model, role, failures)
    return cells


def check_read(world, call, model, role, has_company, failures):
    """search_read and read_group on the samples (or everything when the model
    has none): allowed or refused as TABLE says, scoped as SCOPE says."""
    cells = 0
    allowed, where = TABLE[model][role], f"{model} as {role}"
    samples = world.samples.get(model, {})
    ids = sorted(set(samples.values()))
    domain = [("id", "in", ids)] if ids else []
    fields = ["id", "company_id"] if has_company else ["id"]
    status, rows = call(model, "search_read", domain, fields=fields, limit=200)
    if status == PASSED and "OverflowError" in str(rows):
        # report rows with ids beyond XML-RPC's int: count them instead
        status, count = call(model, "search_count", domain)
        rows = [{"id": None, "company_id": False}] * count if status == PASSED else count
    cells += 1
    readable = status == PASSED and isinstance(rows, list)
    if ("r" in allowed) != readable:
        failures.append(f"{where}: read {status} ({short(rows)}), table says {allowed!r}")
    rows = rows if readable else []
    expected = SCOPE.get(model, {}).get(role)
    if readable and expected is not None:
        cells += 1
        seen = {row["id"] for row in rows}
        visible = {tag for tag, rid in samples.items() if rid in seen}
        if visible != set(expected) & set(samples):
            failures.append(
                f"{where}: reads samples {sorted(visible)}, expected "
                f"{sorted(set(expected) & set(samples))}"
            )
    if readable and has_company and role != "portal":
        cells += 1
        foreign = world.company_a if role == "manager_b" else world.company_b
        leaked = [row["id"] for row in rows if (row["company_id"] or [0])[0] == foreign]
        if leaked:
            failures.append(f"{where}: reads the other company's {leaked}")
    # read_group: the same rows, counted
    status, groups = call(model, "read_group", domain, ["__count"], [])
    cells += 1
    grouped = status == PASSED and isinstance(groups, list)
    if ("r" in allowed) != grouped:
        failures.append(f"{where}: read_group {status} ({short(groups)})")
    elif grouped and sum(group.get("__count", 0) for group in groups) != len(rows):
        failures.append(f"{where}: read_group counts {short(groups)}, read gives {len(rows)}")
    return cells


def check_changes(rpc, world, call, model, role, failures):
    """create, write and unlink: allowed or refused as TABLE says."""
    allowed, where = TABLE[model][role], f"{model} as {role}"
    tag = "b" if role == "manager_b" else "own"
    samples = world.samples.get(model, {})
    # create (minimal valid values; {} where the application fills the model)
    create_vals = world.create_vals(model, tag, "agent" if tag == "own" else None) or {}
    status, created = call(model, "create", create_vals)
    PROOF["create on valid values" if create_vals else "create on {} (ACL only)"] += 1
    if ("c" in allowed) != (status == PASSED):
        failures.append(f"{where}: create {status} ({short(created)}), table: {allowed!r}")
    # write (a harmless field, or nothing but the write stamps) on a sample
    target = samples.get(tag) if role != "portal" else samples.get("own")
    vals = {field: unique("AM") for field in HARMLESS_WRITE.get(model, ())}
    status, result = call(model, "write", [target or NO_RECORD], vals)
    PROOF["write on a sample" if target else "write on no record (ACL only)"] += 1
    if ("w" in allowed) != (status == PASSED):
        failures.append(f"{where}: write {status} ({short(result)}), table: {allowed!r}")
    # unlink: a record of its own making when allowed, else a sample
    if "u" in allowed:
        target = created if isinstance(created, int) else None
        if target is None and create_vals:
            # a disposable record, where the model's constraints allow one more
            _status, target = Caller(rpc, rpc.uid, "admin")(
                model, "create", world.create_vals(model, tag)
            )
            target = target if isinstance(target, int) else None
    status, result = call(model, "unlink", [target or NO_RECORD])
    PROOF["unlink on a record" if target else "unlink on no record (ACL only)"] += 1
    if ("u" in allowed) != (status == PASSED):
        failures.append(f"{where}: unlink {status} ({short(result)}), table: {allowed!r}")
    return 3


def check_public(rpc, models, failures):
    """The public user: no XML-RPC login, no anonymous JSON-RPC."""
    cells = 0
    public = rpc.ref("base.public_user")
    login = rpc.call("res.users", "read", [public], fields=["login"])[0]["login"]
    for password in ("", "public", login):
        cells += 1
        if rpc.common.authenticate(rpc.db, login, password, {}):
            failures.append(f"the public user logs in with {password!r}")
    call = Caller(rpc, public, "")
    for model in models:
        for method, args in (
            ("search_read", [[]]),
            ("read_group", [[], ["__count"], []]),
            ("create", [{}]),
            ("write", [[NO_RECORD], {}]),
            ("unlink", [[NO_RECORD]]),
        ):
            status, value = call(model, method, *args)
            cells += 1
            if status != REFUSED:
                failures.append(f"{model} as public: {method} {short(value)}")
        # a browser without a session
        request = urllib.request.Request(
            f"{rpc.url}/web/dataset/call_kw/{model}/search_read",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "model": model,
                        "method": "search_read",
                        "args": [[]],
                        "kwargs": {"fields": ["id"]},
                    },
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        cells += 1
        if "error" not in answer:
            failures.append(f"{model}: anonymous JSON-RPC answered {short(answer)}")
    return cells


def test_access_matrix(odoo_server, world):
    start = time.monotonic()
    rpc = odoo_server
    models = registry_models(rpc)
    callers_ = callers(rpc, world)
    failures = []
    cells = 0
    for model in sorted(set(models) - ABSTRACT):
        cells += check_model(rpc, world, callers_, model, models[model][1], failures)
    cells += check_public(rpc, sorted(set(models) - ABSTRACT), failures)
    print(f"\naccess matrix: {cells:,} cells checked in {time.monotonic() - start:.0f}s")
    print(f"access matrix, changes proven: {dict(PROOF)}")
    assert not failures, f"{len(failures)} of {cells} cells differ:\n" + "\n".join(failures)


def secret_fields(rpc):
    """Fields of the suite named like a secret, with their groups."""
    fields = rpc.call(
        "ir.model.fields",
        "search_read",
        [
            "|",
            ("model", "=like", "omnichannel.%"),
            ("model", "=", "res.users"),
            "|",
            "|",
            "|",
            "|",
            ("name", "ilike", "secret"),
            ("name", "ilike", "token"),
            ("name", "ilike", "password"),
            ("name", "ilike", "api_key"),
            ("name", "ilike", "signature"),
        ],
        fields=["model", "name", "modules", "groups", "ttype"],
    )
    ours = set(ADDONS)
    return {
        (field["model"], field["name"]): field
        for field in fields
        if ours & {name.strip() for name in (field["modules"] or "").split(",")}
        and field["ttype"] in ("char", "text")
    }


def secret_record(rpc, world, model, name):
    """A record holding a known value of the secret field (None: none here)."""
    value = unique("s3cr3t")
    if model == "res.users":
        # another agent's SIP password (her own is hers to read)
        record = world.users["agent2"]["id"]
    elif model == "omnichannel.channel":
        record = {"sms": world.sms_channel, "social": world.social_channel}.get(
            name.split("_")[0], world.channel["own"]
        )
    else:
        records = rpc.call(model, "search", [], limit=1)
        if not records:
            return None, None
        record = records[0]
    Caller(rpc, rpc.uid, "admin")(model, "write", [record], {name: value})
    value = rpc.call(model, "read", [record], fields=[name])[0][name]
    return record, value or None


def leaks(answer, value):
    return bool(value) and value in json.dumps(answer, default=str)


def probe_secret(rpc, call, role, secret, failures, open_leaks):
    """Every path to one secret as one user; returns the number of cells."""
    model, name, reader, record, value, stored = secret
    # the manager of company B may read B's secrets, never A's (the samples')
    may = reader == "manager" and role == "manager"
    refuse = reader is None or role in ("agent", "supervisor", "portal")
    where = f"{model}.{name} as {role}"
    probes = {
        "read": call(model, "search_read", [("id", "=", record or NO_RECORD)], fields=[name]),
        "export": call(model, "export_data", [record or NO_RECORD], [name]),
        "default_get": call(model, "default_get", [name]),
    }
    if stored:
        probes["read_group"] = call(model, "read_group", [], [name], [name])
    if value:
        probes["search"] = call(model, "search", [(name, "=", value)])
        if not stored and probes["search"] == call(model, "search", [(name, "=", value + "x")]):
            # a computed URL is not searchable: Odoo ignores the leaf, no oracle
            probes["search"] = (REFUSED, "not searchable")
    for path, (status, answer) in probes.items():
        if not may and status == PASSED and leaks(answer, value):
            if (model, name, role) in KNOWN_LEAKS:
                open_leaks.add((model, name, role))
            else:
                failures.append(f"{where}: {path} gives the secret")
        searched_nothing = path == "search" and answer == []
        must_refuse = refuse and path in ("read", "read_group", "search")
        if must_refuse and status != REFUSED and not searched_nothing:
            failures.append(f"{where}: {path} not refused: {short(answer)}")
    cells = len(probes)
    if may and record:
        cells += 1
        status, rows = probes["read"]
        if status != PASSED or not rows or rows[0].get(name) != value:
            failures.append(f"{where}: the manager cannot read it: {short(rows)}")
    if role != "manager":
        cells += 1
        if template_renders(rpc, call, model, name, record, value):
            failures.append(f"{where}: a mail template renders the secret")
    return cells


def template_renders(rpc, call, model, name, record, value):
    """A mail template showing the field, made and sent by the user: does the
    mail hold the secret? (Refused anywhere on the way: no.)"""
    model_id = rpc.call("ir.model", "search", [("model", "=", model)])[0]
    status, template = call(
        "mail.template",
        "create",
        {
            "name": unique("AM leak"),
            "model_id": model_id,
            "subject": f"{{{{ object.{name} }}}}",
            "body_html": f"<p><t t-out='object.{name}'/></p>",
        },
    )
    if status != PASSED or not isinstance(template, int) or not record:
        TEMPLATE_OUTCOMES["template refused"] += 1
        return False
    # the editor's preview renders as the user
    status, preview = call(
        "mail.template.preview",
        "create",
        {"mail_template_id": template, "resource_ref": f"{model},{record}"},
    )
    if status == PASSED and isinstance(preview, int):
        status, shown = call(
            "mail.template.preview", "read", [preview], ["subject", "body_html", "error_msg"]
        )
        if leaks(shown, value):
            return True
        refused = status == REFUSED or (shown and shown[0].get("error_msg"))
        TEMPLATE_OUTCOMES["preview refused" if refused else "preview without it"] += 1
    status, mail = call("mail.template", "send_mail", [template], record)
    if status != PASSED or not isinstance(mail, int):
        TEMPLATE_OUTCOMES["rendering refused" if status == REFUSED else "sending failed"] += 1
        return False
    TEMPLATE_OUTCOMES["sent"] += 1
    return leaks(rpc.call("mail.mail", "read", [mail], fields=["subject", "body_html"]), value)


def test_secrets_only_for_managers(odoo_server, world):
    rpc = odoo_server
    found = secret_fields(rpc)
    unknown = sorted(set(found) - set(SECRETS))
    assert not unknown, f"secret-like fields missing from SECRETS: {unknown}"
    failures, cells, open_leaks = [], 0, set()
    agent = world.users["agent"]
    as_agent = Caller(rpc, agent["uid"], agent["password"])
    described = {model: rpc.call(model, "fields_get", []) for model, _name in SECRETS}
    for (model, name), reader in sorted(SECRETS.items()):
        assert name in described[model], f"{model}.{name} is gone: update SECRETS"
        cells += 1
        # res.users describes the fields its user reads on herself (SELF_READABLE_FIELDS)
        agent_fields = as_agent(model, "fields_get", [], attributes=["string"])[1]
        if model != "res.users" and name in agent_fields:
            failures.append(f"{model}.{name}: an agent's fields_get describes it")
        record, value = secret_record(rpc, world, model, name)
        for role in ("agent", "supervisor", "manager", "manager_b", "portal"):
            user = world.users[role]
            call = Caller(rpc, user["uid"], user["password"])
            secret = (model, name, reader, record, value, described[model][name]["store"])
            cells += probe_secret(rpc, call, role, secret, failures, open_leaks)
    # the agent reads her own SIP password (SELF_READABLE_FIELDS), not others'
    status, own = as_agent("res.users", "read", [agent["id"]], fields=["omnichannel_sip_password"])
    cells += 1
    if status != PASSED:
        failures.append(f"the agent cannot read her own SIP password: {short(own)}")
    # a known leak stays listed until fixed: then this fails, remove it from the list
    assert open_leaks == KNOWN_LEAKS, f"KNOWN_LEAKS fixed: {sorted(KNOWN_LEAKS - open_leaks)}"
    print(f"\nsecrets: {cells:,} cells checked; mail templates: {dict(TEMPLATE_OUTCOMES)}")
    assert not failures, "\n".join(failures)
