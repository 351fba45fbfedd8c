// Handover sandbox: renders the Block Kit the bot sent and sends every click back the way Slack
// does (the sandbox server signs it and posts it to the bot's /slack/events). Plain JavaScript,
// no libraries, nothing fetched from elsewhere.
"use strict";

const S = { user: null, channel: null, tab: "messages", thread: null, state: null, seen: {}, modalKey: null, scrolled: false };

// ----- small helpers ---------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function toast(text, kind) {
  const t = el("div", { class: "toast " + (kind || "") }, text);
  const box = document.getElementById("toasts");
  box.append(t);
  while (box.childElementCount > 2) box.firstElementChild.remove();
  setTimeout(() => t.remove(), kind === "error" ? 9000 : 5000);
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify(body || {}) });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (!response.ok) toast(data.error || ("HTTP " + response.status), "error");
  else if (data.error) toast(data.error, "error");
  soon();
  return data;
}

function soon() { refresh(); setTimeout(refresh, 400); setTimeout(refresh, 1200); setTimeout(refresh, 2500); }

// ----- mrkdwn ----------------------------------------------------------------------------------
const EMOJI = {
  white_check_mark: "✅", warning: "⚠️", telephone_receiver: "📞", speech_balloon: "💬", question: "❓",
  checkered_flag: "🏁", mag: "🔍", bulb: "💡", wastebasket: "🗑️", rotating_light: "🚨", outbox_tray: "📤",
  memo: "📝", hourglass_flowing_sand: "⏳", bell: "🔔", arrow_right: "➡️", recycle: "♻️", bar_chart: "📊",
  lock: "🔒", hourglass: "⌛", arrows_counterclockwise: "🔄", zzz: "💤", white_medium_square: "⬜",
  sparkles: "✨", pray: "🙏", no_bell: "🔕", inbox_tray: "📥", calendar: "📆", busts_in_silhouette: "👥",
  ballot_box_with_check: "☑️", arrow_up_small: "🔼", arrow_down_small: "🔽", tada: "🎉", x: "❌",
  heavy_check_mark: "✔️", star: "⭐", eyes: "👀", clipboard: "📋", link: "🔗", point_right: "👉",
  thumbsup: "👍", "+1": "👍", information_source: "ℹ️", trophy: "🏆", handshake: "🤝", email: "📧",
  date: "📅", alarm_clock: "⏰", pushpin: "📌", chart_with_upwards_trend: "📈", envelope: "✉️",
  bust_in_silhouette: "👤", office: "🏢", repeat: "🔁", red_circle: "🔴", large_green_circle: "🟢",
};

function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function name(uid) { return (S.state && S.state.names[uid]) || uid; }

// one line of inline mrkdwn -> nodes (text nodes only: nothing the bot sends becomes HTML)
function inline(text) {
  const out = [];
  const re = /<([^<>]+)>|`([^`]+)`|(?<![\p{L}\p{N}*])\*(?!\s)([^*\n]+?)\*(?![\p{L}\p{N}])|(?<![\p{L}\p{N}_])_(?!\s)([^_\n]+?)_(?![\p{L}\p{N}])|(?<![\p{L}\p{N}~])~(?!\s)([^~\n]+?)~(?![\p{L}\p{N}])|:([a-z0-9_+\-]+):/gu;
  let last = 0, m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.push(document.createTextNode(unescapeSlack(text.slice(last, m.index))));
    last = re.lastIndex;
    if (m[1] !== undefined) out.push(entity(m[1]));
    else if (m[2] !== undefined) out.push(el("code", {}, unescapeSlack(m[2])));
    else if (m[3] !== undefined) out.push(el("b", {}, inline(m[3])));
    else if (m[4] !== undefined) out.push(el("i", {}, inline(m[4])));
    else if (m[5] !== undefined) out.push(el("s", {}, inline(m[5])));
    else if (m[6] !== undefined) out.push(document.createTextNode(EMOJI[m[6]] || m[0]));
  }
  if (last < text.length) out.push(document.createTextNode(unescapeSlack(text.slice(last))));
  return out;
}

function entity(body) {
  const [target, label] = body.split("|", 2).concat([undefined]).slice(0, 2);
  if (target.startsWith("@")) return el("span", { class: "mention" }, "@" + name(target.slice(1)));
  if (target.startsWith("#")) return el("span", { class: "mention" }, "#" + (label || target.slice(1)));
  if (target.startsWith("!date^")) {
    const parts = target.split("^");
    const when = new Date(Number(parts[1]) * 1000);
    return el("span", { class: "date", title: when.toISOString() }, slackDate(when, parts[2] || "", label));
  }
  if (target.startsWith("!")) return el("span", { class: "mention" }, "@" + (label || target.slice(1)));
  if (/^(https?|mailto):/i.test(target)) {
    return el("a", { href: target, target: "_blank", rel: "noopener noreferrer" },
              label ? inline(label) : unescapeSlack(target.replace(/^mailto:/i, "")));
  }
  return document.createTextNode("<" + unescapeSlack(body) + ">");
}

// <!date^…^{date_short_pretty} {time}|fallback>: Slack shows it in the reader's own time zone
function slackDate(when, format, fallback) {
  const me = S.state && S.state.people.find((p) => p.id === S.user);
  const tz = me ? me.tz : undefined;
  const f = (opts) => { try { return new Intl.DateTimeFormat("en-GB", { timeZone: tz, ...opts }).format(when); }
                        catch (e) { return ""; } };
  const parts = {
    date_num: f({ year: "numeric", month: "2-digit", day: "2-digit" }).split("/").reverse().join("-"),
    date: f({ month: "long", day: "numeric", year: "numeric" }),
    date_short: f({ month: "short", day: "numeric", year: "numeric" }),
    date_long: f({ weekday: "long", month: "long", day: "numeric", year: "numeric" }),
    date_pretty: f({ month: "long", day: "numeric", year: "numeric" }),
    date_short_pretty: f({ month: "short", day: "numeric" }),
    date_long_pretty: f({ weekday: "long", month: "long", day: "numeric" }),
    time: f({ hour: "2-digit", minute: "2-digit", hour12: false }),
    time_secs: f({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }),
  };
  const text = format.replace(/\{(\w+)\}/g, (m, k) => (k in parts ? parts[k] : m));
  return text && !/\{/.test(text) ? text : unescapeSlack(fallback || when.toUTCString());
}

function mrkdwn(text) {
  const frag = el("div", { class: "mrkdwn" });
  const chunks = String(text || "").split(/```/);
  chunks.forEach((chunk, i) => {
    if (i % 2 === 1) { frag.append(el("pre", {}, unescapeSlack(chunk))); return; }
    let quote = null;
    chunk.split("\n").forEach((line, j, lines) => {
      if (line.startsWith(">")) {
        if (!quote) { quote = el("blockquote"); frag.append(quote); }
        quote.append(...inline(line.replace(/^>\s?/, "")), el("br"));
        return;
      }
      quote = null;
      frag.append(...inline(line));
      if (j < lines.length - 1) frag.append(el("br"));
    });
  });
  return frag;
}

function textObj(obj) {
  if (!obj) return document.createTextNode("");
  if (obj.type === "mrkdwn") return mrkdwn(obj.text);
  return el("span", { class: "plain" }, String(obj.text || "").replace(/:([a-z0-9_+\-]+):/g, (m, c) => EMOJI[c] || m));
}

// ----- Block Kit -------------------------------------------------------------------------------
// where: {kind: "message"|"view"|"home", channel, ts, view_id, form: <form element or null>}
function renderBlocks(blocks, where, errors) {
  const box = el("div", { class: "blocks" });
  (blocks || []).forEach((block, index) => {
    const node = renderBlock(block, index, where, errors || {});
    if (node) box.append(node);
  });
  return box;
}

function renderBlock(block, index, where, errors) {
  switch (block.type) {
    case "header": return el("h3", { class: "bk-header" }, textObj(block.text));
    case "divider": return el("hr", { class: "bk-divider" });
    case "image": return el("figure", { class: "bk-image" },
      block.title ? el("figcaption", {}, textObj(block.title)) : null,
      el("img", { src: block.image_url || "", alt: block.alt_text || "" }));
    case "context": return el("div", { class: "bk-context" }, (block.elements || []).map((e) =>
      e.type === "image" ? el("img", { src: e.image_url, alt: e.alt_text || "", class: "ctx-img" }) : textObj(e)));
    case "section": {
      const body = el("div", { class: "bk-section-body" });
      if (block.text) body.append(textObj(block.text));
      if (block.fields) body.append(el("div", { class: "bk-fields" }, block.fields.map((f) => el("div", {}, textObj(f)))));
      const node = el("div", { class: "bk-section", dataset: { block: block.block_id || "" } }, body);
      if (block.accessory) node.append(el("div", { class: "bk-accessory" }, renderElement(block.accessory, block, index, where, false)));
      return node;
    }
    case "actions": return el("div", { class: "bk-actions", dataset: { block: block.block_id || "" } },
      (block.elements || []).map((e) => renderElement(e, block, index, where, false)));
    case "input": {
      const err = errors[block.block_id];
      const node = el("div", { class: "bk-input" + (err ? " has-error" : ""), dataset: { block: block.block_id || "" } },
        el("label", { class: "bk-label" }, textObj(block.label), block.optional ? el("span", { class: "muted" }, " (optional)") : null),
        renderElement(block.element, block, index, where, !block.dispatch_action),
        block.hint ? el("div", { class: "bk-hint" }, textObj(block.hint)) : null,
        err ? el("div", { class: "bk-error", role: "alert" }, "⚠ " + err) : null);
      return node;
    }
    case "rich_text": return el("div", { class: "bk-rich" }, richText(block.elements || []));
    default: return el("div", { class: "bk-unknown muted" }, "[" + block.type + "]");
  }
}

function richText(elements) {
  return elements.map((e) => {
    if (e.elements) return el(e.type === "rich_text_quote" ? "blockquote" : "div", {}, richText(e.elements));
    if (e.type === "user") return el("span", { class: "mention" }, "@" + name(e.user_id));
    if (e.type === "link") return el("a", { href: e.url, target: "_blank", rel: "noopener noreferrer" }, e.text || e.url);
    if (e.type === "emoji") return EMOJI[e.name] || ":" + e.name + ":";
    return e.text || "";
  });
}

function people() { return (S.state && S.state.people) || []; }

// passive: the element is part of a form (an input block without dispatch_action): no action is sent
function renderElement(e, block, index, where, passive) {
  const send = (chosen) => { if (!passive) act(where, index, e.action_id, chosen); };
  const base = { "data-action": e.action_id || "", "data-kind": e.type };
  switch (e.type) {
    case "button": {
      const b = el("button", { ...base, type: "button", class: "btn " + (e.style || ""), "data-value": e.value || "" }, textObj(e.text));
      b.addEventListener("click", () => {
        if (e.url) window.open(e.url, "_blank", "noopener");
        if (e.confirm) confirmThen(e.confirm, () => send(e.value)); else send(e.value);
      });
      return b;
    }
    case "checkboxes": case "radio_buttons": {
      const chosen = new Set((e.initial_options || (e.initial_option ? [e.initial_option] : [])).map((o) => o.value));
      const group = "g" + Math.random().toString(36).slice(2);
      const box = el("div", { ...base, class: "bk-choices" });
      (e.options || []).forEach((o) => {
        const input = el("input", { type: e.type === "checkboxes" ? "checkbox" : "radio", name: group, value: o.value,
                                    checked: chosen.has(o.value) });
        input.addEventListener("change", () => {
          const values = [...box.querySelectorAll("input:checked")].map((i) => i.value);
          send(e.type === "checkboxes" ? values : values[0]);
        });
        box.append(el("label", { class: "choice" }, input, " ", textObj(o.text),
                      o.description ? el("div", { class: "muted small" }, textObj(o.description)) : null));
      });
      return box;
    }
    case "static_select": case "multi_static_select": case "external_select": {
      const multi = e.type.startsWith("multi");
      const select = el("select", { ...base, multiple: multi });
      if (!multi) select.append(el("option", { value: "" }, e.placeholder ? e.placeholder.text : "Select…"));
      const initial = new Set((e.initial_options || (e.initial_option ? [e.initial_option] : [])).map((o) => o.value));
      const add = (parent, o) => parent.append(el("option", { value: o.value, selected: initial.has(o.value) }, o.text.text));
      (e.options || []).forEach((o) => add(select, o));
      (e.option_groups || []).forEach((g) => { const og = el("optgroup", { label: g.label.text }); g.options.forEach((o) => add(og, o)); select.append(og); });
      select.addEventListener("change", () => send(multi ? [...select.selectedOptions].map((o) => o.value) : select.value));
      return select;
    }
    case "users_select": case "multi_users_select": {
      const multi = e.type.startsWith("multi");
      const select = el("select", { ...base, multiple: multi });
      if (!multi) select.append(el("option", { value: "" }, e.placeholder ? e.placeholder.text : "Select a person…"));
      const initial = new Set(e.initial_users || (e.initial_user ? [e.initial_user] : []));
      people().forEach((p) => select.append(el("option", { value: p.id, selected: initial.has(p.id) }, p.name)));
      select.addEventListener("change", () => send(multi ? [...select.selectedOptions].map((o) => o.value) : select.value));
      return select;
    }
    case "conversations_select": case "channels_select": {
      const select = el("select", base, el("option", { value: "" }, "Select a channel…"));
      ((S.state && S.state.channels) || []).forEach((c) => select.append(el("option", { value: c.id }, "#" + c.name)));
      select.addEventListener("change", () => send(select.value));
      return select;
    }
    case "overflow": {
      const wrap = el("span", { class: "overflow" });
      const menu = el("div", { class: "menu", hidden: true }, (e.options || []).map((o) =>
        el("button", { type: "button", class: "menu-item", onclick: () => { menu.hidden = true; send(o.value); } }, o.text.text)));
      wrap.append(el("button", { ...base, type: "button", class: "btn", onclick: () => { menu.hidden = !menu.hidden; } }, "⋯"), menu);
      return wrap;
    }
    case "datepicker": {
      const input = el("input", { ...base, type: "date", value: e.initial_date || "" });
      input.addEventListener("change", () => send(input.value));
      return input;
    }
    case "timepicker": {
      const input = el("input", { ...base, type: "time", value: e.initial_time || "" });
      input.addEventListener("change", () => send(input.value));
      return input;
    }
    case "plain_text_input": case "email_text_input": case "url_text_input": case "number_input": {
      const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[e.type] || "text";
      const attrs = { ...base, placeholder: e.placeholder ? e.placeholder.text : null, maxlength: e.max_length || null };
      const input = e.multiline ? el("textarea", { ...attrs, rows: 4 }) : el("input", { ...attrs, type });
      input.value = e.initial_value || "";
      if (!passive) input.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && !e.multiline) { ev.preventDefault(); send(input.value); } });
      return input;
    }
    default: return el("span", { class: "muted" }, "[" + e.type + "]");
  }
}

function confirmThen(c, go) {
  const layer = document.getElementById("dialog-layer");
  layer.replaceChildren(el("div", { class: "dialog" },
    el("h3", {}, textObj(c.title)), textObj(c.text),
    el("div", { class: "dialog-buttons" },
      el("button", { type: "button", class: "btn", onclick: () => { layer.hidden = true; } }, c.deny ? c.deny.text : "Cancel"),
      el("button", { type: "button", class: "btn " + (c.style || "primary"), onclick: () => { layer.hidden = true; go(); } },
         c.confirm ? c.confirm.text : "Yes"))));
  layer.hidden = false;
}

// ----- sending what the person did -------------------------------------------------------------
function act(where, index, actionId, chosen) {
  const body = { user: S.user, where: where.kind, index, action_id: actionId, chosen,
                 channel: where.channel, ts: where.ts, view_id: where.view_id };
  if (where.kind === "view") body.values = formValues(where.view);
  post("/api/act", body);
}

// the modal's state, block_id -> value, as the person filled it in
function formValues(view) {
  const values = {};
  const layer = document.getElementById("modal-layer");
  (view.blocks || []).forEach((block, index) => {
    if (block.type !== "input" || !block.block_id) return;
    const node = layer.querySelector(`.bk-input[data-index="${index}"]`);
    if (!node) return;
    const kind = block.element.type;
    if (kind === "checkboxes") values[block.block_id] = [...node.querySelectorAll("input:checked")].map((i) => i.value);
    else if (kind === "radio_buttons") { const c = node.querySelector("input:checked"); values[block.block_id] = c ? c.value : null; }
    else if (kind.startsWith("multi_")) values[block.block_id] = [...node.querySelector("select").selectedOptions].map((o) => o.value);
    else {
      const input = node.querySelector("input, textarea, select");
      values[block.block_id] = input && input.value !== "" ? input.value : null;
    }
  });
  return values;
}

// ----- the page --------------------------------------------------------------------------------
function key(x) { return JSON.stringify(x); }

function changed(part, value) {
  const k = key(value);
  if (S.seen[part] === k) return false;
  S.seen[part] = k;
  return true;
}

async function refresh() {
  if (!S.user) return;
  let state;
  try {
    const q = new URLSearchParams({ user: S.user });
    if (S.channel) q.set("channel", S.channel);
    const r = await fetch("/api/state?" + q.toString());
    if (!r.ok) return;
    state = await r.json();
  } catch (e) { return; }
  if (state.me !== S.user) return;  // an answer for the person acted as before a switch
  S.state = state;
  render();
}

function render() {
  const st = S.state;
  if (changed("clock", st.clock)) renderClock(st.clock);
  if (changed("people", [st.people, S.user])) renderPeople();
  if (changed("channels", [st.channels, S.channel])) renderChannels();
  if (changed("conv", [st.conversation, S.user, S.tab, st.names])) renderTimeline();
  if (changed("thread", [S.thread, st.conversation.threads[S.thread || ""], S.user])) renderThread();
  if (changed("home", [st.home, S.tab, S.user])) renderHome();
  if (changed("modal", [st.modal && st.modal.id, st.modal && st.modal.hash, st.modal && st.modal.errors, S.user])) renderModal();
  if (changed("calls", [st.calls.length, st.total_calls, st.outbox, st.trouble])) renderCalls();
  const me = st.people.find((p) => p.id === S.user);
  document.getElementById("me-line").textContent = me ? `· you are ${me.name} (${me.role}), ${me.local} in ${me.tz}` : "";
  document.getElementById("trouble").value = st.trouble.kind || "";
}

function renderClock(clock) {
  const now = document.getElementById("clock-now");
  now.textContent = clock.local;
  now.title = `The bot's clock, in the company time zone (${clock.timezone}). It runs on by itself; the buttons jump it.`;
  const moves = document.getElementById("clock-moves");
  if (moves.childElementCount) return;
  for (const [move, label] of Object.entries(clock.moves)) {
    moves.append(el("button", { type: "button", class: "clock-move", "data-move": move,
                                onclick: () => post("/api/clock", { move }).then((d) => d.text && toast(d.text)) }, label));
  }
  moves.title = `The scheduler ticks at once after each move. Weekly digest: ${clock.digest}, each person's local time.`;
}

function personEntry(p) {
  return el("li", { class: "person" + (p.id === S.user ? " active" : ""), "data-user": p.id, "data-email": p.email,
                    title: `${p.email} · ${p.tz}`, onclick: () => switchTo(p.id) },
    el("span", { class: "avatar" }, p.name.split(" ").map((w) => w[0]).join("").slice(0, 2)),
    el("span", { class: "who" }, el("span", { class: "pname" }, p.name, p.messages ? el("span", { class: "badge" }, p.messages) : null),
       el("span", { class: "role" }, p.role + " · " + p.local)));
}

function renderPeople() {
  const cast = document.getElementById("people"), more = document.getElementById("people-more");
  cast.replaceChildren(...S.state.people.filter((p) => p.cast).map(personEntry));
  more.replaceChildren(...S.state.people.filter((p) => !p.cast).map(personEntry));
}

function renderChannels() {
  const list = document.getElementById("channels");
  list.replaceChildren(...(S.state.channels.length ? S.state.channels.map((c) =>
    el("li", { class: "channel" + (S.channel === c.id ? " active" : ""), "data-channel": c.id,
               onclick: () => { S.channel = c.id; S.tab = "messages"; S.thread = null; S.seen = {}; tabs(); refresh(); } }, "# " + c.name))
    : [el("li", { class: "muted small" }, "none yet (the lead review and the weekly chart post here)")]));
  document.getElementById("app-entry").classList.toggle("active", !S.channel);
}

function messageNode(m, inThread) {
  const where = { kind: "message", channel: m.channel, ts: m.ts };
  const head = el("div", { class: "msg-head" },
    el("strong", {}, m.author), m.bot ? el("span", { class: "app-tag" }, "APP") : null,
    el("span", { class: "muted small" }, m.when || ""), m.edited ? el("span", { class: "muted small" }, "(edited)") : null);
  const body = m.blocks && m.blocks.length ? renderBlocks(m.blocks, where) : mrkdwn(m.text);
  const node = el("div", { class: "msg" + (m.ephemeral ? " ephemeral" : ""), "data-ts": m.ts, id: "m" + m.ts.replace(".", "_") },
    el("span", { class: "avatar" + (m.bot ? " bot" : "") }, m.bot ? "H" : (m.author || "?").split(" ").map((w) => w[0]).join("").slice(0, 2)),
    el("div", { class: "msg-main" }, head, body,
       m.file ? el("figure", { class: "bk-image" }, el("figcaption", {}, m.file.title), el("img", { src: m.file.url, alt: m.file.title })) : null,
       m.ephemeral ? el("div", { class: "muted small eph" }, "👁 Only visible to you") : null,
       !inThread && m.replies ? el("button", { type: "button", class: "link replies", onclick: () => openThread(m.ts) },
                                   `${m.replies} ${m.replies === 1 ? "reply" : "replies"}`) : null));
  if (!inThread && !m.ephemeral && !m.file) {
    const tools = el("div", { class: "msg-tools" },
      el("button", { type: "button", class: "link reply-in-thread", title: "Reply in thread", onclick: () => openThread(m.ts) }, "💬 Reply"),
      ...S.state.shortcuts.filter((s) => s.type === "message").map((s) =>
        el("button", { type: "button", class: "link", title: s.name,
                       onclick: () => post("/api/shortcut", { user: S.user, callback_id: s.callback_id, channel: m.channel, ts: m.ts }) }, "⚡ " + s.name)));
    node.append(tools);
  }
  return node;
}

function renderTimeline() {
  const box = document.getElementById("timeline");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const conv = S.state.conversation;
  const items = conv.timeline.map((m) => messageNode(m, false));
  box.replaceChildren(...(items.length ? items : [el("div", { class: "empty muted" },
    S.channel ? "Nothing here yet." : "No messages from Handover yet. Load the sample event (top right), then switch between people on the left.")]));
  if (atBottom || !S.scrolled) { box.scrollTop = box.scrollHeight; S.scrolled = true; }
  document.getElementById("conv-title").textContent = S.channel ? "#" + (S.state.channels.find((c) => c.id === S.channel) || { name: S.channel }).name : "Handover";
}

function openThread(ts) { S.thread = ts; document.getElementById("thread").hidden = false; S.seen.thread = null; render(); }

function renderThread() {
  const pane = document.getElementById("thread");
  if (!S.thread) { pane.hidden = true; return; }
  const conv = S.state.conversation;
  const parent = conv.timeline.find((m) => m.ts === S.thread);
  if (!parent) { pane.hidden = true; S.thread = null; return; }
  pane.hidden = false;
  const replies = conv.threads[S.thread] || [];
  document.getElementById("thread-body").replaceChildren(messageNode(parent, true),
    el("div", { class: "thread-count muted small" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`),
    ...replies.map((m) => messageNode(m, true)));
  const body = document.getElementById("thread-body");
  body.scrollTop = body.scrollHeight;  // the latest reply in view, as Slack opens a thread
}

function renderHome() {
  const box = document.getElementById("home");
  const home = S.state.home;
  box.replaceChildren(home ? renderBlocks(home.blocks, { kind: "home" })
                           : el("div", { class: "empty muted" }, "Opening the Home tab sends Handover app_home_opened; the tab appears once it publishes the view."));
}

function renderModal() {
  const layer = document.getElementById("modal-layer");
  const modal = S.state.modal;
  if (!modal) { layer.hidden = true; layer.replaceChildren(); return; }
  const v = modal.view;
  const where = { kind: "view", view_id: modal.id, view: v };
  const sameView = S.modalKey === modal.id + ":" + modal.hash;
  const keep = sameView ? formValues(v) : null;  // errors came back for the same view: keep what was typed
  S.modalKey = modal.id + ":" + modal.hash;
  const blocks = renderBlocks(v.blocks, where, modal.errors);
  const form = el("form", { class: "modal", role: "dialog", "aria-label": v.title ? v.title.text : "Modal",
                            onsubmit: (ev) => { ev.preventDefault(); submitModal(modal); } },
    el("div", { class: "modal-head" }, el("strong", {}, v.title ? v.title.text : ""),
       el("button", { type: "button", class: "link close-x", "aria-label": "Close", onclick: () => closeModal(modal) }, "✕")),
    el("div", { class: "modal-body" }, blocks),
    el("div", { class: "modal-foot" },
       el("button", { type: "button", class: "btn", onclick: () => closeModal(modal) }, v.close ? v.close.text : "Cancel"),
       v.submit ? el("button", { type: "submit", class: "btn primary modal-submit" }, v.submit.text) : null));
  layer.replaceChildren(form);
  // block index -> the node, so formValues can find input blocks by their position
  const nodes = blocks.children;
  (v.blocks || []).forEach((b, i) => { if (nodes[i]) nodes[i].dataset.index = String(i); });
  if (keep) restore(v, keep);
  layer.hidden = false;
}

function restore(view, values) {
  const layer = document.getElementById("modal-layer");
  (view.blocks || []).forEach((block, index) => {
    if (block.type !== "input" || !(block.block_id in values)) return;
    const node = layer.querySelector(`.bk-input[data-index="${index}"]`);
    const value = values[block.block_id];
    if (!node || value === null) return;
    if (Array.isArray(value)) node.querySelectorAll("input, option").forEach((i) => {
      if (i.tagName === "OPTION") i.selected = value.includes(i.value); else i.checked = value.includes(i.value); });
    else { const i = node.querySelector("input:not([type=radio]):not([type=checkbox]), textarea, select"); if (i) i.value = value;
           node.querySelectorAll("input[type=radio]").forEach((r) => { r.checked = r.value === value; }); }
  });
}

async function submitModal(modal) {
  const data = await post("/api/submit", { user: S.user, view_id: modal.id, values: formValues(modal.view) });
  if (data.errors) { S.seen.modal = null; }
}

function closeModal(modal) { post("/api/close", { user: S.user, view_id: modal.id }); }

function renderCalls() {
  const st = S.state;
  document.getElementById("calls-count").textContent = `${st.total_calls} in all`;
  const ob = st.outbox;
  const trouble = st.trouble.kind ? ` · Slack answers ${st.trouble.kind} for ${st.trouble.left} s more` : "";
  document.getElementById("outbox-line").textContent =
    `Outbox: ${ob.pending_total || 0} waiting, ${ob.sent || 0} sent, ${ob.dead || 0} dead${trouble}`;
  document.getElementById("outbox-line").classList.toggle("alarm", !!st.trouble.kind);
  const list = document.getElementById("calls-list");
  list.replaceChildren(...st.calls.slice().reverse().map((c) => el("li", { class: "call " + (c.ok ? "ok" : "fail") },
    el("span", { class: "t" }, new Date(c.at * 1000).toLocaleTimeString("en-GB", { hour12: false })),
    el("span", { class: "m" }, c.method),
    el("span", { class: "r" }, c.ok ? "ok" : `${c.status} ${c.error || ""}`))));
}

function tabs() {
  const home = S.tab === "home" && !S.channel;
  document.getElementById("tab-home").classList.toggle("active", home);
  document.getElementById("tab-messages").classList.toggle("active", !home);
  document.getElementById("timeline").hidden = home;
  document.getElementById("composer").hidden = home || !!S.channel;
  document.getElementById("home").hidden = !home;
}

function switchTo(uid) {
  S.user = uid; S.thread = null; S.channel = null; S.tab = "messages"; S.seen = {}; S.scrolled = false; S.modalKey = null;
  document.getElementById("thread").hidden = true;
  // nothing of the person acted as before stays clickable while the new one's state loads
  document.getElementById("timeline").replaceChildren(el("div", { class: "empty muted" }, "Loading…"));
  document.getElementById("home").replaceChildren();
  document.getElementById("modal-layer").hidden = true;
  localStorage.setItem("handover-sandbox-user", uid);
  tabs();
  refresh();
}

// ----- wiring ----------------------------------------------------------------------------------
function wire() {
  document.getElementById("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("say");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    post("/api/say", { user: S.user, text });
  });
  document.getElementById("thread-composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("reply");
    const text = input.value.trim();
    if (!text || !S.thread) return;
    input.value = "";
    post("/api/say", { user: S.user, text, thread_ts: S.thread });
  });
  document.getElementById("thread-close").addEventListener("click", () => { S.thread = null; renderThread(); });
  document.getElementById("tab-home").addEventListener("click", () => {
    S.channel = null; S.tab = "home"; tabs(); S.seen.home = null;
    post("/api/home", { user: S.user });
  });
  document.getElementById("tab-messages").addEventListener("click", () => { S.tab = "messages"; tabs(); S.seen.conv = null; render(); });
  document.getElementById("app-entry").addEventListener("click", () => {
    S.channel = null; S.tab = "messages"; S.seen = {}; tabs(); refresh();
  });
  document.getElementById("load-sample").addEventListener("click", () =>
    post("/api/sample").then((d) => d.text && toast(d.text)));
  document.getElementById("reset").addEventListener("click", () =>
    confirmThen({ title: { type: "plain_text", text: "Reset the sandbox?" },
                  text: { type: "plain_text", text: "The database and the workspace are emptied and the clock goes back to the start." },
                  confirm: { text: "Reset" }, style: "danger" },
                () => post("/api/reset").then(() => { S.seen = {}; toast("Reset."); })));
  document.getElementById("trouble").addEventListener("change", (ev) =>
    post("/api/trouble", { kind: ev.target.value, seconds: 20 }));
  document.getElementById("post-item").addEventListener("click", postItemDialog);
  const menu = document.getElementById("shortcuts-menu");
  document.getElementById("shortcuts-button").addEventListener("click", () => {
    menu.replaceChildren(...S.state.shortcuts.filter((s) => s.type === "global").map((s) =>
      el("button", { type: "button", class: "menu-item", onclick: () => { menu.hidden = true;
        post("/api/shortcut", { user: S.user, callback_id: s.callback_id }); } }, "⚡ " + s.name)));
    menu.hidden = !menu.hidden;
  });
}

function postItemDialog() {
  const layer = document.getElementById("dialog-layer");
  const area = el("textarea", { rows: 16, class: "json", "aria-label": "Item JSON" });
  area.value = JSON.stringify(S.state.sample_item, null, 2);
  const result = el("pre", { class: "result" });
  layer.replaceChildren(el("div", { class: "dialog wide" },
    el("h3", {}, "POST /api/items"),
    el("p", { class: "muted small" }, "Sent with the API's bearer token, as a system hands an item over. Change anything; an invalid field gets a 422 with the reason."),
    area, result,
    el("div", { class: "dialog-buttons" },
      el("button", { type: "button", class: "btn", onclick: () => { layer.hidden = true; } }, "Close"),
      el("button", { type: "button", class: "btn primary", onclick: async () => {
        let item;
        try { item = JSON.parse(area.value); } catch (e) { result.textContent = "Not JSON: " + e.message; return; }
        const d = await post("/api/item", item);
        result.textContent = `HTTP ${d.status}\n` + JSON.stringify(d.body, null, 2);
      } }, "Send"))));
  layer.hidden = false;
}

function start() {
  wire();
  fetch("/api/state?user=U100").then((r) => r.json()).then((st) => {
    const saved = localStorage.getItem("handover-sandbox-user");
    const first = st.people.find((p) => p.id === saved) || st.people.find((p) => p.cast) || st.people[0];
    switchTo(first.id);
  });
  setInterval(refresh, 1000);
}

start();
