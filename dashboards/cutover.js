// The cutover state (GET /admin/cutover) and its controls: split, maintenance, rollback, allowlists.
import { api } from "./api.js";
import { confirmChange } from "./dialog.js";
import { $, clearEdited, el, fillUnlessEdited, trackEdits } from "./dom.js";
import { fmtMs, fmtRatio, fmtSeconds, fmtTime, shortId } from "./format.js";

const percentInput = $("percent");
const messageInput = $("maintenanceMessage");
const ALLOWLISTS = [
  { side: "new", kind: "users", input: $("allowNewUsers") },
  { side: "new", kind: "ips", input: $("allowNewIps") },
  { side: "legacy", kind: "users", input: $("allowLegacyUsers") },
  { side: "legacy", kind: "ips", input: $("allowLegacyIps") },
];
trackEdits(percentInput, messageInput, ...ALLOWLISTS.map((a) => a.input));

/** The state last shown: what the confirmations compare against. */
let state = null;

const listed = (values) => (values.length ? values.join(", ") : "none");
const legacyShare = (percent) => Math.round((100 - percent) * 100) / 100;

function planText(plan) {
  if (!plan) return "none";
  const steps = plan.steps.map((s) => `${s} %`).join(" → ");
  const sync = plan.maxSyncLagSeconds ? `, each left only with a sync at most ${fmtSeconds(plan.maxSyncLagSeconds)} old` : "";
  const held = plan.paused ? " — held by a paused cutover run" : "";
  return `${steps}, ${fmtSeconds(plan.holdSeconds)} each${sync}; step ${plan.index + 1} of ${plan.steps.length} (${plan.steps[plan.index]} %) since ${fmtTime(plan.stepStartedAt)}${held}`;
}

function nextStepText(plan) {
  if (!plan) return "no plan: the split moves only when an operator sets it";
  const next = plan.steps[plan.index + 1];
  const what = next === undefined ? `the plan ends, staying at ${plan.steps[plan.index]} %` : `${next} %`;
  const sync = plan.maxSyncLagSeconds ? " and a fresh enough sync" : "";
  return `${what}, not before ${fmtTime(plan.stepStartedAt + plan.holdSeconds * 1000)}, and only on a healthy verdict${sync}`;
}

function syncText(sync) {
  const last = sync?.lastSync;
  if (!last) return "no full or delta job has finished yet";
  return `${fmtSeconds(sync.lagSeconds)} (legacy data exported ${fmtTime(last.exportedAt)}; ${last.kind} job ${shortId(last.jobId)} ${last.state} ${fmtTime(last.finishedAt)})`;
}

function holdBackLines(holdBack) {
  if (!holdBack) return ["nobody"];
  const users = `${holdBack.users} user${holdBack.users === 1 ? "" : "s"} on the new app (writes after outbox #${holdBack.afterSeq} not on legacy yet; since the rollback of ${fmtTime(holdBack.since)})`;
  return [users, el("small", {}, holdBack.reason)];
}

function phaseText(s) {
  const changed = s.version === 0 ? "initial state, never changed" : `state v${s.version}, ${fmtTime(s.updatedAt)} by ${s.updatedBy}`;
  return `${s.phase} (${changed})`;
}

function thresholdsText(t) {
  return `5xx above ${fmtRatio(t.errorRate)} or p95 above ${fmtMs(t.p95Ms)} on the new app, over ${t.windowSeconds} s, once it has ${t.minRequests} requests`;
}

function maintenanceText(m) {
  return m.enabled ? `ON — “${m.message}” (Retry-After ${m.retryAfterSeconds} s)` : "off";
}

/** @returns {[string, string, (string | Node)[]][]} [key, term, lines] */
function facts(s) {
  const a = s.allowlist;
  return [
    ["phase", "Phase", [phaseText(s)]],
    ["split", "Split", [`new app ${s.percent} % · legacy ${legacyShare(s.percent)} %`]],
    ["maintenance", "Maintenance", [maintenanceText(s.maintenance)]],
    ["plan", "Canary plan", [planText(s.plan)]],
    ["next", "Next step", [nextStepText(s.plan)]],
    ["sync", "Sync lag", [syncText(s.sync)]],
    ["holdBack", "Held back", holdBackLines(s.holdBack)],
    ["thresholds", "Rolls back at", [thresholdsText(s.thresholds)]],
    ["allowlist", "Allowlists", [`new: users ${listed(a.new.users)}; IPs ${listed(a.new.ips)}`, `legacy: users ${listed(a.legacy.users)}; IPs ${listed(a.legacy.ips)}`]],
  ];
}

export function renderCutover(next) {
  state = next;
  const items = facts(next).flatMap(([key, term, values]) => [el("dt", {}, term), el("dd", { "data-fact": key }, ...values.flatMap((v, i) => (i ? [el("br"), v] : [v])))]);
  $("cutoverFacts").replaceChildren(...items);
  $("cutoverFacts").dataset.phase = next.phase;
  fillUnlessEdited(percentInput, String(next.percent));
  fillUnlessEdited(messageInput, next.maintenance.message);
  for (const { side, kind, input } of ALLOWLISTS) fillUnlessEdited(input, next.allowlist[side][kind].join("\n"));
}

// ── controls ──────────────────────────────────────────────────────────────────────────────

function parseList({ kind, input }) {
  const values = input.value.split(/[\s,]+/).filter(Boolean);
  if (kind === "ips") return values;
  const bad = values.find((v) => !/^[1-9]\d{0,15}$/.test(v));
  if (bad !== undefined) throw new Error(`"${bad}" is not a user id`);
  return values.map(Number);
}

/** Wires the controls: `run(action, statusElement)` runs a change and reports its outcome there. */
export function wireCutover({ run: perform }) {
  const run = (action) => perform(action, $("cutoverResult"));
  const patch = (body) => api("/admin/cutover", { method: "PATCH", body });

  $("percentForm").addEventListener("submit", (event) => {
    event.preventDefault();
    run(async () => {
      const target = Number(percentInput.value);
      const moving = target > state.percent ? "Users whose bucket falls under the new share move to the new app on their next request." : "Users above the new share go back to legacy on their next request.";
      const ok = await confirmChange({ title: "Move the split?", text: `New app ${state.percent} % → ${target} % (legacy ${legacyShare(target)} %). ${moving}`, confirmLabel: `Set ${target} %` });
      if (!ok) return null;
      const next = await patch({ percent: target });
      clearEdited(percentInput);
      return `Split set: new app ${next.percent} %, phase ${next.phase}`;
    });
  });

  $("maintenanceOn").addEventListener("click", () =>
    run(async () => {
      const message = messageInput.value.trim();
      const ok = await confirmChange({ title: "Turn maintenance on?", text: `Every user gets the maintenance page (503) until it is switched off: “${message || state.maintenance.message}”`, confirmLabel: "Turn maintenance on", danger: true });
      if (!ok) return null;
      await patch({ maintenance: { enabled: true, ...(message ? { message } : {}) } });
      clearEdited(messageInput);
      return "Maintenance is on";
    }),
  );

  $("maintenanceOff").addEventListener("click", () =>
    run(async () => {
      const ok = await confirmChange({ title: "Turn maintenance off?", text: `Users are served again: new app ${state.percent} %, legacy ${legacyShare(state.percent)} %.`, confirmLabel: "Turn maintenance off" });
      if (!ok) return null;
      await patch({ maintenance: { enabled: false } });
      return "Maintenance is off";
    }),
  );

  $("rollback").addEventListener("click", () =>
    run(async () => {
      const ok = await confirmChange({
        title: "Roll back to legacy?",
        text: "Everyone goes back to legacy (0 %, phase rolled_back) and the canary plan stops, except users whose new-app writes legacy has not received: they stay on the new app until a reverse sync is applied.",
        confirmLabel: "Roll back",
        danger: true,
        reason: { label: "Reason", required: true },
      });
      if (!ok) return null;
      const next = await api("/admin/cutover/rollback", { method: "POST", body: { reason: ok.reason } });
      return `Rolled back (phase ${next.phase})`;
    }),
  );

  $("allowlistForm").addEventListener("submit", (event) => {
    event.preventDefault();
    run(async () => {
      const lists = ALLOWLISTS.map((a) => ({ ...a, values: parseList(a) }));
      const summary = lists.map((l) => `${l.side} ${l.kind}: ${listed(l.values)}`).join("; ");
      const ok = await confirmChange({ title: "Replace the allowlists?", text: `${summary}. Entries on “new” win over “legacy”; IPs apply to anonymous requests only.`, confirmLabel: "Save allowlists" });
      if (!ok) return null;
      const allowlist = { new: {}, legacy: {} };
      for (const l of lists) allowlist[l.side][l.kind] = l.values;
      await patch({ allowlist });
      clearEdited(...ALLOWLISTS.map((a) => a.input));
      return "Allowlists saved";
    });
  });

  $("allowlistReset").addEventListener("click", () => {
    clearEdited(...ALLOWLISTS.map((a) => a.input));
    if (state) renderCutover(state);
  });
}
