// The DOM helper every part of the page builds with. Children are nodes or strings, and a
// string only ever becomes a text node: nothing is parsed as HTML.

/** A new `tag` element with `className` (if any) and `children` appended in order. */
export function element(tag, className, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) node.append(child);
  return node;
}
