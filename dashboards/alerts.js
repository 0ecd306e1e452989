// Alerts (GET /admin/alerts, src/alerts/): what is firing, the newest events with their delivery to
// each channel, and the channels with a test message each. Channels are added and removed through
// the API only (POST /admin/alerts/channels); summaries carry data (job errors), shown as text.
import { api } from "./api.js";
import { confirmChange } from "./dialog.js";
import { $, el, isEnabled, KeyedList, setEnabled, setText } from "./dom.js";
import { fmtTime, shortId } from "./format.js";

/** The newest events listed, newest first. */
const EVENTS_SHOWN = 20;

export const readAlerts = () => api(`/admin/alerts?limit=${EVENTS_SHOWN}`);

const SEVERITIES = ["critical", "warning", "info"];

/** A class from a known severity only: the value itself is only ever shown as text. */
const severityClass = (severity) => `sev-${SEVERITIES.includes(severity) ? severity : "unknown"}`;

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The channels and events last read: channel names for the deliveries, test outcomes for the channels. */
let channelsById = new Map();
let recent = [];

const channelName = (id) => channelsById.get(id)?.name ?? `removed channel ${shortId(id)}`;

/** One delivery of an event to one channel, as words (the API's states: queued, sent, delivered, dead). */
export function deliveryText(d) {
  const error = d.lastError ?? "no error recorded";
  if (d.state === "delivered") return d.attempts > 1 ? `delivered after ${d.attempts} attempts` : "delivered";
  if (d.state === "dead") return `dead after ${plural(d.attempts, "attempt")}: ${error}`;
  if (d.state === "sent") return d.attempts > 0 ? `retrying: ${plural(d.attempts, "attempt")} so far, last error: ${error}` : "sending";
  if (d.state === "queued") return "queued";
  return d.state;
}

/** The class of a delivery's line: a failed attempt shows as retrying, whatever the queue calls it. */
const deliveryClass = (d) => `delivery d-${d.state === "sent" && d.attempts > 0 ? "retrying" : ["queued", "sent", "delivered", "dead"].includes(d.state) ? d.state : "unknown"}`;

// ── firing ──────────────────────────────────────────────────────────────────────────────────

function stateText(alert) {
  const since = `firing since ${fmtTime(alert.since)}`;
  return alert.state === "silenced" ? `silenced: resolved by an operator, quiet until its condition clears (${since})` : since;
}

async function resolveAlert(alert) {
  const ok = await confirmChange({
    title: "Resolve this alert?",
    text: `${alert.summary} (${alert.key}). Its resolve goes out to the channels now, and it stays silenced until its condition clears: it does not fire again before then.`,
    confirmLabel: "Resolve",
  });
  if (!ok) return null;
  await api("/admin/alerts/resolve", { method: "POST", body: { key: alert.key } });
  return `Resolved ${alert.key}: silenced until its condition clears`;
}

function createAlertItem(first, run) {
  let alert = first;
  const badge = el("span", { className: "sev" });
  const kind = el("span", { className: "kind" });
  const state = el("span", { className: "state" });
  const summary = el("p", { className: "summary" });
  const meta = el("p", { className: "meta" });
  const resolve = el("button", { type: "button", onclick: () => isEnabled(resolve) && run(() => resolveAlert(alert)) }, "Resolve…");
  const node = el("li", {}, el("div", { className: "alert-head" }, badge, kind, state), summary, meta, el("div", { className: "actions" }, resolve));
  return {
    node,
    update(next) {
      alert = next;
      const silenced = next.state === "silenced";
      node.className = `alert ${severityClass(next.severity)} ${silenced ? "silenced" : "firing"}`;
      node.dataset.key = next.key;
      setText(badge, next.severity);
      setText(kind, next.kind);
      setText(state, silenced ? "silenced" : "firing");
      setText(summary, next.summary);
      setText(meta, `${stateText(next)} · key ${next.key}`);
      // Greyed out, not hidden: a refresh never takes the keyboard focus away.
      setEnabled(resolve, !silenced);
    },
  };
}

// ── recent events ───────────────────────────────────────────────────────────────────────────

const HEADINGS = ["When", "Event", "Severity", "Alert", "Summary", "Deliveries"];
const CELLS = ["when", "action", "severity", "key", "summary", "deliveries"];

function deliveryLines(event) {
  if (!event.deliveries.length) return [channelsById.size ? "no channel takes this severity" : "no channels"];
  return event.deliveries.map((d) => el("span", { className: deliveryClass(d) }, `${channelName(d.channelId)}: ${deliveryText(d)}`));
}

function eventRow(event) {
  const cells = [
    fmtTime(event.at),
    event.action,
    el("span", { className: `sev ${severityClass(event.severity)}` }, event.severity),
    event.key === event.kind ? event.kind : `${event.kind} · ${event.key}`,
    event.summary,
    deliveryLines(event),
  ];
  return el("tr", { "data-event": event.id, "data-action": event.action }, ...cells.map((cell, i) => el("td", { className: CELLS[i], "data-label": HEADINGS[i] }, cell)));
}

/** What the table shows, so that an unchanged list is not rebuilt. */
let shownEvents = null;

function renderEvents(events) {
  const signature = JSON.stringify([events.map((e) => [e.id, e.deliveries]), [...channelsById.values()].map((c) => [c.id, c.name])]);
  if (signature === shownEvents) return;
  shownEvents = signature;
  const rows = events.map(eventRow);
  $("alertEvents").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: HEADINGS.length }, "No alert events yet."))]));
}

// ── channels ────────────────────────────────────────────────────────────────────────────────

function channelMeta(c) {
  return `${c.kind} · ${c.target} · ${c.minSeverity} and above · added ${fmtTime(c.createdAt)} · id ${c.id}`;
}

function createChannelItem(first, run) {
  let channel = first;
  /** The last test sent from this page: its delivery is shown once the events list it. */
  let testId = null;
  const name = el("span", { className: "name" });
  const meta = el("p", { className: "meta" });
  const status = el("span", { role: "status", className: "result" });
  const outcome = el("span", { className: "test-outcome" });
  const test = el("button", { type: "button", onclick: () => run(sendTest, status) }, "Send test");
  const node = el("li", { className: "channel" }, name, meta, el("div", { className: "actions" }, test, status, outcome));

  async function sendTest() {
    const { eventId } = await api(`/admin/alerts/channels/${channel.id}/test`, { method: "POST", body: {} });
    testId = eventId;
    showOutcome();
    return `Test sent (event ${shortId(eventId)}): it shows under Recent events`;
  }

  function showOutcome() {
    const delivery = recent.find((e) => e.id === testId)?.deliveries.find((d) => d.channelId === channel.id);
    setText(outcome, testId ? `Test ${shortId(testId)}: ${delivery ? deliveryText(delivery) : "queued"}` : "");
    outcome.className = `test-outcome ${delivery ? deliveryClass(delivery) : ""}`;
  }

  return {
    node,
    update(next) {
      channel = next;
      node.dataset.channel = next.id;
      setText(name, next.name);
      setText(meta, channelMeta(next));
      showOutcome();
    },
  };
}

// ──────────────────────────────────────────────────────────────────────────────────────────

let firingList = null;
let channelList = null;

/** The answer of GET /admin/alerts: `{ firing, events, channels }`. */
export function renderAlerts({ firing, events, channels }) {
  channelsById = new Map(channels.map((c) => [c.id, c]));
  recent = events;
  const live = firing.filter((a) => a.state === "firing").length;
  setText($("alertsCount"), live ? ` (${live} firing)` : "");
  $("alertsNone").hidden = firing.length > 0;
  setText($("alertsNone"), "Nothing is firing.");
  firingList.update(firing, (a) => a.key);
  renderEvents(events);
  $("channelsNone").hidden = channels.length > 0;
  setText($("channelsNone"), "No channels: alerts are recorded here and sent nowhere.");
  channelList.update(channels, (c) => c.id);
}

/** `run(action, statusElement)` runs a change and reports its outcome. */
export function wireAlerts({ run }) {
  const status = $("alertsResult");
  firingList = new KeyedList($("alertList"), (alert) => createAlertItem(alert, (action) => run(action, status)));
  channelList = new KeyedList($("channelList"), (channel) => createChannelItem(channel, run));
}
