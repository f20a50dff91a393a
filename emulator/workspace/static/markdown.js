// Chat markdown as a Teams bot writes it, for the subset paybot uses: `**bold**`, `code`,
// paragraphs, line breaks and `- ` lists, plus backslash escapes and HTML entities (the app
// escapes `&`, `<`, `>` and brackets so that no supplied value becomes markup). Written here
// for that subset. Text only ever becomes text nodes: nothing a message says is parsed as
// HTML, and anything else (links, images, tables) stays the characters it was written with.

import { element } from "./dom.js";

const INLINE = /\\([!-\/:-@[-`{-~])|`([^`\n]+)`|\*\*(?=\S)(.*?\S)\*\*/g;
const LIST_ITEM = /^\s{0,3}[-*+] (.*)$/;
const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/** `&amp;`, `&#60;` and the like as the characters they stand for; unknown ones stay. */
export function decodeEntities(text) {
  return text.replace(/&(#[0-9]{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/gi, (whole, name) => {
    if (name.startsWith("#")) {
      const hex = name[1] === "x" || name[1] === "X";
      const code = Number.parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    const key = name.toLowerCase();
    return Object.hasOwn(ENTITIES, key) ? ENTITIES[key] : whole;
  });
}

function appendInline(text, into) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    into.append(decodeEntities(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const [, escaped, code, bold] = match;
    if (escaped !== undefined) into.append(escaped);
    else if (code !== undefined) into.append(element("code", "", [decodeEntities(code)]));
    else appendInline(bold, into.appendChild(element("strong")));
  }
  into.append(decodeEntities(text.slice(last)));
}

/** Chat markdown as a fragment: paragraphs (`p`), line breaks (`br`), lists, bold, code. */
export function chatMarkdown(text) {
  const fragment = document.createDocumentFragment();
  let paragraph = null;
  let list = null;
  for (const line of String(text ?? "").replace(/\r\n?/g, "\n").split("\n")) {
    const item = LIST_ITEM.exec(line);
    if (!line.trim()) {
      paragraph = list = null;
    } else if (item) {
      paragraph = null;
      list ??= fragment.appendChild(element("ul", "md-list"));
      appendInline(item[1], list.appendChild(element("li")));
    } else {
      list = null;
      if (paragraph) paragraph.append(element("br"));
      else paragraph = fragment.appendChild(element("p", "md-paragraph"));
      appendInline(line, paragraph);
    }
  }
  return fragment;
}
