// Block Kit layout blocks as Slack draws them. Unknown blocks and elements stay visible as
// placeholders, so nothing an app sends is silently dropped.

import { element } from "./dom.js";
import { mrkdwn, plainText, textObject } from "./mrkdwn.js";

export function placeholder(kind, type) {
  const node = element("div", "unsupported", [`Unsupported ${kind}: ${type ?? "(no type)"}`]);
  node.dataset.testid = "unsupported";
  return node;
}

function button(spec, blockId, index, options) {
  const node = element("button", `bk-button ${spec.style ?? ""}`.trim(), [plainText(spec.text)]);
  node.type = "button";
  node.dataset.testid = "button";
  node.addEventListener("click", () => {
    if (spec.url && /^https?:/i.test(spec.url)) window.open(spec.url, "_blank", "noopener");
    options.onButton?.({ blockId, index, button: spec, node });
  });
  return node;
}

function image(spec) {
  // External images are not fetched: the workspace stays on this machine.
  const title = spec.title ? plainText(spec.title) : "";
  return element("div", "bk-image", [`🖼 ${title || spec.alt_text || "image"}`]);
}

function accessory(spec, blockId, options) {
  if (spec.type === "button") return button(spec, blockId, 0, options);
  if (spec.type === "image") return element("div", "bk-thumb", ["🖼"]);
  return placeholder("element", spec.type);
}

const RENDERERS = {
  header(block) {
    return element("div", "bk-header", [plainText(block.text)]);
  },
  divider() {
    return element("hr", "bk-divider");
  },
  section(block, options) {
    const body = element("div", "bk-section-body");
    if (block.text) body.append(element("div", "bk-text", [textObject(block.text, options.people)]));
    if (Array.isArray(block.fields)) {
      const fields = body.appendChild(element("div", "bk-fields"));
      for (const field of block.fields) {
        fields.append(element("div", "bk-field", [textObject(field, options.people)]));
      }
    }
    const node = element("div", "bk-section", [body]);
    if (block.accessory) node.append(accessory(block.accessory, block.block_id, options));
    return node;
  },
  context(block, options) {
    const node = element("div", "bk-context");
    for (const item of block.elements ?? []) {
      if (item.type === "image") node.append(element("span", "bk-context-image", ["🖼"]));
      else node.append(element("span", "bk-context-text", [textObject(item, options.people)]));
    }
    return node;
  },
  actions(block, options) {
    const node = element("div", "bk-actions");
    (block.elements ?? []).forEach((spec, index) => {
      node.append(
        spec.type === "button"
          ? button(spec, block.block_id, index, options)
          : placeholder("element", spec.type),
      );
    });
    return node;
  },
  image(block) {
    return image(block);
  },
  rich_text(block) {
    const text = (block.elements ?? [])
      .flatMap((section) => section.elements ?? [])
      .map((item) => item.text ?? item.url ?? "")
      .join("");
    return element("div", "bk-text", [text]);
  },
  input(block, options) {
    return options.renderInput ? options.renderInput(block) : placeholder("block", "input");
  },
};

/** Draw `blocks` into a new element. `options`: people (id -> name), onButton, renderInput. */
export function renderBlocks(blocks, options = {}) {
  const container = element("div", "blocks");
  for (const block of blocks ?? []) {
    const render = Object.hasOwn(RENDERERS, block?.type) ? RENDERERS[block.type] : null;
    container.append(render ? render(block, options) : placeholder("block", block?.type));
  }
  return container;
}

/** A message body: its blocks when it has some, else its text as mrkdwn. */
export function renderMessageBody(message, options = {}) {
  if (message.blocks?.length) return renderBlocks(message.blocks, options);
  return element("div", "bk-text", [mrkdwn(message.text, options.people)]);
}
