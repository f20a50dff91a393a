// Adaptive Cards as Teams draws them in a chat, for the subset paybot sends: `TextBlock`
// (its text in chat markdown, `markdown.js`; weight, size and subtlety honoured) and the
// card's `actions`, `Action.OpenUrl` as a link button that opens a new tab and
// `Action.Submit` as a button whose press the page reports (the server then sends the
// activity Teams sends for it). Written here for that subset rather than taken from the
// Adaptive Cards SDK: the page fetches nothing from the internet and adds no dependency.
// Any other element or action stays visible as a placeholder, so nothing is silently dropped.

import { placeholder } from "./blocks.js";
import { element } from "./dom.js";
import { chatMarkdown } from "./markdown.js";

const SAFE_URL = /^https?:\/\//i;
const SIZES = new Set(["small", "medium", "large", "extralarge"]);

function textBlock(block) {
  const node = element("div", "ac-textblock", [chatMarkdown(block.text)]);
  const size = String(block.size ?? "").toLowerCase();
  if (SIZES.has(size)) node.classList.add(`ac-size-${size}`);
  if (String(block.weight ?? "").toLowerCase() === "bolder") node.classList.add("ac-bolder");
  if (block.isSubtle) node.classList.add("ac-subtle");
  if (block.wrap === false) node.classList.add("ac-nowrap");
  return node;
}

function action(spec, index, options) {
  const title = String(spec?.title ?? "");
  if (spec?.type === "Action.OpenUrl") {
    if (!SAFE_URL.test(String(spec.url ?? ""))) {
      const dead = element("button", "ac-action", [title]);
      dead.disabled = true; // only web links open from a chat
      return dead;
    }
    const link = element("a", "ac-action ac-openurl", [title, element("span", "ac-external", [" ↗"])]);
    link.href = spec.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.dataset.testid = "ac-action";
    return link;
  }
  if (spec?.type === "Action.Submit") {
    const button = element("button", "ac-action", [title]);
    button.type = "button";
    button.dataset.testid = "ac-action";
    button.addEventListener("click", () => options.onSubmit?.(index, button));
    return button;
  }
  return placeholder("action", spec?.type);
}

/** Draw one card. `options.onSubmit(index, button)`: an `Action.Submit` was pressed. */
export function renderCard(card, options = {}) {
  if (card?.type !== "AdaptiveCard") return placeholder("card", card?.type);
  const node = element("div", "ac-card");
  node.dataset.testid = "adaptive-card";
  for (const item of card.body ?? []) {
    node.append(item?.type === "TextBlock" ? textBlock(item) : placeholder("card element", item?.type));
  }
  const actions = Array.isArray(card.actions) ? card.actions : [];
  if (actions.length) {
    const row = node.appendChild(element("div", "ac-actions"));
    actions.forEach((spec, index) => row.append(action(spec, index, options)));
  }
  return node;
}
