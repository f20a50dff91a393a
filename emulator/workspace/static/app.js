// The page: a DM with the app, and (at /teams) the same person's Teams chat with it.
// Everything it shows comes from the workspace server's event stream; everything the person
// does is posted to the server, which plays Slack, or Teams. The app's replies in a thread
// show under the message they answer.

import { AgentSurface } from "./agent.js";
import { renderMessageBody } from "./blocks.js";
import { element } from "./dom.js";
import { Inspector } from "./inspector.js";
import { Modal } from "./modal.js";
import { TeamsChat } from "./teams.js";

const GROUP_SECONDS = 5 * 60; // Slack folds a run of messages from one sender into one block
const SURFACES = { slack: { path: "/", title: "local Slack workspace" }, teams: { path: "/teams", title: "local Teams chat" } };

const state = { names: { app: "paybot", user: "Pat Payer" }, people: {} };
const messages = document.getElementById("messages");
const composer = document.getElementById("composer");
const connection = document.getElementById("connection");
const inspector = new Inspector(document.getElementById("inspector"));
const modal = new Modal(document.getElementById("modal-root"), {
  people: () => state.people,
  submit: (view, values) => post("/_workspace/submissions", { view_id: view.id, values }),
  close: (view) => post("/_workspace/closes", { view_id: view.id }),
  button: (view, press) => post("/_workspace/actions", { view_id: view.id, block_id: press.blockId, index: press.index }),
});

const teams = new TeamsChat(document.getElementById("teams-chat"), post);
const agent = new AgentSurface({
  messages,
  home: document.getElementById("home"),
  prompts: document.getElementById("prompts"),
  tabs: document.querySelectorAll("[data-app-tab]"),
  panes: document.querySelectorAll("[data-app-pane]"),
  post,
  threadOf,
  appName: () => state.names.app,
  people: () => state.people,
});
let dmOpened = false; // the Messages tab is opened once, when the Slack DM is first shown

async function post(path, body) {
  const answer = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!answer.ok) console.warn(path, answer.status, await answer.text());
  return answer.ok;
}

function clock(ts) {
  return new Date(Number(ts) * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function avatar(message) {
  if (message.author === "app") return element("span", "avatar avatar-app", ["💳"]);
  if (message.author === "slackbot") return element("span", "avatar avatar-slackbot", ["✱"]);
  return element("span", "avatar avatar-user", [message.name.slice(0, 1)]);
}

function continues(previous, message) {
  return (
    previous?.dataset.author === message.author &&
    previous.dataset.ephemeral === "false" &&
    !message.ephemeral &&
    Number(message.ts) - Number(previous.dataset.ts) < GROUP_SECONDS
  );
}

function renderMessage(message, previous) {
  const row = element("div", "message");
  row.dataset.testid = "message";
  row.dataset.id = message.id;
  row.dataset.ts = message.ts;
  row.dataset.author = message.author;
  row.dataset.ephemeral = String(Boolean(message.ephemeral));
  if (message.ephemeral) {
    row.classList.add("ephemeral");
    row.append(element("div", "ephemeral-note", ["👁 Only visible to you"]));
  }
  const body = renderMessageBody(message, {
    people: state.people,
    onButton: (press) =>
      post("/_workspace/actions", { message_id: message.id, block_id: press.blockId, index: press.index }),
  });
  if (message.edited) body.append(element("span", "edited", [" (edited)"]));
  const content = element("div", "message-content");
  if (continues(previous, message)) {
    row.classList.add("continued");
    row.append(element("span", "gutter-time", [clock(message.ts)]));
  } else {
    row.append(avatar(message));
    const name = element("span", "sender", [message.name]);
    const meta = element("div", "message-meta", [name]);
    if (message.author === "app") meta.append(element("span", "badge", ["APP"]));
    meta.append(element("span", "time", [clock(message.ts)]));
    content.append(meta);
  }
  content.append(body);
  row.append(content);
  return row;
}

/** The thread under the top-level message at `ts`, made when first needed; null if not shown. */
function threadOf(ts) {
  const parent = messages.querySelector(`:scope > .message[data-ts="${CSS.escape(ts)}"]`);
  if (!parent) return null;
  const next = parent.nextElementSibling;
  if (next?.classList.contains("thread") && next.dataset.threadTs === ts) return next;
  const thread = element("div", "thread");
  thread.dataset.threadTs = ts;
  thread.dataset.testid = "thread";
  parent.after(thread);
  return thread;
}

function showMessage(message) {
  const existing = messages.querySelector(`.message[data-id="${CSS.escape(message.id)}"]`);
  if (message.deleted) {
    existing?.remove();
    return;
  }
  const stick = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  const reply = Boolean(message.thread_ts) && message.thread_ts !== message.ts;
  const container = (reply && threadOf(message.thread_ts)) || messages;
  const status = container.querySelector(":scope > .thread-status"); // stays last
  const previous = existing ? existing.previousElementSibling : (status?.previousElementSibling ?? container.lastElementChild);
  const row = renderMessage(message, previous?.classList.contains("message") ? previous : null);
  if (reply) row.classList.add("reply");
  if (existing) existing.replaceWith(row);
  else container.insertBefore(row, status);
  if (stick || !existing) messages.scrollTop = messages.scrollHeight;
}

function showSnapshot(snapshot) {
  state.names = { app: snapshot.app_name, user: snapshot.user_name };
  state.people = snapshot.people ?? {};
  document.getElementById("team-name").textContent = snapshot.team_name;
  document.getElementById("user-name").textContent = snapshot.user_name;
  for (const node of document.querySelectorAll(".app-name")) node.textContent = snapshot.app_name;
  composer.placeholder = `Message ${snapshot.app_name} (Enter to send, /pay for the command)`;
  composer.setAttribute("aria-label", `Message ${snapshot.app_name}`);
  for (const node of messages.querySelectorAll(":scope > .message, :scope > .thread, :scope > .thread-status")) {
    node.remove();
  }
  for (const message of snapshot.messages) showMessage(message);
  agent.reset(snapshot);
  modal.show(snapshot.modal);
  inspector.reset(snapshot.inspector);
  teams.reset(snapshot.teams);
}

function connect() {
  const events = new EventSource("/_workspace/events");
  const on = (kind, handle) => events.addEventListener(kind, (event) => handle(JSON.parse(event.data)));
  on("snapshot", showSnapshot);
  on("message", showMessage);
  on("modal", (state) => modal.show(state));
  on("inspector", (entry) => inspector.show(entry));
  on("teams_message", (message) => teams.show(message));
  on("teams_typing", (typing) => teams.typing(typing.name));
  on("tab", (shown) => agent.showTab(shown.tab));
  on("home", (home) => agent.showHome(home.view));
  on("agent", (shown) => agent.showAgent(shown));
  events.addEventListener("open", () => {
    connection.textContent = "connected";
    connection.className = "topbar-status online";
  });
  events.addEventListener("error", () => {
    connection.textContent = "reconnecting…";
    connection.className = "topbar-status offline";
  });
}

function send() {
  const text = composer.value;
  if (!text.trim()) return;
  composer.value = "";
  fitComposer();
  post("/_workspace/messages", { text });
}

function fitComposer() {
  composer.style.height = "auto";
  composer.style.height = `${Math.min(composer.scrollHeight, 200)}px`;
}

document.getElementById("composer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
composer.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
composer.addEventListener("input", fitComposer);
for (const chip of document.querySelectorAll(".try .chip")) {
  chip.addEventListener("click", () => {
    const into = document.body.dataset.surface === "teams" ? teams.composer : composer;
    into.value = chip.textContent;
    into.focus();
  });
}

/** Show the Slack DM or the Teams chat; `push`: as a new address in the history. */
function showSurface(surface, push = false) {
  document.body.dataset.surface = surface;
  for (const node of document.querySelectorAll("[data-view]")) node.hidden = node.dataset.view !== surface;
  for (const tab of document.querySelectorAll("[data-surface-tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.surfaceTab === surface));
  }
  document.title = `paybot · ${SURFACES[surface].title}`;
  if (push) history.pushState({ surface }, "", SURFACES[surface].path);
  if (surface === "slack" && !dmOpened) {
    dmOpened = true;
    agent.open("messages");
  }
}

function surfaceAt(path) {
  return path.replace(/\/+$/, "") === SURFACES.teams.path ? "teams" : "slack";
}

for (const tab of document.querySelectorAll("[data-surface-tab]")) {
  tab.addEventListener("click", (event) => {
    event.preventDefault();
    showSurface(tab.dataset.surfaceTab, tab.dataset.surfaceTab !== document.body.dataset.surface);
  });
}
window.addEventListener("popstate", () => showSurface(surfaceAt(location.pathname)));

showSurface(surfaceAt(location.pathname));
connect();
