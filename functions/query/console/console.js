/* The Eye console: plain JavaScript, no dependencies, no build step.
 *
 * Talks to the query API on the same origin with relative URLs ("events", "status", ...), so it
 * works wherever the API is mounted. The query key is kept only in this tab's sessionStorage.
 * Views are addressed by the URL fragment (#timeline?session=..., #event/<id>, ...), so every
 * event, session and error has a link and the browser's back button works.
 */
(function () {
  "use strict";

  const KEY_STORAGE = "theeye.console.queryKey";
  const VIEWS = ["timeline", "sessions", "explorer", "volume", "errors", "schemas", "health", "event", "error"];
  const NAV_OF = { event: "explorer", error: "errors" };
  const TITLES = {
    key: "Open", timeline: "Session timeline", sessions: "Sessions", explorer: "Explorer", volume: "Volume",
    errors: "Errors", schemas: "Schemas", health: "Health", event: "Event", error: "Error",
  };
  const STEP_MS = { minute: 60e3, hour: 3600e3, day: 86400e3 };
  const DAY_MS = 86400e3;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE_SIZE = 8;
  const HEALTH_REFRESH_MS = 10e3;
  const TIMELINE_PAGE = 500;
  const TIMELINE_AUTOLOAD = 2000;

  let generation = 0; // bumped on every route; answers for an older route are dropped
  let healthTimer = 0;
  let redrawChart = null;
  let focusHeading = false;
  const known = { categories: new Set(), names: new Set() };

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ the key
  function getKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE);
    } catch (e) {
      return null;
    }
  }

  function setKey(key) {
    try {
      window.sessionStorage.setItem(KEY_STORAGE, key);
      return true;
    } catch (e) {
      return false;
    }
  }

  function forgetKey() {
    try {
      window.sessionStorage.removeItem(KEY_STORAGE);
    } catch (e) {
      /* storage unavailable: nothing was kept */
    }
  }

  // ------------------------------------------------------------------ DOM helpers
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const name in attrs || {}) {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? "" : String(value));
    }
  }

  function append(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : String(child));
    }
  }

  function hint(text) {
    return h("p", { class: "hint" }, text);
  }

  function alertBox(text) {
    return h("p", { class: "alert", role: "alert" }, text);
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  function jsonBlock(value) {
    return h("pre", { class: "json" }, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  }

  function payload(value, label, open) {
    return h("details", { class: "payload", open: !!open }, h("summary", {}, label || "Payload"), jsonBlock(value));
  }

  function link(text, hash, attrs) {
    return h("a", Object.assign({ href: hash }, attrs || {}), text);
  }

  function idText(id) {
    return h("span", { class: "id" }, id);
  }

  // ------------------------------------------------------------------ times
  const pad = (n, w) => String(n).padStart(w || 2, "0");

  function localText(date) {
    return (
      `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
    );
  }

  function timeEl(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return h("time", {}, iso);
    return h("time", { datetime: iso, title: iso }, localText(date));
  }

  /** Microseconds since the epoch: the API gives six decimals, Date keeps three. */
  function micros(iso) {
    const ms = Date.parse(iso);
    const frac = /\.(\d+)/.exec(iso);
    const extra = frac ? Number((frac[1] + "000000").slice(3, 6)) : 0;
    return ms * 1000 + extra;
  }

  function duration(us) {
    const ms = us / 1000;
    if (ms < 1) return `${Math.round(us)} µs`;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const sec = ms / 1000;
    if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
    const min = Math.floor(sec / 60);
    if (min < 60) return `${min} min ${Math.round(sec % 60)} s`;
    const hours = Math.floor(min / 60);
    if (hours < 48) return `${hours} h ${min % 60} min`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  function toLocalInput(iso) {
    const d = new Date(iso);
    if (!iso || Number.isNaN(d.getTime())) return "";
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
      `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }

  function fromLocalInput(value) {
    if (!value) return "";
    const d = new Date(value); // a date-time without zone is local time
    return Number.isNaN(d.getTime()) ? "" : d.toISOString();
  }

  function zoneName() {
    const minutes = -new Date().getTimezoneOffset();
    const sign = minutes < 0 ? "−" : "+";
    const offset = `UTC${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      zone = "";
    }
    return zone ? `${zone}, ${offset}` : offset;
  }

  // ------------------------------------------------------------------ the API
  class ApiError extends Error {
    constructor(status, body) {
      const error = body && body.error;
      super(
        status === 0
          ? "The API could not be reached."
          : error
            ? `${error.message} (${status} ${error.code})`
            : `The API answered ${status}.`,
      );
      this.status = status;
      this.details = (error && error.details) || [];
    }
  }

  function queryString(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") search.append(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  async function api(path, params) {
    const key = getKey();
    let response;
    try {
      response = await fetch(path + queryString(params), {
        headers: { Authorization: `Bearer ${key}`, Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
      });
    } catch (e) {
      throw new ApiError(0, null);
    }
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  /** Show an API failure in a view; a refused key sends the user back to the key prompt. */
  function failed(error, out, gen) {
    if (gen !== generation) return;
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      forgetKey();
      showKeyPrompt(
        error.status === 401
          ? "That key was not accepted. Enter a query key."
          : "That key does not have the query scope.",
      );
      return;
    }
    const message = error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`;
    const problems = (error.details || []).map((d) =>
      h("li", {}, d && typeof d === "object" ? `${d.field || d.index || ""}: ${d.message || JSON.stringify(d)}` : String(d)),
    );
    out.replaceChildren(alertBox(message), problems.length ? h("ul", {}, problems) : null);
    setStatus("");
  }

  // ------------------------------------------------------------------ routing
  function parseHash() {
    const raw = window.location.hash.replace(/^#/, "");
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    const slash = path.indexOf("/");
    const view = slash < 0 ? path : path.slice(0, slash);
    let id = null;
    if (slash >= 0) {
      try {
        id = decodeURIComponent(path.slice(slash + 1));
      } catch (e) {
        id = path.slice(slash + 1);
      }
    }
    return { view: VIEWS.includes(view) ? view : "timeline", id, params };
  }

  function hashFor(view, params, id) {
    let hash = `#${view}`;
    if (id !== undefined && id !== null) hash += `/${encodeURIComponent(id)}`;
    return hash + queryString(params);
  }

  function go(hash) {
    if (window.location.hash === hash) route();
    else window.location.hash = hash; // hashchange routes
  }

  function showView(name) {
    for (const section of document.querySelectorAll("main > .view")) {
      section.hidden = section.id !== `view-${name}`;
    }
    const navView = NAV_OF[name] || name;
    for (const a of document.querySelectorAll("#nav a")) {
      if (a.dataset.view === navView) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    document.title = `${TITLES[name] || "Console"} · The Eye`;
    if (focusHeading) {
      const heading = document.querySelector(`#view-${name} h2`);
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
      }
    }
  }

  function showKeyPrompt(message) {
    generation += 1;
    window.clearTimeout(healthTimer);
    $("nav").hidden = true;
    $("forget-key").hidden = true;
    const error = $("key-error");
    error.textContent = message || "";
    error.hidden = !message;
    setStatus("");
    showView("key");
    $("key-input").value = "";
    $("key-input").focus();
  }

  function route() {
    generation += 1;
    window.clearTimeout(healthTimer);
    redrawChart = null;
    if (!getKey()) {
      showKeyPrompt("");
      return;
    }
    $("nav").hidden = false;
    $("forget-key").hidden = false;
    const target = parseHash();
    showView(target.view);
    setStatus("");
    const render = RENDERERS[target.view];
    render(target, generation).catch((error) => failed(error, $(`${target.view}-result`), generation));
  }

  // ------------------------------------------------------------------ forms
  function formParams(form) {
    const params = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      const value = el.type === "datetime-local" ? fromLocalInput(el.value) : el.value.trim();
      if (value) params[el.name] = value;
    }
    return params;
  }

  function fillForm(form, params) {
    for (const el of form.elements) {
      if (!el.name) continue;
      const value = params.get(el.name);
      if (el.tagName === "SELECT") {
        if (value !== null) el.value = value;
        else el.selectedIndex = [...el.options].findIndex((o) => o.defaultSelected);
        if (el.selectedIndex < 0) el.selectedIndex = 0;
      } else if (el.type === "datetime-local") {
        el.value = value ? toLocalInput(value) : "";
      } else {
        el.value = value || "";
      }
    }
  }

  function remember(category, name) {
    let changed = false;
    if (category && !known.categories.has(category)) {
      known.categories.add(category);
      changed = true;
    }
    if (name && !known.names.has(name)) {
      known.names.add(name);
      changed = true;
    }
    if (!changed) return;
    const options = (set) => [...set].sort().map((v) => h("option", { value: v }));
    $("known-categories").replaceChildren(...options(known.categories));
    $("known-names").replaceChildren(...options(known.names));
  }

  function pager(view, params, nextCursor, shown) {
    const bar = h("div", { class: "pager", role: "navigation", "aria-label": "Pages" });
    const rest = Object.assign({}, params);
    delete rest.cursor;
    if (params.cursor) bar.append(link("← First page", hashFor(view, rest), { class: "button-link" }));
    if (nextCursor) {
      bar.append(link("Next page →", hashFor(view, Object.assign({}, rest, { cursor: nextCursor })), {
        class: "button-link",
        id: `${view}-next`,
        rel: "next",
      }));
    }
    bar.append(h("span", { class: "hint" }, shown));
    return bar;
  }

  function paramsObject(search) {
    const out = {};
    for (const [k, v] of search.entries()) if (v) out[k] = v;
    return out;
  }

  // ------------------------------------------------------------------ summaries of event data
  function brief(data) {
    if (!data || typeof data !== "object") return "";
    const parts = [];
    if (typeof data.host === "string" || typeof data.path === "string") {
      parts.push(`${data.host || ""}${data.path || ""}`);
    }
    if (typeof data.element === "string") parts.push(`element “${data.element}”`);
    if (data.form && typeof data.form === "object") {
      const fields = Object.keys(data.form);
      parts.push(fields.length ? `form: ${fields.join(", ")}` : "form: no values");
    }
    for (const [k, v] of Object.entries(data)) {
      if (parts.length >= 4) break;
      if (["host", "path", "element", "form"].includes(k)) continue;
      if (v === null || typeof v !== "object") parts.push(`${k}: ${String(v).slice(0, 60)}`);
    }
    return parts.join(" · ");
  }

  // ------------------------------------------------------------------ who sent an event (its context)
  const regionNames = (() => {
    try {
      return new Intl.DisplayNames([navigator.language || "en"], { type: "region" });
    } catch (e) {
      return null; // no Intl.DisplayNames: countries are shown by their code
    }
  })();

  function countryName(code) {
    try {
      return (regionNames && regionNames.of(code)) || code;
    } catch (e) {
      return code; // not a region code this browser knows
    }
  }

  function familyText(part) {
    if (!isObject(part) || typeof part.family !== "string" || !part.family) return null;
    return typeof part.version === "string" && part.version ? `${part.family} ${part.version}` : part.family;
  }

  const isBot = (event) => isObject(event.context) && event.context.bot === true;

  /** Browser, OS, device and country of an event, a badge when a bot sent it, and where the
   * visit came from: each only when the event's context says so; null when it says none. */
  function visitor(context) {
    if (!isObject(context)) return null;
    const chip = (kind, text, title) => h("span", { class: `chip ${kind}`, "data-kind": kind, title }, text);
    const browser = familyText(context.browser);
    const os = familyText(context.os);
    const referrer = isObject(context.referrer) ? context.referrer : {};
    const campaign = isObject(context.campaign) ? context.campaign : {};
    const chips = [
      context.bot === true
        ? h("span", { class: "badge bot", "data-kind": "bot", title: context.user_agent || "a known bot" }, "bot")
        : null,
      browser ? chip("browser", browser, `Browser: ${context.user_agent || browser}`) : null,
      os ? chip("os", os, "Operating system") : null,
      typeof context.device === "string" && context.device !== "bot" ? chip("device", context.device, "Device") : null,
      typeof context.country === "string"
        ? chip("country", countryName(context.country), `Country: ${context.country} (from the address)`)
        : null,
      referrer.host && referrer.medium !== "internal"
        ? chip("referrer", `from ${referrer.source || referrer.host}`, `Referrer: ${referrer.host} (${referrer.medium || "unknown"})`)
        : null,
      typeof campaign.name === "string" ? chip("campaign", `campaign ${campaign.name}`, "Campaign (utm_campaign)") : null,
    ].filter(Boolean);
    return chips.length ? h("span", { class: "visitor" }, chips) : null;
  }

  // ------------------------------------------------------------------ timeline
  function gapItem(us) {
    const ms = us / 1000;
    const level = ms < 1000 ? 0 : ms < 60e3 ? 1 : ms < 600e3 ? 2 : ms < 1800e3 ? 3 : 4;
    const text = `+${duration(us)}${level === 4 ? " · long pause" : ""}`;
    return h(
      "li",
      { class: `gap g${level}`, role: "separator", "aria-label": `${duration(us)} later` },
      h("span", { class: "gap-label", "aria-hidden": "true" }, text),
    );
  }

  function timelineItem(event, index) {
    remember(event.category, event.name);
    return h(
      "li",
      { class: `event${isBot(event) ? " by-bot" : ""}`, "data-event-id": event.event_id, "data-bot": String(isBot(event)) },
      h(
        "div",
        { class: "event-head" },
        h("span", { class: "index" }, `#${index + 1}`),
        h("span", { class: "what" }, `${event.category} · ${event.name}`),
        timeEl(event.timestamp),
        link("details", hashFor("event", null, event.event_id), { "aria-label": `Event ${event.event_id}` }),
      ),
      h("p", { class: "event-brief" }, brief(event.data)),
      visitor(event.context),
      payload(event.data),
    );
  }

  async function renderTimeline(target, gen) {
    const session = target.params.get("session") || "";
    fillForm($("timeline-form"), target.params);
    const out = $("timeline-result");
    if (!session) {
      out.replaceChildren(hint("Enter a session id to see its events in the order they occurred."));
      return;
    }
    out.replaceChildren(hint("Loading…"));
    const path = `sessions/${encodeURIComponent(session)}/events`;
    const events = [];
    let cursor = null;
    do {
      const page = await api(path, { limit: TIMELINE_PAGE, cursor });
      if (gen !== generation) return;
      events.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && events.length < TIMELINE_AUTOLOAD);

    if (!events.length) {
      out.replaceChildren(h("p", { class: "empty" }, `No stored events for session “${session}”.`),
        hint("Invalid events are not stored: look for them under Errors."));
      setStatus("No events.");
      return;
    }
    const list = h("ol", { class: "timeline", id: "timeline-events", "aria-label": `Events of session ${session}` });
    let previous = null;
    const add = (items) => {
      for (const event of items) {
        if (previous) list.append(gapItem(Math.max(0, micros(event.timestamp) - micros(previous.timestamp))));
        list.append(timelineItem(event, list.querySelectorAll(".event").length));
        previous = event;
      }
    };
    add(events);

    const summary = h("dl", { class: "summary", id: "timeline-summary" });
    const apps = new Set(events.map((e) => e.application_id));
    const fill = () => {
      const first = events[0];
      const last = events[events.length - 1];
      summary.replaceChildren(
        h("div", {}, h("dt", {}, "Events"), h("dd", { id: "timeline-count" }, String(events.length))),
        h("div", {}, h("dt", {}, "From"), h("dd", {}, timeEl(first.timestamp))),
        h("div", {}, h("dt", {}, "To"), h("dd", {}, timeEl(last.timestamp))),
        h("div", {}, h("dt", {}, "Span"), h("dd", {}, duration(micros(last.timestamp) - micros(first.timestamp)))),
        h("div", {}, h("dt", {}, apps.size > 1 ? "Applications" : "Application"), h("dd", {}, [...apps].join(", "))),
      );
    };
    fill();

    const more = h("div", { class: "pager" });
    const showMore = () => {
      more.replaceChildren();
      if (!cursor) return;
      more.append(
        h("button", {
          type: "button",
          class: "quiet",
          onclick: async (e) => {
            e.currentTarget.disabled = true;
            try {
              const page = await api(path, { limit: TIMELINE_PAGE, cursor });
              if (gen !== generation) return;
              events.push(...page.items);
              cursor = page.next_cursor;
              page.items.forEach((item) => apps.add(item.application_id));
              add(page.items);
              fill();
              showMore();
            } catch (error) {
              failed(error, out, gen);
            }
          },
        }, "Load more events"),
      );
    };
    showMore();
    out.replaceChildren(summary, list, more);
    setStatus(`Session ${session}: ${events.length} event${events.length === 1 ? "" : "s"}${cursor ? " (more available)" : ""}.`);
  }

  // ------------------------------------------------------------------ sessions
  const SESSION_COLUMNS = ["Session", "First event", "Last event", "Events", "Applications"];

  function sessionRow(session) {
    const cells = [
      link(idText(session.session_id), hashFor("timeline", { session: session.session_id }), {
        "aria-label": `Timeline of session ${session.session_id}`,
      }),
      timeEl(session.first_seen),
      timeEl(session.last_seen),
      String(session.events),
      (session.application_ids || []).join(", "),
    ];
    return h(
      "tr",
      { "data-session-id": session.session_id, "data-events": session.events },
      cells.map((c, i) => h("td", { "data-label": SESSION_COLUMNS[i], class: i === 3 ? "num" : null }, c)),
    );
  }

  async function renderSessions(target, gen) {
    fillForm($("sessions-form"), target.params);
    const params = paramsObject(target.params);
    delete params.cursor;
    params.limit = params.limit || "50";
    params.order = "desc"; // newest first
    const out = $("sessions-result");
    out.replaceChildren(hint("Loading…"));
    const page = await api("sessions", params);
    if (gen !== generation) return;
    if (!page.items.length) {
      out.replaceChildren(h("p", { class: "empty" }, "No session began in this range."));
      setStatus("No sessions.");
      return;
    }
    const rows = h("tbody", {}, page.items.map(sessionRow));
    const table = h(
      "table",
      { class: "responsive", id: "sessions-table" },
      h("caption", { class: "visually-hidden" }, "Sessions, newest first"),
      h("thead", {}, h("tr", {}, SESSION_COLUMNS.map((c, i) => h("th", { scope: "col", class: i === 3 ? "num" : null }, c)))),
      rows,
    );
    let cursor = page.next_cursor;
    const more = h("div", { class: "pager" });
    const shown = () => {
      const n = rows.children.length;
      return `${n} session${n === 1 ? "" : "s"}, newest first${cursor ? "; more to load" : ""}`;
    };
    const showMore = () => {
      more.replaceChildren();
      if (cursor) {
        more.append(
          h("button", {
            type: "button",
            class: "quiet",
            id: "sessions-more",
            onclick: async (e) => {
              e.currentTarget.disabled = true;
              try {
                const next = await api("sessions", Object.assign({}, params, { cursor }));
                if (gen !== generation) return;
                rows.append(...next.items.map(sessionRow));
                cursor = next.next_cursor;
                showMore();
              } catch (error) {
                failed(error, out, gen);
              }
            },
          }, "Load more sessions"),
        );
      }
      more.append(h("span", { class: "hint", id: "sessions-count" }, shown()));
      setStatus(`${shown()}.`);
    };
    showMore();
    out.replaceChildren(h("div", { class: "table-wrap" }, table), more);
  }

  // ------------------------------------------------------------------ explorer
  // The bot filter: GET /events has none, so it is applied to each page of results here.
  const BOT_FILTERS = {
    hide: { keep: (event) => !isBot(event), told: (n) => `${n} bot${n === 1 ? "" : "s"} hidden on this page` },
    only: { keep: isBot, told: (n) => `${n} event${n === 1 ? "" : "s"} by people hidden on this page` },
  };

  async function renderExplorer(target, gen) {
    const form = $("explorer-form");
    fillForm(form, target.params);
    const params = paramsObject(target.params);
    params.order = params.order || "desc";
    params.limit = params.limit || "50";
    const filter = BOT_FILTERS[params.bots] || null;
    const query = Object.assign({}, params);
    delete query.bots;
    const out = $("explorer-result");
    out.replaceChildren(hint("Loading…"));
    const page = await api("events", query);
    if (gen !== generation) return;
    if (!page.items.length) {
      out.replaceChildren(h("p", { class: "empty" }, "No events match."), pager("explorer", params, null, ""));
      setStatus("No events match.");
      return;
    }
    const items = filter ? page.items.filter(filter.keep) : page.items;
    const left = page.items.length - items.length;
    const shown = `${items.length} event${items.length === 1 ? "" : "s"} on this page` +
      (filter ? ` · ${filter.told(left)}` : "");
    if (!items.length) {
      out.replaceChildren(h("p", { class: "empty", id: "explorer-filtered" }, `No events left on this page: ${filter.told(left)}.`),
        pager("explorer", params, page.next_cursor, shown));
      setStatus(`${shown}${page.next_cursor ? "; more on the next page" : ""}.`);
      return;
    }
    const columns = ["Time", "Category", "Name", "Session", "Visitor", "Event", "Data"];
    const rows = items.map((event) => {
      remember(event.category, event.name);
      const cells = [
        timeEl(event.timestamp),
        link(event.category, hashFor("explorer", { category: event.category })),
        event.name,
        link(idText(event.session_id), hashFor("timeline", { session: event.session_id }), {
          "aria-label": `Timeline of session ${event.session_id}`,
        }),
        visitor(event.context) || h("span", { class: "hint" }, "—"),
        link(idText(event.event_id), hashFor("event", null, event.event_id), {
          "aria-label": `Event ${event.event_id}`,
        }),
        [h("span", { class: "hint" }, brief(event.data)), payload(event.data)],
      ];
      return h(
        "tr",
        { "data-event-id": event.event_id, "data-bot": String(isBot(event)), class: isBot(event) ? "by-bot" : null },
        cells.map((c, i) => h("td", { "data-label": columns[i] }, c)),
      );
    });
    const table = h(
      "table",
      { class: "responsive", id: "explorer-table" },
      h("caption", { class: "visually-hidden" }, "Events"),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows),
    );
    out.replaceChildren(h("div", { class: "table-wrap" }, table), pager("explorer", params, page.next_cursor, shown));
    setStatus(`${shown}${page.next_cursor ? "; more on the next page" : ""}.`);
  }

  // ------------------------------------------------------------------ volume chart
  function niceStep(max, ticks) {
    const raw = Math.max(1, max) / ticks;
    const power = 10 ** Math.floor(Math.log10(raw));
    const scaled = raw / power;
    const nice = scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10;
    return Math.max(1, nice * power);
  }

  function floorTo(ms, interval) {
    return Math.floor(ms / STEP_MS[interval]) * STEP_MS[interval]; // buckets are UTC
  }

  function bucketLabel(ms, interval, withDate) {
    const d = new Date(ms);
    if (interval === "day") return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return withDate ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time;
  }

  function drawChart(holder, model) {
    const width = Math.max(300, Math.floor(holder.clientWidth || 800) - 2);
    const height = width < 500 ? 240 : 320;
    const m = { left: 44, right: 10, top: 12, bottom: 34 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const { start, end, step, interval, series } = model;
    const buckets = Math.max(1, Math.ceil((end - start) / step));
    const bw = plotW / buckets;

    const totals = new Map(); // bucket index -> running stacked total
    let max = 0;
    for (const one of series) {
      for (const p of one.points) {
        const i = Math.floor((Date.parse(p.t) - start) / step);
        totals.set(i, (totals.get(i) || 0) + p.count);
        max = Math.max(max, totals.get(i));
      }
    }
    const yStep = niceStep(max, 4);
    const yMax = Math.max(yStep, Math.ceil(max / yStep) * yStep);
    const y = (v) => m.top + plotH - (v / yMax) * plotH;

    const svg = s("svg", {
      class: "chart",
      id: "volume-chart",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-labelledby": "volume-chart-title volume-chart-desc",
    });
    const total = series.reduce((n, one) => n + one.points.reduce((k, p) => k + p.count, 0), 0);
    svg.append(
      s("title", { id: "volume-chart-title" }, "Stored events per category"),
      s("desc", { id: "volume-chart-desc" },
        `${total} events in ${series.length} categories, by ${interval}, ` +
        `from ${new Date(start).toISOString()} to ${new Date(end).toISOString()}. The data table below has every value.`),
    );
    for (let v = 0; v <= yMax; v += yStep) {
      svg.append(
        s("line", { class: v === 0 ? "axis" : "grid", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }),
        s("text", { x: m.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)),
      );
    }
    // x labels: at most one per 110 px (a label with its date is about 75 px wide)
    const every = Math.max(1, Math.ceil(buckets / Math.max(1, Math.floor(plotW / 110))));
    let lastDay = "";
    for (let i = 0; i < buckets; i += every) {
      const t = start + i * step;
      const day = new Date(t).toDateString();
      const label = bucketLabel(t, interval, interval !== "day" && day !== lastDay);
      lastDay = day;
      const x = m.left + i * bw;
      svg.append(
        s("line", { class: "axis", x1: x, x2: x, y1: m.top + plotH, y2: m.top + plotH + 4 }),
        s("text", { x, y: height - m.bottom + 18, "text-anchor": i === 0 ? "start" : "middle" }, label),
      );
    }
    const stacked = new Map();
    series.forEach((one, index) => {
      const color = `c${index % PALETTE_SIZE}`;
      const group = s("g", { "data-category": one.category });
      for (const p of one.points) {
        const t = Date.parse(p.t);
        const i = Math.floor((t - start) / step);
        if (i < 0 || i >= buckets) continue;
        const below = stacked.get(i) || 0;
        stacked.set(i, below + p.count);
        const top = y(below + p.count);
        const gap = bw > 4 ? Math.min(2, bw * 0.15) : 0;
        group.append(
          s("rect", {
            class: `bar ${color}`,
            x: m.left + i * bw + gap / 2,
            y: top,
            width: Math.max(1.5, bw - gap), // sparse minute buckets stay visible
            height: Math.max(0.5, y(below) - top),
          }, s("title", {}, `${one.category}: ${p.count} at ${p.t}`)),
        );
      }
      svg.append(group);
    });
    holder.replaceChildren(svg);
  }

  function dataTable(model) {
    const byTime = new Map();
    model.series.forEach((one, index) => {
      for (const p of one.points) {
        if (!byTime.has(p.t)) byTime.set(p.t, new Array(model.series.length).fill(0));
        byTime.get(p.t)[index] = p.count;
      }
    });
    const times = [...byTime.keys()].sort();
    return h(
      "details",
      { class: "data-table" },
      h("summary", {}, "Data table"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { id: "volume-table" },
          h("caption", { class: "visually-hidden" }, "Stored events per bucket and category"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, `Bucket start (${model.interval})`),
            model.series.map((one) => h("th", { scope: "col", class: "num" }, one.category)))),
          h("tbody", {}, times.map((t) => h("tr", {}, h("th", { scope: "row" }, timeEl(t)),
            byTime.get(t).map((n) => h("td", { class: "num" }, String(n)))))),
        ),
      ),
    );
  }

  async function renderVolume(target, gen) {
    fillForm($("volume-form"), target.params);
    const interval = ["minute", "hour", "day"].includes(target.params.get("interval"))
      ? target.params.get("interval")
      : "hour";
    const to = target.params.get("to") || new Date(Math.ceil(Date.now() / 60e3) * 60e3).toISOString();
    const from = target.params.get("from") || new Date(Date.parse(to) - DAY_MS).toISOString();
    const category = target.params.get("category") || "";
    if (!target.params.get("to")) $("volume-to").value = toLocalInput(to);
    if (!target.params.get("from")) $("volume-from").value = toLocalInput(from);
    const out = $("volume-result");
    out.replaceChildren(hint("Loading…"));
    const stats = await api("stats/events", { from, to, interval, category });
    if (gen !== generation) return;
    const model = {
      start: floorTo(Date.parse(from), interval),
      end: Date.parse(to),
      step: STEP_MS[interval],
      interval: stats.interval,
      series: stats.series,
    };
    const totals = stats.series.map((one) => one.points.reduce((n, p) => n + p.count, 0));
    const total = totals.reduce((a, b) => a + b, 0);
    stats.series.forEach((one) => remember(one.category, null));

    const legend = h(
      "ul",
      { class: "legend", id: "volume-legend", "aria-label": "Categories and their totals" },
      stats.series.map((one, index) =>
        h(
          "li",
          { "data-category": one.category, "data-total": totals[index] },
          h("span", { class: `swatch c${index % PALETTE_SIZE}`, "aria-hidden": "true" }),
          h("span", { class: "category" }, one.category),
          h("strong", { class: "total" }, String(totals[index])),
        ),
      ),
    );
    const holder = h("div", { class: "chart-wrap" });
    const summary = h("p", { class: "summary", id: "volume-total" },
      `${total} stored event${total === 1 ? "" : "s"} by ${interval}`);
    if (!stats.series.length) {
      out.replaceChildren(summary, h("p", { class: "empty" }, "No stored events in this range."));
      setStatus("No stored events in this range.");
      return;
    }
    out.replaceChildren(summary, legend, holder, dataTable(model));
    drawChart(holder, model);
    redrawChart = () => drawChart(holder, model);
    setStatus(`${total} stored events in ${stats.series.length} categories.`);
  }

  // ------------------------------------------------------------------ errors
  function problemsList(details) {
    if (!details || !details.length) return null;
    return h("ul", { class: "problems" }, details.map((d) => h("li", {}, h("code", {}, d.field), ` ${d.message}`)));
  }

  function sessionOf(payloadValue) {
    return payloadValue && typeof payloadValue === "object" && typeof payloadValue.session_id === "string"
      ? payloadValue.session_id
      : null;
  }

  function errorCard(error) {
    const session = sessionOf(error.payload);
    const what = error.payload && typeof error.payload === "object" && error.payload.category
      ? `${error.payload.category} · ${error.payload.name || "?"}`
      : null;
    return h(
      "li",
      { class: "card", "data-error-id": error.error_id, "data-type": error.type },
      h(
        "div",
        { class: "card-head" },
        h("span", { class: "badge bad" }, error.type),
        h("span", { class: "badge" }, error.source),
        what ? h("strong", {}, what) : null,
        error.replayed ? h("span", { class: "badge ok", "data-replayed": "true" }, "replayed") : null,
        timeEl(error.received_at),
        link("details", hashFor("error", null, error.error_id), { "aria-label": `Error ${error.error_id}` }),
      ),
      h(
        "p",
        { class: "hint" },
        `application ${error.application_id}`,
        error.event_id ? [" · event ", idText(error.event_id)] : null,
        session ? [" · session ", link(idText(session), hashFor("timeline", { session }))] : null,
        error.replayed ? [" · replayed ", timeEl(error.replayed.at)] : null,
      ),
      problemsList(error.details),
      payload(error.payload),
    );
  }

  async function renderErrors(target, gen) {
    fillForm($("errors-form"), target.params);
    const params = paramsObject(target.params);
    const out = $("errors-result");
    out.replaceChildren(hint("Loading…"));
    const page = await api("errors", Object.assign({ limit: 50 }, params));
    if (gen !== generation) return;
    if (!page.items.length) {
      out.replaceChildren(h("p", { class: "empty" }, "No errors match."), pager("errors", params, null, ""));
      setStatus("No errors match.");
      return;
    }
    const shown = `${page.items.length} error${page.items.length === 1 ? "" : "s"} on this page, newest first`;
    out.replaceChildren(
      h("ul", { class: "cards", id: "errors-list", "aria-label": "Errors" }, page.items.map(errorCard)),
      pager("errors", params, page.next_cursor, shown),
    );
    setStatus(`${shown}.`);
  }

  // ------------------------------------------------------------------ schemas
  const SCHEMA_COLUMNS = ["Field", "Type", "Required", "Rules", "Description"];
  const MAX_SCHEMA_DEPTH = 8;

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
  const numberOr = (value) => (typeof value === "number" ? value : undefined);

  /** What a (sub)schema accepts, in words: "string", "integer or null", "array of string", ... */
  function typeText(schema) {
    if (schema === true || schema === undefined) return "any";
    if (schema === false) return "nothing";
    if (!isObject(schema)) return "any";
    const types = Array.isArray(schema.type) ? schema.type : typeof schema.type === "string" ? [schema.type] : [];
    if (types.length) {
      return types
        .map((t) => (t === "array" && isObject(schema.items) ? `array of ${typeText(schema.items)}` : String(t)))
        .join(" or ");
    }
    const choices = schema.anyOf || schema.oneOf;
    if (Array.isArray(choices) && choices.length) return choices.map(typeText).join(" or ");
    if (typeof schema.$ref === "string") return schema.$ref;
    return "any";
  }

  function span(low, high, unit) {
    if (low !== undefined && high !== undefined) return low === high ? `exactly ${low} ${unit}` : `${low}–${high} ${unit}`;
    if (low !== undefined) return `at least ${low} ${unit}`;
    if (high !== undefined) return `at most ${high} ${unit}`;
    return null;
  }

  /** The keywords that narrow a field, each as text or nodes (values as code, never as markup). */
  function constraints(schema) {
    if (!isObject(schema)) return [];
    const code = (value) => h("code", {}, typeof value === "string" ? value : JSON.stringify(value));
    const rules = [];
    if (Array.isArray(schema.enum)) {
      rules.push(["one of ", schema.enum.map((v, i) => [i ? ", " : "", code(JSON.stringify(v))])]);
    }
    if ("const" in schema) rules.push(["exactly ", code(JSON.stringify(schema.const))]);
    if (typeof schema.pattern === "string") rules.push(["matches ", code(schema.pattern)]);
    if (typeof schema.format === "string") rules.push(`format ${schema.format}`);
    rules.push(span(numberOr(schema.minLength), numberOr(schema.maxLength), "characters"));
    if (numberOr(schema.minimum) !== undefined) rules.push(`≥ ${schema.minimum}`);
    if (numberOr(schema.exclusiveMinimum) !== undefined) rules.push(`> ${schema.exclusiveMinimum}`);
    if (numberOr(schema.maximum) !== undefined) rules.push(`≤ ${schema.maximum}`);
    if (numberOr(schema.exclusiveMaximum) !== undefined) rules.push(`< ${schema.exclusiveMaximum}`);
    if (numberOr(schema.multipleOf) !== undefined) rules.push(`multiple of ${schema.multipleOf}`);
    rules.push(span(numberOr(schema.minItems), numberOr(schema.maxItems), "items"));
    if (schema.uniqueItems === true) rules.push("no repeated items");
    rules.push(span(numberOr(schema.minProperties), numberOr(schema.maxProperties), "fields"));
    if (schema.additionalProperties === false && isObject(schema.properties)) rules.push("no other fields");
    if ("default" in schema) rules.push(["default ", code(JSON.stringify(schema.default))]);
    return rules.filter(Boolean);
  }

  /** Every described field of an object schema, nested ones as dotted paths (form.*, items[].x). */
  function schemaFields(schema, prefix, rows, depth) {
    if (!isObject(schema) || depth > MAX_SCHEMA_DEPTH) return rows;
    const required = Array.isArray(schema.required) ? schema.required : [];
    const properties = isObject(schema.properties) ? schema.properties : {};
    for (const [name, sub] of Object.entries(properties)) {
      const field = prefix ? `${prefix}.${name}` : name;
      rows.push({ field, schema: sub, required: required.includes(name) });
      schemaFields(sub, field, rows, depth + 1);
    }
    if (isObject(schema.additionalProperties)) {
      const field = prefix ? `${prefix}.*` : "*";
      rows.push({ field, schema: schema.additionalProperties, required: false, other: true });
      schemaFields(schema.additionalProperties, field, rows, depth + 1);
    }
    if (prefix && isObject(schema.items)) schemaFields(schema.items, `${prefix}[]`, rows, depth + 1);
    return rows;
  }

  function otherFields(schema) {
    if (!isObject(schema)) return "";
    if (schema.additionalProperties === false) return "Fields not listed here are refused.";
    if (isObject(schema.additionalProperties)) return "Fields not listed here must match the * row.";
    return "Fields not listed here are allowed.";
  }

  function schemaPanel(item, index) {
    remember(item.category, item.name);
    const schema = isObject(item.schema) ? item.schema : {};
    const rows = schemaFields(schema, "", [], 0).map((row) => {
      const rules = constraints(row.schema);
      const description = isObject(row.schema) ? row.schema.description || row.schema.title || "" : "";
      const cells = [
        [h("code", { class: "field-name" }, row.field), row.other ? h("span", { class: "hint" }, " any other name") : null],
        typeText(row.schema),
        row.required ? h("span", { class: "badge ok" }, "required") : h("span", { class: "badge" }, "optional"),
        rules.length ? h("ul", { class: "rules" }, rules.map((rule) => h("li", {}, rule))) : "—",
        description,
      ];
      return h(
        "tr",
        { "data-field": row.field, "data-required": row.required ? "yes" : "no" },
        cells.map((c, i) => h("td", { "data-label": SCHEMA_COLUMNS[i] }, c)),
      );
    });
    const titleId = `schema-${index}-title`;
    const whole = constraints(schema).filter((rule) => rule !== "no other fields");
    return h(
      "article",
      { class: "panel schema", "data-category": item.category, "data-name": item.name, "aria-labelledby": titleId },
      h("h3", { id: titleId }, `${item.category} · ${item.name}`),
      schema.description ? h("p", { class: "schema-description" }, schema.description) : null,
      h(
        "p",
        { class: "hint" },
        `data: ${typeText(schema)}`,
        whole.length ? [" · ", whole.map((rule, i) => [i ? ", " : "", rule])] : null,
        ` · ${otherFields(schema)} · `,
        link("Stored events of this type", hashFor("explorer", { category: item.category, name: item.name })),
      ),
      rows.length
        ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "responsive schema-fields" },
            h("caption", { class: "visually-hidden" }, `Fields of ${item.category} · ${item.name}`),
            h("thead", {}, h("tr", {}, SCHEMA_COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", {}, rows),
          ),
        )
        : h("p", { class: "empty" }, "No fields are described: any data of that type passes."),
      payload(item.schema, "JSON Schema"),
    );
  }

  async function renderSchemas(target, gen) {
    const out = $("schemas-result");
    out.replaceChildren(hint("Loading…"));
    const body = await api("schemas");
    if (gen !== generation) return;
    const items = body.items;
    if (!items.length) {
      out.replaceChildren(h("p", { class: "empty" }, "No event type has a schema: every event is stored as sent."));
      setStatus("No schemas.");
      return;
    }
    const shown = `${items.length} event type${items.length === 1 ? "" : "s"} with a schema`;
    out.replaceChildren(
      h("p", { class: "summary", id: "schemas-count" }, shown),
      h("div", { class: "schema-list", id: "schemas-list" }, items.map(schemaPanel)),
    );
    setStatus(`${shown}.`);
  }

  // ------------------------------------------------------------------ health
  function kvRow(label, value, attrs, sub) {
    return h("tr", attrs || {}, h("th", { scope: "row", class: sub ? "sub" : null }, label),
      h("td", { class: "num" }, String(value)));
  }

  function depthPanel(title, depth, id, warnWhenAny) {
    const warn = warnWhenAny && depth.messages + depth.in_flight > 0;
    return h(
      "div",
      { class: `panel depth${warn ? " warn" : ""}`, id },
      h("h3", {}, title),
      h("p", { class: "big" }, String(depth.messages), h("span", { class: "visually-hidden" }, " messages")),
      h("p", { class: "hint" }, `messages waiting · ${depth.in_flight} in flight`),
      warn ? h("p", { class: "alert" }, "Messages here were not processed: inspect and redrive them.") : null,
    );
  }

  async function renderHealth(target, gen) {
    const out = $("health-result");
    if (!out.firstChild) out.replaceChildren(hint("Loading…"));
    const status = await api("status");
    if (gen !== generation) return;
    const invalidTotal = Object.values(status.invalid).reduce((a, b) => a + b, 0);
    const rejectedTotal = Object.values(status.rejected || {}).reduce((a, b) => a + b, 0);
    const ledger = h(
      "div",
      { class: "panel", id: "health-ledger" },
      h("h3", {}, "Ledger ", h("span", { class: `badge ${status.balanced ? "ok" : "bad"}`, id: "health-balanced" },
        status.balanced ? "✓ balanced" : "✗ not balanced")),
      h(
        "table",
        {},
        h("caption", { class: "visually-hidden" }, "Where every accepted event is"),
        h("tbody", {},
          kvRow("Accepted", status.accepted, { id: "health-accepted" }),
          kvRow("Replayed (errors' events entering again)", status.replayed || 0, { id: "health-replayed" }),
          kvRow("Stored", status.stored, { id: "health-stored" }),
          kvRow("Duplicates", status.duplicates),
          kvRow("Invalid", invalidTotal, { id: "health-invalid" }),
          Object.entries(status.invalid).filter(([, n]) => n > 0).map(([type, n]) => kvRow(type, n, null, true)),
          kvRow("Queued (not yet processed)", status.queued, { id: "health-queued" }),
          kvRow("Dead-lettered", status.dead_lettered),
        ),
      ),
      h("p", { class: "equation" },
        `accepted ${status.accepted} + replayed ${status.replayed || 0} = stored ${status.stored} + duplicates ${status.duplicates} + invalid ${invalidTotal}` +
        ` + dead-lettered ${status.dead_lettered} + queued ${status.queued}`),
      status.balanced
        ? null
        : h("p", { class: "alert" }, "Events are unaccounted for: queued is negative, or events are queued while the queue is empty."),
    );
    const rejected = h(
      "div",
      { class: "panel", id: "health-rejected" },
      h("h3", {}, "Refused at ingest"),
      h("p", { class: "big" }, String(rejectedTotal)),
      h("table", {}, h("caption", { class: "visually-hidden" }, "Events refused at ingest by type"),
        h("tbody", {}, Object.entries(status.rejected || {}).map(([type, n]) => kvRow(type, n)))),
    );
    out.replaceChildren(
      h(
        "div",
        { class: "health-grid" },
        ledger,
        depthPanel("Events queue", status.queue, "health-queue", false),
        depthPanel("Dead-letter queue", status.dead_letter_queue, "health-dlq", true),
        rejected,
      ),
    );
    $("health-updated").textContent = `Updated ${localText(new Date())}`;
    setStatus(status.balanced ? "The ledger balances." : "The ledger does not balance.");
    scheduleHealth(gen);
  }

  function scheduleHealth(gen) {
    window.clearTimeout(healthTimer);
    if (!$("health-auto").checked) return;
    healthTimer = window.setTimeout(() => {
      if (gen !== generation) return;
      if (document.visibilityState === "hidden") {
        scheduleHealth(gen);
        return;
      }
      renderHealth(null, gen).catch((error) => failed(error, $("health-result"), gen));
    }, HEALTH_REFRESH_MS);
  }

  // ------------------------------------------------------------------ one event, one error
  function kv(pairs) {
    return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  /** The page an event was sent from, with its title, when its context says. */
  function pageRow(context) {
    const page = isObject(context) && isObject(context.page) ? context.page : null;
    if (!page || !(page.url || page.title)) return null;
    return ["Page", [page.title ? h("span", { class: "page-title" }, page.title) : null, page.title && page.url ? " " : null,
      page.url ? h("span", { class: "id" }, page.url) : null]];
  }

  async function renderEvent(target, gen) {
    const out = $("event-result");
    if (!target.id) {
      out.replaceChildren(hint("No event id."));
      return;
    }
    out.replaceChildren(hint("Loading…"));
    const event = await api(`events/${encodeURIComponent(target.id)}`);
    if (gen !== generation) return;
    const lag = micros(event.received_at) - micros(event.timestamp);
    out.replaceChildren(
      h(
        "div",
        { class: "panel", id: "event-detail" },
        kv([
          ["Event id", idText(event.event_id)],
          ["Type", [link(event.category, hashFor("explorer", { category: event.category })), " · ",
            link(event.name, hashFor("explorer", { category: event.category, name: event.name }))]],
          ["Session", link(idText(event.session_id), hashFor("timeline", { session: event.session_id }))],
          ["Application", event.application_id],
          ["Timestamp", timeEl(event.timestamp)],
          ["Received", [timeEl(event.received_at), h("span", { class: "hint" }, ` (${lag >= 0 ? "+" : "−"}${duration(Math.abs(lag))})`)]],
          pageRow(event.context),
          visitor(event.context) ? ["Visitor", visitor(event.context)] : null,
        ]),
        payload(event.data, "Payload", true),
        isObject(event.context) && Object.keys(event.context).length ? payload(event.context, "Context") : null,
      ),
    );
    setStatus(`Event ${event.event_id}.`);
  }

  async function renderError(target, gen) {
    const out = $("error-result");
    if (!target.id) {
      out.replaceChildren(hint("No error id."));
      return;
    }
    out.replaceChildren(hint("Loading…"));
    const error = await api(`errors/${encodeURIComponent(target.id)}`);
    if (gen !== generation) return;
    const session = sessionOf(error.payload);
    out.replaceChildren(
      h(
        "div",
        { class: "panel", id: "error-detail" },
        kv([
          ["Error id", idText(error.error_id)],
          ["Type", link(error.type, hashFor("errors", { type: error.type }))],
          ["Source", link(error.source, hashFor("errors", { source: error.source }))],
          ["Application", link(error.application_id, hashFor("errors", { application_id: error.application_id }))],
          ["Received", timeEl(error.received_at)],
          ["Event id", error.event_id ? idText(error.event_id) : "—"],
          session ? ["Session", link(idText(session), hashFor("timeline", { session }))] : null,
          ["Problems", problemsList(error.details) || "—"],
          ["Replayed", error.replayed
            ? h("span", { id: "error-replayed" }, timeEl(error.replayed.at), " as event ",
              link(idText(error.replayed.event_id), hashFor("event", null, error.replayed.event_id)))
            : "no"],
        ]),
        payload(error.payload, "Payload as sent", true),
      ),
    );
    setStatus(`Error ${error.error_id}.`);
  }

  const RENDERERS = {
    timeline: renderTimeline,
    sessions: renderSessions,
    explorer: renderExplorer,
    volume: renderVolume,
    errors: renderErrors,
    schemas: renderSchemas,
    health: renderHealth,
    event: renderEvent,
    error: renderError,
  };

  // ------------------------------------------------------------------ wiring
  function start() {
    $("tz").textContent = zoneName();

    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const key = $("key-input").value.trim();
      if (!key) return;
      if (!setKey(key)) {
        const error = $("key-error");
        error.textContent = "This browser does not allow session storage, so the key cannot be kept.";
        error.hidden = false;
        return;
      }
      $("key-input").value = "";
      $("key-error").hidden = true;
      route();
    });

    $("forget-key").addEventListener("click", () => {
      forgetKey();
      showKeyPrompt("The key was forgotten.");
    });

    const bind = (view) => {
      $(`${view}-form`).addEventListener("submit", (e) => {
        e.preventDefault();
        go(hashFor(view, formParams(e.currentTarget)));
      });
    };
    ["timeline", "sessions", "explorer", "volume", "errors"].forEach(bind);

    $("health-refresh").addEventListener("click", () => {
      const gen = generation;
      renderHealth(null, gen).catch((error) => failed(error, $("health-result"), gen));
    });
    $("health-auto").addEventListener("change", () => {
      if (parseHash().view === "health") scheduleHealth(generation);
    });

    let resizeTimer = 0;
    window.addEventListener("resize", () => {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(() => redrawChart && redrawChart(), 150);
    });
    window.addEventListener("hashchange", () => {
      focusHeading = true;
      route();
    });
    route();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
