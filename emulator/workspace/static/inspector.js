// The inspector: every request between Slack (or Teams) and the app, both ways, as the
// server recorded it (card numbers already masked, CVC and expiry values already dropped there).

import { element } from "./dom.js";

const DIRECTIONS = {
  to_app: { arrow: "→", label: (surface) => `${surface} → app` },
  from_app: { arrow: "←", label: (surface) => `app → ${surface}` },
};

function clock(seconds) {
  const at = new Date(seconds * 1000);
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
}

function outcome(entry) {
  if (entry.status === "…") return { text: "…", kind: "pending" };
  if (typeof entry.status !== "number") return { text: entry.status, kind: "failed" };
  if (entry.ok === false) return { text: `${entry.status}${entry.error ? ` ${entry.error}` : ""}`, kind: "failed" };
  return { text: String(entry.status), kind: "ok" };
}

function json(title, value) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return element("div", "entry-part", [element("div", "entry-part-title", [title]), element("pre", "", [text || "(empty)"])]);
}

export class Inspector {
  constructor(list) {
    this.list = list;
    this.rows = new Map();
  }

  reset(entries) {
    this.rows.clear();
    this.list.replaceChildren();
    for (const entry of entries) this.show(entry);
  }

  show(entry) {
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const previous = this.rows.get(entry.id);
    const row = this.render(entry, previous?.querySelector("details")?.open ?? false);
    if (previous) previous.replaceWith(row);
    else this.list.append(row);
    this.rows.set(entry.id, row);
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  render(entry, open) {
    const direction = DIRECTIONS[entry.direction] ?? { arrow: "·", label: () => "" };
    const surface = entry.surface === "teams" ? "Teams" : "Slack";
    const result = outcome(entry);
    const summary = element("summary", "entry-summary", [
      element("span", `arrow ${entry.direction}`, [direction.arrow]),
      element("span", "entry-name", [entry.name]),
      element("span", `entry-status ${result.kind}`, [result.text]),
      element("span", "entry-time", [entry.duration === undefined ? "" : `${entry.duration} ms`]),
    ]);
    summary.title = `${direction.label(surface)} at ${clock(entry.at)}`;
    const details = element("details", "", [summary]);
    details.open = open;
    if (entry.note) {
      summary.append(element("span", "entry-note", ["⚠ ignored"]));
      details.append(json("note", entry.note));
    }
    if (entry.headers) details.append(json("headers", entry.headers));
    details.append(json(entry.direction === "to_app" ? "payload" : "arguments", entry.request));
    if (entry.response !== undefined) details.append(json("response", entry.response));
    const row = element("li", `entry ${entry.direction} ${surface.toLowerCase()}`, [details]);
    row.dataset.entryId = entry.id;
    return row;
  }
}
