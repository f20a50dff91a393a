// The open modal: the top of the app's view stack, its inputs, inline errors and buttons.
// What the person types stays in the inputs until Submit; a new view replaces them all.

import { placeholder, renderBlocks } from "./blocks.js";
import { element } from "./dom.js";
import { plainText } from "./mrkdwn.js";

const TEXT_INPUTS = { plain_text_input: "text", email_text_input: "email", url_text_input: "url", number_input: "text" };

export class Modal {
  /** `handlers`: submit(view, values), close(view), button(view, press), people. */
  constructor(root, handlers) {
    this.root = root;
    this.handlers = handlers;
    this.view = null;
    this.fields = new Map(); // block_id -> { input, error, spec }
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.view) this.handlers.close(this.view);
    });
  }

  /** Show the modal state the server sent: { view, depth, errors, notice }. */
  show(state) {
    const view = state?.view ?? null;
    if (!view) {
      this.clear();
      return;
    }
    if (!this.view || this.view.id !== view.id || this.view.hash !== view.hash) {
      this.build(view, state.depth ?? 1);
    }
    this.setBusy(false);
    this.showErrors(state.errors ?? {});
    this.showNotice(state.notice);
  }

  clear() {
    this.view = null;
    this.submitButton = null;
    this.fields.clear();
    this.root.replaceChildren();
  }

  build(view, depth) {
    this.clear();
    this.view = view;
    const title = element("h2", "modal-title", [plainText(view.title)]);
    title.id = "modal-title";
    const dismiss = element("button", "modal-x", ["×"]);
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", "Close");
    dismiss.addEventListener("click", () => this.handlers.close(view));
    const header = element("header", "modal-header", [title, dismiss]);
    if (depth > 1) header.prepend(element("span", "modal-back", ["‹"]));

    this.notice = element("div", "modal-notice");
    this.notice.hidden = true;
    const body = element("div", "modal-body", [this.notice]);
    body.append(
      renderBlocks(view.blocks, {
        people: this.handlers.people(),
        onButton: (press) => this.handlers.button(view, press),
        renderInput: (block) => this.input(block),
      }),
    );

    const footer = element("footer", "modal-footer");
    const close = element("button", "bk-button", [plainText(view.close) || (view.submit ? "Cancel" : "Close")]);
    close.type = "button";
    close.dataset.testid = "modal-close";
    close.addEventListener("click", () => this.handlers.close(view));
    footer.append(close);
    if (view.submit) {
      this.submitButton = element("button", "bk-button primary", [plainText(view.submit)]);
      this.submitButton.type = "submit";
      this.submitButton.dataset.testid = "modal-submit";
      footer.append(this.submitButton);
    }

    const form = element("form", "modal", [header, body, footer]);
    form.noValidate = true; // validated below, in Slack's words
    form.autocomplete = "off";
    form.dataset.testid = "modal";
    form.setAttribute("role", "dialog");
    form.setAttribute("aria-modal", "true");
    form.setAttribute("aria-labelledby", "modal-title");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.root.replaceChildren(element("div", "overlay", [form]));
    this.root.querySelector("input, textarea")?.focus();
  }

  input(block) {
    const spec = block.element ?? {};
    const label = plainText(block.label);
    const wrapper = element("div", "input-block");
    const labelNode = element("label", "input-label", [label]);
    if (block.optional) labelNode.append(element("span", "optional", [" (optional)"]));
    wrapper.append(labelNode);
    if (!Object.hasOwn(TEXT_INPUTS, spec.type)) {
      wrapper.append(placeholder("element", spec.type));
      return wrapper;
    }
    const input = document.createElement(spec.multiline ? "textarea" : "input");
    if (!spec.multiline) input.type = TEXT_INPUTS[spec.type];
    input.id = `input-${block.block_id}`;
    input.className = "text-input";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("aria-label", label);
    if (spec.placeholder) input.placeholder = plainText(spec.placeholder);
    if (spec.max_length) input.maxLength = spec.max_length;
    if (spec.initial_value) input.value = spec.initial_value;
    labelNode.htmlFor = input.id;
    wrapper.append(input);
    if (block.hint) wrapper.append(element("div", "input-hint", [plainText(block.hint)]));
    input.addEventListener("input", () => this.showError(block.block_id, ""));
    this.fields.set(block.block_id, { input, wrapper, spec, optional: Boolean(block.optional) });
    return wrapper;
  }

  showErrors(errors) {
    for (const blockId of this.fields.keys()) this.showError(blockId, errors[blockId] ?? "");
  }

  showError(blockId, message) {
    const field = this.fields.get(blockId);
    if (!field) return;
    field.wrapper.querySelector(".field-error")?.remove();
    if (message) {
      const error = element("div", "field-error", [message]);
      error.dataset.testid = "field-error";
      error.setAttribute("role", "alert");
      field.input.after(error);
    }
    field.input.classList.toggle("invalid", Boolean(message));
    field.input.setAttribute("aria-invalid", message ? "true" : "false");
  }

  showNotice(message) {
    if (!this.notice) return;
    this.notice.textContent = message ?? "";
    this.notice.hidden = !message;
  }

  setBusy(busy) {
    if (this.submitButton) this.submitButton.disabled = busy;
    this.root.querySelector(".modal")?.classList.toggle("busy", busy);
  }

  /** Slack checks required fields and lengths before anything is sent. */
  localErrors() {
    const errors = {};
    for (const [blockId, { input, spec, optional }] of this.fields) {
      const length = input.value.trim().length;
      if (!length && !optional) errors[blockId] = "Please complete this required field.";
      else if (length && spec.min_length && length < spec.min_length) {
        errors[blockId] = `Please enter at least ${spec.min_length} characters.`;
      }
    }
    return errors;
  }

  submit() {
    if (!this.view?.submit) return;
    const errors = this.localErrors();
    this.showErrors(errors);
    if (Object.keys(errors).length) return;
    const values = {};
    for (const [blockId, { input, spec }] of this.fields) {
      values[blockId] = { [spec.action_id]: input.value === "" ? null : input.value };
    }
    this.setBusy(true);
    this.handlers.submit(this.view, values).finally(() => this.setBusy(false));
  }
}
