// The Teams chat: the person's 1:1 chat with the app, as Teams draws it. Everything it shows
// comes from the workspace server's event stream (`teams_message`, `teams_typing`, and the
// snapshot's `teams`); what the person types or presses is posted to the server, which plays
// Teams towards the app.

import { renderCard } from "./cards.js";
import { element } from "./dom.js";
import { chatMarkdown } from "./markdown.js";

const TYPING_MS = 3000; // Teams drops a typing indicator that is not renewed

function clock(at) {
  const when = new Date(at);
  return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

export class TeamsChat {
  /** `root`: the chat's `main`; `post(path, body)` sends to the server. */
  constructor(root, post) {
    this.root = root;
    this.post = post;
    this.list = root.querySelector("#teams-messages");
    this.composer = root.querySelector("#teams-composer");
    this.typingNode = root.querySelector("#teams-typing");
    this.off = root.querySelector("#teams-off");
    this.typingTimer = null;
    root.querySelector("#teams-composer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.composer.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
  }

  /** The snapshot's `teams`: { messages, user_name, bot_name }, or null when Teams is off. */
  reset(state) {
    this.off.hidden = Boolean(state);
    this.composer.disabled = !state;
    for (const node of this.list.querySelectorAll(".teams-message")) node.remove();
    this.stopTyping();
    for (const message of state?.messages ?? []) this.show(message);
  }

  show(message) {
    const existing = this.list.querySelector(`.teams-message[data-id="${CSS.escape(message.id)}"]`);
    if (message.deleted) {
      existing?.remove();
      return;
    }
    if (message.author === "app") this.stopTyping();
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    const row = this.render(message);
    if (existing) existing.replaceWith(row);
    else this.list.append(row);
    if (stick || !existing) this.list.scrollTop = this.list.scrollHeight;
  }

  typing(name) {
    this.typingNode.textContent = `${name} is typing…`;
    this.typingNode.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    this.typingNode.hidden = true;
  }

  render(message) {
    const mine = message.author === "you";
    const row = element("div", `teams-message ${mine ? "from-you" : "from-app"}`);
    row.dataset.testid = "teams-message";
    row.dataset.id = message.id;
    const meta = element("div", "teams-meta");
    if (!mine) meta.append(element("span", "teams-sender", [message.name]));
    meta.append(element("span", "teams-time", [clock(message.at)]));
    const bubble = element("div", "teams-bubble", [meta]);
    if (message.text) bubble.append(this.text(message));
    (message.cards ?? []).forEach((card, cardIndex) => {
      bubble.append(
        renderCard(card, {
          onSubmit: (index, button) => this.press(message, cardIndex, index, button),
        }),
      );
    });
    for (const kind of message.others ?? []) bubble.append(element("div", "unsupported", [`Unsupported attachment: ${kind}`]));
    if (message.failed) bubble.append(element("div", "teams-failed", [`⚠ Not delivered: ${message.failed}`]));
    if (!mine) row.append(element("span", "avatar avatar-app", ["💳"]));
    row.append(bubble);
    return row;
  }

  text(message) {
    // The person's words as typed; the app's as Teams renders them (markdown unless plain).
    if (message.author === "you" || message.format === "plain" || message.format === "xml") {
      return element("div", "teams-text plain", [message.text]);
    }
    return element("div", "teams-text", [chatMarkdown(message.text)]);
  }

  press(message, card, index, button) {
    button.disabled = true;
    const body = { activity_id: message.activity_id, card, index };
    this.post("/_workspace/teams/actions", body).finally(() => {
      button.disabled = false;
    });
  }

  send() {
    const text = this.composer.value;
    if (!text.trim() || this.composer.disabled) return;
    this.composer.value = "";
    this.post("/_workspace/teams/messages", { text });
  }
}
