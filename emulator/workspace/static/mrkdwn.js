// Slack's text formats turned into DOM nodes. Text only ever becomes text nodes: nothing a
// message says is parsed as HTML.

import { element } from "./dom.js";

const EMOJI = {
  lock: "🔒", closed_lock_with_key: "🔐", credit_card: "💳", white_check_mark: "✅",
  heavy_check_mark: "✔️", x: "❌", warning: "⚠️", no_entry: "⛔", wave: "👋", tada: "🎉",
  information_source: "ℹ️", moneybag: "💰", receipt: "🧾", bulb: "💡", eyes: "👀",
  hourglass: "⌛", hourglass_flowing_sand: "⏳", thumbsup: "👍", "+1": "👍", smile: "😄",
  slightly_smiling_face: "🙂", question: "❓", exclamation: "❗", key: "🔑", shield: "🛡️",
};

// One alternative per construct; bold, italic and strike need word boundaries, as in Slack.
const INLINE = new RegExp(
  [
    "```([\\s\\S]*?)```",                                 // 1 preformatted
    "`([^`\\n]+)`",                                       // 2 code
    "<([^<>\\s][^<>]*)>",                                 // 3 link, mention
    "(?<![\\w*])\\*(?=\\S)([^*\\n]*?\\S)\\*(?![\\w*])",  // 4 bold
    "(?<![\\w_])_(?=\\S)([^_\\n]*?\\S)_(?![\\w_])",      // 5 italic
    "(?<![\\w~])~(?=\\S)([^~\\n]*?\\S)~(?![\\w~])",      // 6 strike
    ":([a-z0-9_+-]+):",                                   // 7 emoji
    "\\n",
  ].join("|"),
  "g",
);

const SAFE_LINK = /^(https?:|mailto:)/i;

/** Slack escapes &, < and > in message text; show them as the characters they stand for. */
export function unescapeEntities(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function emojiText(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

function link(target, people) {
  const [address, label] = splitOnce(unescapeEntities(target), "|");
  if (address.startsWith("@")) {
    const name = label || people[address.slice(1)] || address.slice(1);
    return element("span", "mention", [`@${name}`]);
  }
  if (address.startsWith("#")) return element("span", "mention", [`#${label || address.slice(1)}`]);
  if (address.startsWith("!")) {
    const special = address.slice(1).split("^")[0];
    return element("span", "mention", [label || `@${special}`]);
  }
  if (!SAFE_LINK.test(address)) return document.createTextNode(label || address);
  const anchor = element("a", "", [label || address]);
  anchor.href = address;
  anchor.target = "_blank";
  anchor.rel = "noopener noreferrer";
  return anchor;
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

function appendFormatted(text, into, people) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    into.append(unescapeEntities(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const [, pre, code, target, bold, italic, strike, emoji] = match;
    if (pre !== undefined) into.append(element("pre", "pre", [unescapeEntities(pre.replace(/^\n/, ""))]));
    else if (code !== undefined) into.append(element("code", "", [unescapeEntities(code)]));
    else if (target !== undefined) into.append(link(target, people));
    else if (bold !== undefined) appendFormatted(bold, into.appendChild(element("b")), people);
    else if (italic !== undefined) appendFormatted(italic, into.appendChild(element("i")), people);
    else if (strike !== undefined) appendFormatted(strike, into.appendChild(element("s")), people);
    else if (emoji !== undefined) into.append(EMOJI[emoji] ?? match[0]);
    else into.append(element("br"));
  }
  into.append(unescapeEntities(text.slice(last)));
}

/** A `mrkdwn` string as a fragment: *bold*, _italics_, ~strike~, `code`, links, line breaks. */
export function mrkdwn(text, people = {}) {
  const fragment = document.createDocumentFragment();
  appendFormatted(String(text ?? ""), fragment, people);
  return fragment;
}

/** A text object (`plain_text` or `mrkdwn`) as a fragment. */
export function textObject(object, people = {}) {
  if (!object) return document.createDocumentFragment();
  if (object.type === "mrkdwn") return mrkdwn(object.text, people);
  const plain = String(object.text ?? "");
  const fragment = document.createDocumentFragment();
  fragment.append(object.emoji === false ? plain : emojiText(plain));
  return fragment;
}

/** Plain characters of a text object, e.g. for labels and titles. */
export function plainText(object) {
  if (!object) return "";
  const text = String(object.text ?? "");
  return object.type === "mrkdwn" ? unescapeEntities(text) : emojiText(text);
}
