import { animationFrame, Deferred } from "@odoo/hoot-mock";
import { getService, MockServer, onRpc, patchWithCleanup } from "@web/../tests/web_test_helpers";
import { session } from "@web/session";

/** A deep copy, as a JSON-RPC answer is: the client never shares the server's objects. */
export function jsonCopy(value) {
    return JSON.parse(JSON.stringify(value));
}

/**
 * What `omnichannel.agent.action_console_state()` returns, with `values`
 * over the defaults: an available agent logged in to one queue, nothing in
 * hand.
 */
export function makeConsoleState(values = {}) {
    const { presence, ...rest } = values;
    return {
        server_time: "2025-01-06 09:00:00",
        user_id: 7,
        presence: {
            agent_id: 1,
            user_id: 7,
            state: "available",
            state_label: "Available",
            state_since: "2025-01-06 08:58:55",
            state_seconds: 65,
            break_reason_id: false,
            break_reason_name: false,
            wrapup_seconds_left: 0,
            load: 0,
            ...presence,
        },
        states: [
            { value: "available", label: "Available" },
            { value: "offline", label: "Offline" },
        ],
        break_reasons: [{ id: 3, name: "Lunch" }],
        queues: [{ id: 11, name: "Support", logged_in: true, waiting_count: 2 }],
        offers: [],
        interactions: [],
        dispositions: [{ id: 21, name: "Solved", outcome: "success" }],
        access: {
            sale_order: true,
            sale_order_create: true,
            account_move: true,
            case_create: true,
        },
        ...rest,
    };
}

/** An offer as the console state lists it (channel label translated by the server). */
export function makeOffer(values = {}) {
    return {
        offer_id: 501,
        interaction_id: 601,
        partner_id: 42,
        partner_name: "Azure Interior",
        channel_type: "phone",
        channel_label: "Telefon",
        direction: "inbound",
        offer_kind: "inbound",
        callback_attempt: 0,
        callback_max_attempts: 0,
        customer_name: "Azure Interior",
        answer_on_phone: false,
        queue: "Support",
        interaction_name: "INT/0601",
        subject: false,
        contact_address: "+48221234567",
        channel_name: "Main line",
        queue_id: 11,
        waiting_seconds: 30,
        ring_seconds: 20,
        seconds_left: 20,
        ...values,
    };
}

/** An interaction of the agent as the console state lists it. */
export function makeInteraction(values = {}) {
    return {
        id: 601,
        name: "INT/0601",
        subject: false,
        state: "active",
        state_label: "Active",
        channel_type: "phone",
        channel_label: "Telefon",
        direction: "inbound",
        partner_id: 42,
        partner_name: "Azure Interior",
        commercial_partner_id: 42,
        contact_address: "+48221234567",
        queue_id: 11,
        queue: "Support",
        state_seconds: 10,
        waiting_seconds: 30,
        talk_seconds: 10,
        wrapup_seconds_left: 0,
        disposition_id: false,
        notes: "",
        case_id: false,
        case_name: false,
        sale_order_id: false,
        sale_order_name: false,
        campaign_contact_id: false,
        campaign_name: false,
        campaign_phone: false,
        campaign_attempts: 0,
        campaign_dialed: false,
        ...values,
    };
}

/**
 * What `res.partner.omnichannel_screen_pop()` returns for a customer.
 *
 * @param {number} partnerId
 * @param {Object[]} [history] the customer's interactions, newest first
 */
export function makeScreenPop(partnerId, history = []) {
    const partner = {
        id: partnerId,
        name: `Customer ${partnerId}`,
        is_company: true,
        email: false,
        phone: false,
        mobile: false,
        city: false,
        country: false,
        lang: false,
        vat: false,
        category_names: [],
    };
    return {
        partner,
        commercial_partner: partner,
        currency: { id: 1, name: "EUR", symbol: "€" },
        invoices: [],
        overdue_amount: 0,
        total_due: 0,
        open_credit: 0,
        has_overdue: false,
        sale_orders: [],
        cases: [],
        interactions: history,
    };
}

/** A line of the customer panel's history, as the server lists an interaction. */
function historyRow(interaction) {
    return {
        id: interaction.id,
        name: interaction.name,
        channel_type: interaction.channel_type,
        channel_label: interaction.channel_label,
        direction: interaction.direction || "inbound",
        subject: interaction.subject || false,
        state: interaction.state,
        state_label: interaction.state_label,
        date: "2025-01-06 08:59:00",
        agent: "Mitchell Admin",
        disposition: interaction.disposition || false,
        extra: interaction.extra || [],
    };
}

/**
 * A fake server behind the agent console: `server.data` is what the next
 * `action_console_state()` returns; the agent actions change it as the real
 * server would. Each call is recorded in `server.calls` as "method" or
 * "method:args".
 *
 * @param {Object} [values] see {@link makeConsoleState}
 */
export function mockConsoleServer(values) {
    const server = {
        data: makeConsoleState(values),
        calls: [],
        loads: 0,
        /** a promise the next state load waits for (see the out-of-order test) */
        nextLoadGate: null,
        /** the customers' closed interactions, for their panel's history: {id, partner_id, ...} */
        closed: [],
        /** figures of the customer panel replacing makeScreenPop()'s (balance, invoices...) */
        popValues: {},
        /** running preview campaigns of the agent, and the contacts they give next */
        campaigns: [],
        nextContacts: [],
    };
    // the agent flag comes with the session (ir.http.session_info)
    patchWithCleanup(session, { omnichannel_cc: { ...session.omnichannel_cc, is_agent: true } });
    Object.defineProperty(server, "isAgent", {
        get: () => session.omnichannel_cc.is_agent,
        set: (value) => (session.omnichannel_cc.is_agent = value),
    });
    onRpc("omnichannel.agent", "action_console_state", async () => {
        server.loads++;
        server.calls.push("action_console_state");
        const gate = server.nextLoadGate;
        server.nextLoadGate = null;
        const data = jsonCopy(server.data);
        if (gate) {
            await gate;
        }
        return data;
    });
    onRpc("res.partner", "omnichannel_screen_pop", ({ args }) => {
        const partnerId = args[0][0];
        server.calls.push(`omnichannel_screen_pop:${partnerId}`);
        // the history holds the interactions in hand too, in their state of now
        const history = [...server.data.interactions, ...server.closed]
            .filter((interaction) => interaction.partner_id === partnerId)
            .sort((a, b) => b.id - a.id)
            .map(historyRow);
        return { ...makeScreenPop(partnerId, jsonCopy(history)), ...jsonCopy(server.popValues) };
    });
    onRpc("omnichannel.agent", "action_my_state", ({ args }) => {
        server.calls.push(`action_my_state:${args.join(",")}`);
        const [state, breakReasonId] = args;
        const reason = server.data.break_reasons.find((r) => r.id === breakReasonId);
        Object.assign(server.data.presence, {
            state,
            state_label: state === "break" ? "Break" : state,
            state_seconds: 0,
            break_reason_id: breakReasonId || false,
            break_reason_name: reason?.name || false,
        });
        return true;
    });
    onRpc("omnichannel.agent", "action_queue_login", ({ args }) => {
        server.calls.push(`action_queue_login:${args[0]},${args[1]}`);
        for (const queue of server.data.queues) {
            if (args[0].includes(queue.id)) {
                queue.logged_in = args[1];
            }
        }
        return true;
    });
    onRpc("omnichannel.offer", "action_accept", ({ args }) => {
        server.calls.push(`action_accept:${args[0]}`);
        const offer = server.data.offers.find((o) => o.offer_id === args[0][0]);
        server.data.offers = server.data.offers.filter((o) => o !== offer);
        if (offer) {
            const offered = server.data.interactions.find((i) => i.id === offer.interaction_id);
            server.data.interactions = server.data.interactions.filter((i) => i !== offered);
            server.data.interactions.push(
                makeInteraction({
                    ...offered,
                    id: offer.interaction_id,
                    partner_id: offer.partner_id,
                    channel_type: offer.channel_type,
                    channel_label: offer.channel_label,
                    state: "active",
                    state_label: "Active",
                    state_seconds: 0,
                })
            );
            server.data.presence.state = "busy";
            server.data.presence.state_label = "Busy";
        }
        return true;
    });
    onRpc("omnichannel.offer", "action_reject", ({ args }) => {
        server.calls.push(`action_reject:${args[0]}`);
        server.data.offers = server.data.offers.filter((o) => o.offer_id !== args[0][0]);
        return true;
    });
    onRpc("omnichannel.interaction", "action_end", ({ args }) => {
        server.calls.push(`action_end:${args[0]}`);
        const interaction = server.data.interactions.find((i) => i.id === args[0][0]);
        Object.assign(interaction, {
            state: "wrapup",
            state_label: "Wrap-up",
            state_seconds: 0,
            wrapup_seconds_left: 30,
        });
        return true;
    });
    onRpc("omnichannel.interaction", "action_console_close", ({ args, kwargs }) => {
        server.calls.push(
            `action_console_close:${args[0]},${kwargs.disposition_id},${kwargs.notes}`
        );
        const interaction = server.data.interactions.find((i) => i.id === args[0][0]);
        server.data.interactions = server.data.interactions.filter((i) => i !== interaction);
        const disposition = server.data.dispositions.find((d) => d.id === kwargs.disposition_id);
        server.closed.push({
            ...interaction,
            state: "done",
            state_label: "Done",
            disposition: disposition?.name || false,
        });
        return true;
    });
    // campaigns (issue 16): preview dialing
    onRpc("omnichannel.campaign", "console_preview_campaigns", () => jsonCopy(server.campaigns));
    onRpc("omnichannel.campaign", "action_next_contact", () => {
        server.calls.push("action_next_contact");
        const interaction = server.nextContacts.shift();
        if (!interaction) {
            return false;
        }
        server.data.interactions.push(interaction);
        server.data.presence.state = "busy";
        return {
            contact_id: interaction.campaign_contact_id,
            interaction_id: interaction.id,
            partner_id: interaction.partner_id,
        };
    });
    onRpc("omnichannel.campaign.contact", "action_dial", ({ args }) => {
        server.calls.push(`action_dial:${args[0]}`);
        const interaction = server.data.interactions.find(
            (i) => i.campaign_contact_id === args[0][0]
        );
        interaction.campaign_attempts++;
        interaction.campaign_dialed = true;
        return { phone: interaction.campaign_phone, interaction_id: interaction.id };
    });
    return server;
}

/**
 * Push bus notifications of one type to the current user (as
 * `res.users._bus_send` does), all in one batch; resolved once the bus
 * service has handed them to its subscribers (those of the tested code
 * subscribed first, so they have run).
 *
 * @param {string} type
 * @param {...any} payloads
 */
export async function pushBus(type, ...payloads) {
    const busService = getService("bus_service");
    const delivered = new Deferred();
    let count = 0;
    const onNotification = () => {
        if (++count === payloads.length) {
            delivered.resolve();
        }
    };
    busService.subscribe(type, onNotification);
    try {
        const notifications = payloads.map((payload) => ["broadcast", type, payload]);
        MockServer.env["bus.bus"]._sendmany(notifications);
        await delivered;
    } finally {
        busService.unsubscribe(type, onNotification);
    }
    await animationFrame();
}
