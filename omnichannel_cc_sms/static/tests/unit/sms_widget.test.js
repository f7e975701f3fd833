import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { click, edit, queryOne, waitFor } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import {
    clickSave,
    defineModels,
    fields,
    models,
    mountView,
    onRpc,
} from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");

/** A record with an SMS body, as the SMS composer's. */
class SmsDraft extends models.Model {
    _name = "sms.draft";

    body = fields.Text();

    _records = [{ id: 1, body: "" }];
}

defineMailModels();
defineModels([SmsDraft]);

const COUNTER = ".o_field_sms_widget .o_omnichannel_sms_counter";
const SUMMARY = `${COUNTER} .o_omnichannel_sms_counter_summary`;
const HINT = `${COUNTER} .o_omnichannel_sms_counter_hint`;

async function mountComposer(body = "") {
    SmsDraft._records[0].body = body;
    await mountView({
        type: "form",
        resModel: "sms.draft",
        resId: 1,
        arch: `<form><field name="body" widget="sms_widget"/></form>`,
    });
    await waitFor(COUNTER);
}

/** Type `text` as the whole body (one input event), then let the counter render. */
async function typeBody(text) {
    await click(".o_field_sms_widget textarea");
    await edit(text);
    await animationFrame();
}

test("composer counter: characters, encoding, SMS and units left as the user types", async () => {
    await mountComposer();
    expect(SUMMARY).toHaveText("0 characters · GSM-7 · 0 SMS · 160 left");
    // Odoo's own counter is replaced, not shown beside ours
    expect(".o_field_sms_widget .o_sms_count").toHaveCount(0);

    await typeBody("Hello");
    expect(SUMMARY).toHaveText("5 characters · GSM-7 · 1 SMS · 155 left");
    expect(COUNTER).toHaveAttribute("data-encoding", "GSM-7");
    expect(HINT).toHaveCount(0);

    await typeBody("a".repeat(160));
    expect(SUMMARY).toHaveText("160 characters · GSM-7 · 1 SMS · 0 left");
    await typeBody("a".repeat(161));
    expect(SUMMARY).toHaveText("161 characters · GSM-7 · 2 SMS · 145 left");
    expect(COUNTER).toHaveAttribute("data-segments", "2");
});

test("composer counter: extension characters count twice, line breaks once", async () => {
    await mountComposer();
    await typeBody("Price: 10€ [promo]");
    // 18 characters, 3 of them from the extension table
    expect(SUMMARY).toHaveText("18 characters · GSM-7 · 1 SMS · 139 left");
    await typeBody("€".repeat(81));
    expect(SUMMARY).toHaveText("81 characters · GSM-7 · 2 SMS · 144 left");
    await typeBody("a\nb");
    expect(SUMMARY).toHaveText("3 characters · GSM-7 · 1 SMS · 157 left");
});

/** Put `text` in the box as the emoji picker or a paste does: value set, then "input". */
async function pasteBody(text) {
    const textarea = queryOne(".o_field_sms_widget textarea");
    textarea.value = text;
    textarea.dispatchEvent(new InputEvent("input", { bubbles: true }));
    await animationFrame();
}

test("composer counter: an emoji takes two UCS-2 units", async () => {
    await mountComposer();
    await pasteBody("Hi 😀");
    expect(SUMMARY).toHaveText("4 characters · UCS-2 · 1 SMS · 65 left");
    // no stand-in for an emoji: nothing to save
    expect(HINT).toHaveCount(0);
});

test("composer counter: Polish text says what transliteration saves and does it", async () => {
    const text = "Dzień dobry, Pańska przesyłka została wysłana. ".repeat(2).trim();
    expect(text.length).toBe(93);
    await mountComposer(text);
    expect(SUMMARY).toHaveText("93 characters · UCS-2 · 2 SMS · 41 left");
    expect(COUNTER).toHaveAttribute("data-encoding", "UCS-2");
    expect(`${HINT} .o_omnichannel_sms_counter_saving`).toHaveText(
        "Without Polish characters: 1 SMS instead of 2"
    );

    onRpc("sms.draft", "web_save", ({ args }) => {
        expect.step(args[1].body);
    });
    await click(`${HINT} .o_omnichannel_sms_transliterate`);
    await animationFrame();
    const plain = "Dzien dobry, Panska przesylka zostala wyslana. ".repeat(2).trim();
    expect(".o_field_sms_widget textarea").toHaveValue(plain);
    expect(SUMMARY).toHaveText("93 characters · GSM-7 · 1 SMS · 67 left");
    expect(HINT).toHaveCount(0);
    await clickSave();
    expect.verifySteps([plain]);
});

test("composer counter: a short Polish text keeps one SMS, gains room in it", async () => {
    await mountComposer("Zażółć gęślą jaźń");
    expect(SUMMARY).toHaveText("17 characters · UCS-2 · 1 SMS · 53 left");
    expect(`${HINT} .o_omnichannel_sms_counter_saving`).toHaveText(
        "Without Polish characters: still 1 SMS, 143 left instead of 53"
    );
    // accents other than Polish ones
    await typeBody("Crème brûlée");
    expect(`${HINT} .o_omnichannel_sms_counter_saving`).toHaveText(
        "Without accents: still 1 SMS, 148 left instead of 58"
    );
    expect(queryOne(".o_field_sms_widget textarea").value).toBe("Crème brûlée");
});

test("composer counter: read-only body shows the counts, no button", async () => {
    SmsDraft._records[0].body = "Zażółć gęślą jaźń";
    await mountView({
        type: "form",
        resModel: "sms.draft",
        resId: 1,
        arch: `<form><field name="body" widget="sms_widget" readonly="1"/></form>`,
    });
    await waitFor(COUNTER);
    expect(SUMMARY).toHaveText("17 characters · UCS-2 · 1 SMS · 53 left");
    expect(`${HINT} .o_omnichannel_sms_transliterate`).toHaveCount(0);
});
