// Block Kit, rendered as Slack's client shows it: the blocks and elements the bot sends, and a
// visible "unsupported" placeholder for anything this page does not know (never a silent gap).
// Reference: docs.slack.dev/reference/block-kit/blocks, .../block-elements, and
// docs.slack.dev/messaging/formatting-message-text for mrkdwn.
"use strict";

const BlockKit = (() => {
  // Common emoji by their Slack short names; an unknown one shows as :name:, as Slack does.
  const EMOJI = {
    rocket: "🚀", white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️",
    wastebasket: "🗑️", point_right: "👉", large_green_circle: "🟢", green_circle: "🟢",
    red_circle: "🔴", large_blue_circle: "🔵", white_circle: "⚪", large_yellow_circle: "🟡",
    large_orange_circle: "🟠", wave: "👋", thinking_face: "🤔", seedling: "🌱", scissors: "✂️",
    page_facing_up: "📄", no_entry: "⛔", no_entry_sign: "🚫", mag: "🔍",
    hourglass_flowing_sand: "⏳", hourglass: "⌛", heavy_minus_sign: "➖", grey_question: "❔",
    question: "❓", exclamation: "❗", clipboard: "📋", books: "📚", arrow_right: "➡️",
    arrow_left: "⬅️", tada: "🎉", sparkles: "✨", gear: "⚙️", zap: "⚡", fire: "🔥", eyes: "👀",
    "+1": "👍", thumbsup: "👍", "-1": "👎", bulb: "💡", information_source: "ℹ️", lock: "🔒",
    key: "🔑", robot_face: "🤖", speech_balloon: "💬", link: "🔗", memo: "📝", package: "📦",
    stopwatch: "⏱️", bell: "🔔", star: "⭐", computer: "💻", bar_chart: "📊",
    chart_with_upwards_trend: "📈", hammer_and_wrench: "🛠️", wrench: "🔧", calendar: "📅",
    construction: "🚧", test_tube: "🧪", brain: "🧠", stop_sign: "🛑", recycle: "♻️",
    arrows_counterclockwise: "🔄", heavy_plus_sign: "➕", pencil2: "✏️", skull: "💀",
    hourglass_done: "⌛", checkered_flag: "🏁", crystal_ball: "🔮", moneybag: "💰",
  };

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "html") node.innerHTML = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  const escapeHtml = (text) =>
    text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  // Slack escapes &, < and > in message text; undo that before escaping for HTML.
  const unslack = (text) => text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  const emoji = (html) =>
    html.replace(/:([a-z0-9_+-]+):/g, (all, name) => (EMOJI[name] ? EMOJI[name] : all));

  function inline(text, names) {
    // text: raw Slack text without code; returns HTML.
    let html = "";
    let rest = text;
    const link = /<([^>\n]+)>/;
    while (rest.length) {
      const found = link.exec(rest);
      const before = found ? rest.slice(0, found.index) : rest;
      html += styled(before);
      if (!found) break;
      html += linkHtml(found[1], names);
      rest = rest.slice(found.index + found[0].length);
    }
    return html;
  }

  function styled(raw) {
    let html = escapeHtml(unslack(raw));
    html = html.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, "$1<b>$2</b>");
    html = html.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, "$1<i>$2</i>");
    html = html.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,:;!?])/g, "$1<s>$2</s>");
    return emoji(html);
  }

  function linkHtml(inner, names) {
    const [target, label] = inner.split("|", 2);
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return `<span class="mention">@${escapeHtml(label || names.user(id))}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      return `<span class="mention">#${escapeHtml(label || names.channel(id))}</span>`;
    }
    if (target.startsWith("!date^")) {
      const [, seconds, format] = target.split("^");
      const shown = formatDate(Number(seconds), format || "");
      return `<time>${escapeHtml(shown || unslack(label || ""))}</time>`;
    }
    if (target.startsWith("!")) {
      const special = target.slice(1).split("^")[0];
      return `<span class="mention">@${escapeHtml(label || special)}</span>`;
    }
    const url = unslack(target);
    const safe = /^(https?:|mailto:)/i.test(url) ? url : "#";
    return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener">${
      styled(label !== undefined ? label : url)}</a>`;
  }

  // <!date^seconds^format|fallback>: Slack's tokens, in the reader's time zone
  // (docs.slack.dev/messaging/formatting-message-text, "Date formatting").
  function formatDate(seconds, format) {
    if (!Number.isFinite(seconds)) return "";
    const when = new Date(seconds * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    const day = { year: "numeric", month: "long", day: "numeric" };
    const ago = Math.round((Date.now() - when.getTime()) / 60000);
    const tokens = {
      date_num: `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`,
      date: when.toLocaleDateString(undefined, day),
      date_short: when.toLocaleDateString(undefined, { ...day, month: "short" }),
      date_long: when.toLocaleDateString(undefined, { ...day, weekday: "long" }),
      date_pretty: when.toLocaleDateString(undefined, day),
      date_short_pretty: when.toLocaleDateString(undefined, { ...day, month: "short" }),
      date_long_pretty: when.toLocaleDateString(undefined, { ...day, weekday: "long" }),
      time: `${pad(when.getHours())}:${pad(when.getMinutes())}`,
      time_secs: `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`,
      ago: ago < 1 ? "just now" : ago < 60 ? `${ago} minutes ago` : `${Math.round(ago / 60)} hours ago`,
    };
    return format.replace(/\{(\w+)\}/g, (all, name) => (name in tokens ? tokens[name] : all));
  }

  // mrkdwn to HTML: code blocks and inline code first (nothing inside them is formatted), then
  // links and mentions, then bold, italic, strike and emoji; "> " lines are quotes.
  function mrkdwn(text, names) {
    const parts = String(text).split(/```/);
    let html = "";
    parts.forEach((part, index) => {
      if (index % 2 === 1 && index < parts.length - 1) {
        html += `<pre class="code-block">${escapeHtml(unslack(part.replace(/^\n/, "")))}</pre>`;
        return;
      }
      const chunk = index % 2 === 1 ? "```" + part : part;
      const lines = chunk.split("\n").map((line) => {
        const quote = /^(&gt;|>) ?/.exec(line);
        const body = quote ? line.slice(quote[0].length) : line;
        const pieces = body.split("`");
        let out = "";
        pieces.forEach((piece, i) => {
          if (i % 2 === 1 && i < pieces.length - 1) out += `<code>${escapeHtml(unslack(piece))}</code>`;
          else out += inline(i % 2 === 1 ? "`" + piece : piece, names);
        });
        return quote ? `<blockquote>${out}</blockquote>` : out;
      });
      html += lines.join("<br>").replace(/<\/blockquote><br><blockquote>/g, "<br>");
    });
    return html;
  }

  function textHtml(obj, names) {
    if (!obj) return "";
    if (typeof obj === "string") return escapeHtml(obj);
    if (obj.type === "mrkdwn") return mrkdwn(obj.text || "", names);
    const plain = escapeHtml(obj.text || "");
    return obj.emoji === false ? plain : emoji(plain);
  }

  const textNode = (obj, names, tag = "span", cls = "") =>
    el(tag, { class: cls || null, html: textHtml(obj, names) });

  const unsupported = (what) =>
    el("div", { class: "unsupported", "data-unsupported": what }, `unsupported: ${what}`);

  // ----- elements ------------------------------------------------------------------------

  function options(element) {
    const all = [...(element.options || [])];
    for (const group of element.option_groups || []) all.push(...(group.options || []));
    return all;
  }

  function withConfirm(element, ctx, send) {
    return () => (element.confirm ? ctx.confirm(element.confirm, send) : send());
  }

  function button(element, where, ctx) {
    const style = element.style ? ` ${element.style}` : "";
    return el(
      "button",
      {
        type: "button",
        class: `bk-button${style}`,
        "data-action-id": element.action_id,
        onclick: withConfirm(element, ctx, () => {
          if (element.url) window.open(element.url, "_blank", "noopener");
          ctx.act(where, null);
        }),
      },
      textNode(element.text, ctx.names),
    );
  }

  function staticSelect(element, where, ctx, input) {
    const select = el("select", {
      class: "bk-select",
      "data-action-id": element.action_id,
      "data-kind": "static_select",
    });
    const initial = element.initial_option ? element.initial_option.value : "";
    select.append(el("option", { value: "", disabled: true, selected: !initial },
      element.placeholder ? element.placeholder.text : "Select an item"));
    const addOption = (parent, option) =>
      parent.append(el("option", { value: option.value, selected: option.value === initial },
        emoji(option.text.text)));
    for (const option of element.options || []) addOption(select, option);
    for (const group of element.option_groups || []) {
      const node = el("optgroup", { label: group.label.text });
      for (const option of group.options || []) addOption(node, option);
      select.append(node);
    }
    if (!input || input.dispatch) {
      select.addEventListener("change", () => ctx.act(where, select.value));
    }
    return select;
  }

  function overflow(element, where, ctx) {
    const menu = el("div", { class: "overflow-menu", hidden: true });
    for (const option of options(element)) {
      menu.append(el("button", {
        type: "button",
        class: "overflow-option",
        "data-value": option.value,
        onclick: withConfirm(element, ctx, () => {
          menu.hidden = true;
          ctx.act(where, option.value);
        }),
      }, textNode(option.text, ctx.names)));
    }
    const toggle = el("button", {
      type: "button", class: "bk-overflow", "data-action-id": element.action_id,
      "aria-label": "More actions", onclick: () => { menu.hidden = !menu.hidden; },
    }, "⋯");
    return el("span", { class: "overflow" }, toggle, menu);
  }

  function choices(element, where, ctx, input, multiple) {
    const box = el("div", {
      class: multiple ? "bk-checkboxes" : "bk-radios",
      "data-action-id": element.action_id,
      "data-kind": element.type,
    });
    const initial = multiple
      ? (element.initial_options || []).map((o) => o.value)
      : element.initial_option ? [element.initial_option.value] : [];
    const name = `${where.block}-${element.action_id}-${Math.random().toString(36).slice(2)}`;
    for (const option of options(element)) {
      const control = el("input", {
        type: multiple ? "checkbox" : "radio", name, value: option.value,
        checked: initial.includes(option.value),
      });
      control.addEventListener("change", () => {
        if (input && !input.dispatch) return;
        const chosen = [...box.querySelectorAll("input:checked")].map((c) => c.value);
        ctx.act(where, multiple ? chosen : chosen[0] || null);
      });
      box.append(el("label", { class: "choice" }, control, " ", textNode(option.text, ctx.names),
        option.description ? textNode(option.description, ctx.names, "div", "choice-help") : null));
    }
    return box;
  }

  function textInput(element, where, ctx, input) {
    const number = element.type === "number_input";
    const attrs = {
      class: "bk-text",
      "data-action-id": element.action_id,
      "data-kind": element.type,
      placeholder: element.placeholder ? element.placeholder.text : null,
      maxlength: element.max_length,
    };
    let node;
    if (element.multiline) {
      node = el("textarea", attrs);
      node.value = element.initial_value || "";
    } else {
      node = el("input", {
        ...attrs,
        type: number ? "number" : "text",
        step: number ? (element.is_decimal_allowed ? "any" : "1") : null,
        min: number ? element.min_value : null,
        max: number ? element.max_value : null,
        value: element.initial_value,
      });
    }
    if (input && input.dispatch) {
      node.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !element.multiline) {
          event.preventDefault();
          ctx.act(where, node.value === "" ? null : node.value);
        }
      });
    }
    return node;
  }

  function element(element, where, ctx, input = null) {
    const kind = element.type;
    if (kind === "button") return button(element, where, ctx);
    if (kind === "static_select") return staticSelect(element, where, ctx, input);
    if (kind === "overflow") return overflow(element, where, ctx);
    if (kind === "radio_buttons") return choices(element, where, ctx, input, false);
    if (kind === "checkboxes") return choices(element, where, ctx, input, true);
    if (kind === "plain_text_input" || kind === "number_input") {
      return textInput(element, where, ctx, input);
    }
    if (kind === "image") {
      return el("span", { class: "image-alt", title: element.alt_text }, `🖼 ${element.alt_text || ""}`);
    }
    return unsupported(`element ${kind}`);
  }

  // ----- blocks --------------------------------------------------------------------------

  function block(block, index, ctx) {
    const where = { block: index };
    const at = (item) => ({ ...where, action_id: item.action_id });
    const attrs = { class: `block block-${block.type}`, "data-block-id": block.block_id || null };
    switch (block.type) {
      case "header":
        return el("div", attrs, textNode(block.text, ctx.names, "h3"));
      case "divider":
        return el("hr", attrs);
      case "section": {
        const node = el("div", attrs);
        const body = el("div", { class: "section-body" });
        if (block.text) body.append(textNode(block.text, ctx.names, "div", "section-text"));
        if (block.fields) {
          body.append(el("div", { class: "fields" },
            block.fields.map((field) => textNode(field, ctx.names, "div", "field"))));
        }
        node.append(body);
        if (block.accessory) {
          node.append(el("div", { class: "accessory" },
            element(block.accessory, at(block.accessory), ctx)));
        }
        return node;
      }
      case "context":
        return el("div", attrs, (block.elements || []).map((item) =>
          item.type === "image"
            ? element(item, where, ctx)
            : textNode(item, ctx.names, "span", "context-item")));
      case "actions":
        return el("div", attrs, (block.elements || []).map((item) => element(item, at(item), ctx)));
      case "input": {
        const input = { dispatch: Boolean(block.dispatch_action) };
        const error = ctx.errors && ctx.errors[block.block_id];
        const node = el("div", {
          ...attrs,
          "data-input-block": block.block_id,
          class: `block block-input${error ? " has-error" : ""}`,
        });
        node.append(el("label", { class: "input-label" }, textNode(block.label, ctx.names),
          block.optional ? el("span", { class: "optional" }, " (optional)") : null));
        node.append(element(block.element, at(block.element), ctx, input));
        if (error) node.append(el("div", { class: "input-error" }, error));
        if (block.hint) node.append(textNode(block.hint, ctx.names, "div", "hint"));
        return node;
      }
      case "image":
        return el("div", attrs, el("span", { class: "image-alt" }, `🖼 ${block.alt_text || ""}`));
      default:
        return el("div", attrs, unsupported(`block ${block.type}`));
    }
  }

  function render(blocks, ctx) {
    const root = el("div", { class: "blocks" });
    (blocks || []).forEach((item, index) => root.append(block(item, index, ctx)));
    return root;
  }

  // What a person entered in each input block, by block_id: text (null when empty), an option
  // value (null when none), or a list of option values.
  function typed(root) {
    const values = {};
    for (const node of root.querySelectorAll("[data-input-block]")) {
      const id = node.getAttribute("data-input-block");
      const control = node.querySelector("[data-kind]");
      if (!control) continue;
      const kind = control.getAttribute("data-kind");
      if (kind === "checkboxes") {
        values[id] = [...control.querySelectorAll("input:checked")].map((c) => c.value);
      } else if (kind === "radio_buttons") {
        const checked = control.querySelector("input:checked");
        values[id] = checked ? checked.value : null;
      } else {
        values[id] = control.value === "" ? null : control.value;
      }
    }
    return values;
  }

  // Put back what a person had entered into inputs that kept their block_id (Slack keeps the
  // state of an input across views.update unless its block_id changes).
  function restore(root, values) {
    for (const node of root.querySelectorAll("[data-input-block]")) {
      const id = node.getAttribute("data-input-block");
      if (!(id in values)) continue;
      const control = node.querySelector("[data-kind]");
      const value = values[id];
      const kind = control && control.getAttribute("data-kind");
      if (!control) continue;
      if (kind === "checkboxes" || kind === "radio_buttons") {
        const chosen = Array.isArray(value) ? value : value ? [value] : [];
        for (const box of control.querySelectorAll("input")) box.checked = chosen.includes(box.value);
      } else {
        control.value = value === null ? "" : value;
      }
    }
  }

  return { el, mrkdwn, textHtml, render, typed, restore, unsupported };
})();
