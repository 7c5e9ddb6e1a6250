// The page that plays Slack. It polls /api/state for what the current person sees and sends
// what they do to /api/*; the playground's server turns that into the signed payloads Slack
// would send the bot. Nothing here is fetched from the network.
"use strict";

(() => {
  const { el, render, typed, restore, textHtml } = BlockKit;
  const POLL_MS = 400;
  const $ = (id) => document.getElementById(id);

  const page = {
    me: localStorage.getItem("dynamote-playground-person") || "U0DEPLOYER",
    where: { kind: "channel", id: "C0DEPLOYS" },
    thread: null, // ts of the open thread
    state: null,
    drawn: {}, // region -> JSON of what it shows now, so unchanged regions keep their inputs
    entered: {}, // view id -> what the person entered in it (touched inputs only)
  };

  // ----- talking to the playground server -------------------------------------------------

  async function call(path, body) {
    let answer;
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: page.me, ...body }),
      });
      answer = await response.json();
    } catch (error) {
      answer = { ok: false, error: `the playground did not answer: ${error}` };
    }
    if (!answer.ok) toast(answer.error);
    await refresh();
    return answer;
  }

  async function refresh() {
    try {
      const response = await fetch(`/api/state?user=${encodeURIComponent(page.me)}`);
      if (response.ok) {
        page.state = await response.json();
        draw();
      }
    } catch (error) {
      // The playground stopped; keep the last picture.
    }
  }

  function toast(message) {
    const node = $("toast");
    node.textContent = message;
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { node.hidden = true; }, 8000);
  }

  const names = {
    user(id) {
      const person = page.state && page.state.people.find((p) => p.user_id === id);
      return person ? person.name : id === "U0DYNAMOTE" ? "Dynamote" : id;
    },
    channel(id) {
      const channel = page.state && page.state.channels.find((c) => c.id === id);
      return channel ? channel.name : id;
    },
  };

  function ctxFor(container, extra = {}) {
    return {
      names,
      errors: extra.errors || {},
      confirm,
      act(where, chosen) {
        const root = extra.root ? extra.root() : null;
        call("/api/action", { container, where, chosen, typed: root ? typed(root) : {} });
      },
    };
  }

  // ----- confirm dialogs ------------------------------------------------------------------

  function confirm(dialog, go) {
    const layer = $("confirm-layer");
    const close = () => { layer.hidden = true; layer.replaceChildren(); };
    const confirmButton = el("button", {
      type: "button", class: `bk-button ${dialog.style === "danger" ? "danger" : "primary"}`,
      "data-confirm": "yes", onclick: () => { close(); go(); },
    }, dialog.confirm ? dialog.confirm.text : "Yes");
    layer.replaceChildren(el("div", { class: "dialog", role: "dialog" },
      el("h3", { html: textHtml(dialog.title || { type: "plain_text", text: "Are you sure?" }, names) }),
      el("div", { class: "dialog-text", html: textHtml(dialog.text, names) }),
      el("div", { class: "dialog-buttons" },
        el("button", { type: "button", class: "bk-button", "data-confirm": "no", onclick: close },
          dialog.deny ? dialog.deny.text : "Cancel"),
        confirmButton)));
    layer.hidden = false;
  }

  // ----- drawing --------------------------------------------------------------------------

  function changed(region, value) {
    const json = JSON.stringify(value);
    if (page.drawn[region] === json) return false;
    page.drawn[region] = json;
    return true;
  }

  function draw() {
    const state = page.state;
    drawSidebar(state);
    if (page.where.kind === "home") drawHome(state);
    else drawChannel(state);
    drawThread(state);
    drawModal(state);
  }

  function drawSidebar(state) {
    if (!changed("sidebar", [state.me, state.channels, page.where])) return;
    const person = $("person");
    person.replaceChildren(...state.people.map((p) =>
      el("option", { value: p.user_id, selected: p.user_id === state.me }, `${p.name} (${p.role})`)));
    const me = state.people.find((p) => p.user_id === state.me);
    $("role").textContent = me ? `${me.user_id}: ${me.role}` : "";
    $("channels").replaceChildren(...state.channels.map((c) => el("a", {
      href: "#", "data-nav": c.id,
      class: page.where.kind === "channel" && page.where.id === c.id ? "active" : null,
    }, c.dm ? `💬 ${c.name}` : `# ${c.name}`)));
    $("nav-home").className = page.where.kind === "home" ? "active" : "";
  }

  function messageNode(message, ctxContainer, replies) {
    const author = message.bot ? "Dynamote" : names.user(message.user);
    const container = message.ephemeral
      ? { type: "ephemeral", id: message.id }
      : { type: "message", channel: ctxContainer, ts: message.ts };
    const body = el("div", { class: "message-body" },
      el("div", { class: "author" }, author, message.bot ? el("span", { class: "app-badge" }, "APP") : null,
        message.edited ? el("span", { class: "edited" }, "(edited)") : null,
        message.subtype === "thread_broadcast" && replies !== null
          ? el("span", { class: "edited" }, "replied to a thread") : null),
      message.blocks && message.blocks.length
        ? render(message.blocks, ctxFor(container))
        : el("div", { class: "text", html: BlockKit.mrkdwn(message.text || "", names) }));
    for (const attachment of message.attachments || []) {
      body.append(el("div", { class: "attachment", style: `border-color:${attachment.color || "#ddd"}` },
        render(attachment.blocks || [], ctxFor(container)),
        attachment.text ? el("div", { html: BlockKit.mrkdwn(attachment.text, names) }) : null));
    }
    if (message.ephemeral) {
      body.append(el("div", { class: "ephemeral-note" }, "👁 Only visible to you · ",
        el("a", { href: "#", "data-dismiss": message.id }, "Dismiss")));
    }
    if (replies) {
      body.append(el("a", { href: "#", class: "replies", "data-thread": message.ts },
        `${replies} ${replies === 1 ? "reply" : "replies"}`));
    }
    return el("div", {
      class: `message${message.ephemeral ? " ephemeral" : ""}`,
      "data-ts": message.ts,
    }, el("div", { class: "avatar" }, message.bot ? "🤖" : author.slice(0, 1).toUpperCase()), body);
  }

  // A message's node is kept while the message is unchanged, so a redraw of its channel does
  // not reset what a person is doing in another message (an open menu, a half-made choice).
  const nodes = { channel: new Map(), thread: new Map() };
  function keyed(region, message, extra, make) {
    const key = JSON.stringify([message, extra]);
    const node = nodes[region].get(key) || make();
    nodes[region].set(key, node);
    return node;
  }
  function prune(region, shown) {
    for (const [key, node] of nodes[region]) if (!shown.includes(node)) nodes[region].delete(key);
  }

  function drawChannel(state) {
    $("home").hidden = true;
    $("channel").hidden = false;
    const channel = state.channels.find((c) => c.id === page.where.id) || state.channels[0];
    page.where.id = channel.id;
    const messages = state.messages[channel.id] || [];
    if (!changed("channel", [channel, messages])) return;
    $("title").textContent = channel.dm ? `💬 ${channel.name}` : `# ${channel.name}`;
    const top = messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts
      || m.subtype === "thread_broadcast");
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const shown = top.map((m) => {
      const replies = messages.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts).length;
      return keyed("channel", m, [channel.id, replies], () => messageNode(m, channel.id, replies));
    });
    box.replaceChildren(...shown);
    prune("channel", shown);
    if (!messages.length) {
      box.append(el("div", { class: "empty" }, "Type /dynamote help below to start."));
    }
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function drawThread(state) {
    const panel = $("thread");
    if (!page.thread || page.where.kind !== "channel") {
      panel.hidden = true;
      page.drawn.thread = null;
      return;
    }
    panel.hidden = false;
    const messages = state.messages[page.where.id] || [];
    const thread = messages.filter((m) => m.ts === page.thread || m.thread_ts === page.thread);
    if (!changed("thread", thread)) return;
    const shown = thread.map((m) => keyed("thread", m, page.where.id,
      () => messageNode(m, page.where.id, null)));
    $("thread-messages").replaceChildren(...shown);
    prune("thread", shown);
  }

  function drawHome(state) {
    $("channel").hidden = true;
    $("home").hidden = false;
    $("title").textContent = "Dynamote · Home";
    if (!changed("home", state.home)) return;
    const home = $("home");
    if (!state.home) {
      home.replaceChildren(el("div", { class: "empty" }, "Opening App Home…"));
      return;
    }
    home.replaceChildren(render(state.home.blocks, ctxFor({ type: "view", view_id: state.home.id },
      { root: () => home })));
  }

  function drawModal(state) {
    const layer = $("modal-layer");
    const top = state.modals[state.modals.length - 1];
    const shown = top ? [top.id, top.hash, top.errors, state.modals.length] : null;
    if (!changed("modal", shown)) return;
    if (!top) {
      layer.hidden = true;
      layer.replaceChildren();
      return;
    }
    // Keep what was entered in inputs that keep their block_id, per view: Slack holds a view's
    // state across views.update and while a pushed view covers it.
    const before = layer.querySelector(".modal");
    if (before) page.entered[before.getAttribute("data-view-id")] = touched(before);
    const open = new Set(state.modals.map((view) => view.id));
    for (const id of Object.keys(page.entered)) if (!open.has(id)) delete page.entered[id];
    const kept = page.entered[top.id] || {};
    const root = () => layer.querySelector(".modal-body");
    const body = el("div", { class: "modal-body" },
      render(top.blocks, ctxFor({ type: "view", view_id: top.id }, { errors: top.errors, root })));
    restore(body, kept);
    for (const name of ["input", "change"]) {
      body.addEventListener(name, (event) => {
        const block = event.target.closest("[data-input-block]");
        if (block) block.dataset.touched = "1";
      });
    }
    for (const id of Object.keys(kept)) {
      const block = body.querySelector(`[data-input-block="${CSS.escape(id)}"]`);
      if (block) block.dataset.touched = "1";
    }
    const values = () => typed(root());
    const form = el("form", {
      class: "modal", "data-view-id": top.id, "data-callback-id": top.callback_id || null,
      onsubmit: (event) => {
        event.preventDefault();
        call("/api/submit", { view_id: top.id, typed: values() });
      },
    },
    el("header", {},
      el("h2", { html: textHtml(top.title, names) }),
      el("button", { type: "button", class: "modal-x", "aria-label": "Close",
        onclick: () => call("/api/close", { view_id: top.id, typed: values() }) }, "✕")),
    body,
    el("footer", {},
      el("button", { type: "button", class: "bk-button", "data-modal": "close",
        onclick: () => call("/api/close", { view_id: top.id, typed: values() }) },
        top.close ? top.close.text : "Cancel"),
      top.submit ? el("button", { type: "submit", class: "bk-button primary", "data-modal": "submit" },
        top.submit.text) : null));
    layer.replaceChildren(form);
    layer.hidden = false;
  }

  function touched(modal) {
    const all = typed(modal);
    const kept = {};
    for (const block of modal.querySelectorAll("[data-input-block][data-touched]")) {
      const id = block.getAttribute("data-input-block");
      if (id in all) kept[id] = all[id];
    }
    return kept;
  }

  // ----- what the person does -------------------------------------------------------------

  function send(box, threadTs) {
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    call("/api/command", { channel: page.where.id, text, thread_ts: threadTs });
  }

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send($("message-box"), null);
  });
  $("thread-composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send($("thread-box"), page.thread);
  });
  $("close-thread").addEventListener("click", () => { page.thread = null; draw(); });
  $("person").addEventListener("change", (event) => {
    page.me = event.target.value;
    localStorage.setItem("dynamote-playground-person", page.me);
    page.drawn = {};
    if (page.where.kind === "home") call("/api/home", {});
    else refresh();
  });
  document.addEventListener("click", (event) => {
    const nav = event.target.closest("[data-nav]");
    if (nav) {
      event.preventDefault();
      const target = nav.getAttribute("data-nav");
      page.where = target === "home" ? { kind: "home" } : { kind: "channel", id: target };
      page.thread = null;
      page.drawn = {};
      if (target === "home") call("/api/home", {});
      else refresh();
      return;
    }
    const thread = event.target.closest("[data-thread]");
    if (thread) {
      event.preventDefault();
      page.thread = thread.getAttribute("data-thread");
      page.drawn.thread = null;
      draw();
      return;
    }
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      event.preventDefault();
      call("/api/dismiss", { id: dismiss.getAttribute("data-dismiss") });
    }
    if (!event.target.closest(".overflow")) {
      for (const menu of document.querySelectorAll(".overflow-menu")) menu.hidden = true;
    }
  });

  refresh();
  setInterval(refresh, POLL_MS);
})();
