// The app's tabs in its DM as Slack's agent messaging experience shows them: Home (the view the
// app published for the person) and Messages, with the app's suggested prompts above the
// composer and its status line under each thread it is working in.

import { renderBlocks } from "./blocks.js";
import { element } from "./dom.js";

const ROTATE_MS = 2000; // how often a status's loading messages take turns

export class AgentSurface {
  /**
   * `parts`: messages, home, prompts (elements); tabs, panes (node lists); post(path, body);
   * threadOf(ts) (the thread under a shown message, or null); appName(); people().
   */
  constructor(parts) {
    this.parts = parts;
    this.tab = "messages";
    this.homeTab = false;
    this.prompts = null;
    this.statuses = {};
    this.loading = new Map(); // loading-message node -> { messages, at }
    for (const tab of parts.tabs) tab.addEventListener("click", () => this.open(tab.dataset.appTab));
    setInterval(() => this.rotate(), ROTATE_MS);
  }

  /** The person chose a tab: show it, and tell the workspace (which tells the app). */
  open(tab) {
    this.showTab(tab);
    return this.parts.post("/_workspace/tabs", { tab });
  }

  /** Everything from a snapshot: whether there is a Home tab, the open tab, home, prompts, statuses. */
  reset(snapshot) {
    this.homeTab = snapshot.home_tab === true;
    this.showHome(snapshot.home_view);
    this.showAgent(snapshot);
    this.showTab(snapshot.tab);
  }

  showTab(tab) {
    this.tab = tab === "home" && this.homeTab ? "home" : "messages";
    for (const node of this.parts.tabs) {
      node.hidden = node.dataset.appTab === "home" && !this.homeTab;
      node.setAttribute("aria-selected", String(node.dataset.appTab === this.tab));
    }
    for (const pane of this.parts.panes) pane.hidden = pane.dataset.appPane !== this.tab;
    this.showPrompts(this.prompts);
  }

  showHome(view) {
    const home = this.parts.home;
    if (!view) {
      const name = this.parts.appName();
      home.replaceChildren(element("p", "home-empty", [`${name} has not published a Home tab for you yet.`]));
      return;
    }
    const blocks = renderBlocks(view.blocks, {
      people: this.parts.people(),
      onButton: (press) =>
        this.parts.post("/_workspace/actions", { view_id: view.id, block_id: press.blockId, index: press.index }),
    });
    home.replaceChildren(blocks);
  }

  /** The `agent` event: { suggested_prompts, statuses }. */
  showAgent(agent) {
    this.showPrompts(agent.suggested_prompts ?? null);
    this.showStatuses(agent.statuses ?? {});
  }

  showPrompts(prompts) {
    this.prompts = prompts;
    const list = prompts?.prompts ?? [];
    const box = this.parts.prompts;
    box.hidden = this.tab !== "messages" || list.length === 0;
    const chips = list.map((prompt, index) => {
      const chip = element("button", "chip prompt", [prompt.title]);
      chip.type = "button";
      chip.title = prompt.message;
      chip.dataset.testid = "prompt";
      chip.addEventListener("click", () => this.parts.post("/_workspace/prompts", { index }));
      return chip;
    });
    const title = prompts?.title ? [element("div", "prompts-title", [prompts.title])] : [];
    box.replaceChildren(...title, element("div", "prompt-chips", chips));
  }

  /** A status line at the end of each thread the app set one in (or at the end, if not shown). */
  showStatuses(statuses) {
    const messages = this.parts.messages;
    const stick = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
    this.statuses = statuses;
    for (const line of messages.querySelectorAll(".thread-status")) line.remove();
    this.loading.clear();
    for (const [ts, shown] of Object.entries(statuses)) {
      const line = element("div", "thread-status", [
        element("span", "status-dots", ["•••"]),
        element("span", "status-text", [`${this.parts.appName()} ${shown.status}`]),
      ]);
      line.dataset.testid = "thread-status";
      line.dataset.threadTs = ts;
      line.setAttribute("role", "status");
      if (shown.loading_messages?.length) {
        const turn = line.appendChild(element("span", "status-loading", [shown.loading_messages[0]]));
        this.loading.set(turn, { messages: shown.loading_messages, at: 0 });
      }
      (this.parts.threadOf(ts) ?? messages).append(line);
    }
    if (stick) messages.scrollTop = messages.scrollHeight;
  }

  rotate() {
    for (const [node, turns] of this.loading) {
      turns.at = (turns.at + 1) % turns.messages.length;
      node.textContent = turns.messages[turns.at];
    }
  }
}
