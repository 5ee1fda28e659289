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
  const VIEWS = [
    "timeline", "sessions", "explorer", "volume", "insights", "sql", "errors", "schemas", "health", "event", "error",
  ];
  const NAV_OF = { event: "explorer", error: "errors" };
  const TITLES = {
    key: "Open", timeline: "Session timeline", sessions: "Sessions", explorer: "Explorer", volume: "Volume",
    insights: "Insights", sql: "SQL",
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
      this.code = (error && error.code) || "";
      this.plain = (error && error.message) || this.message; // without the status and code
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

  /** One request to the API: its status and JSON body; an ApiError for any 4xx/5xx. */
  async function call(path, params, json) {
    const key = getKey();
    const headers = { Authorization: `Bearer ${key}`, Accept: "application/json" };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path + queryString(params), {
        method: json === undefined ? "GET" : "POST",
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
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
    return { status: response.status, body };
  }

  async function api(path, params) {
    return (await call(path, params)).body;
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

  // ------------------------------------------------------------------ insights
  // The request the API takes is kept whole in the URL (#insights?q=<JSON>), so a link shows the
  // same insight; the fields offered for filters and breakdowns are read from the period's
  // events with three small SQL statements.
  const INSIGHT_KINDS = ["trends", "funnel", "top", "sessions"];
  const CORE_FIELDS = ["category", "name", "session_id", "application_id"];
  const NOT_FIELDS = new Set(["event_id", "event_time", "client_time", "received_at", "data"]);
  const OPS = [["eq", "is"], ["neq", "is not"], ["in", "is one of"], ["not_in", "is none of"],
    ["contains", "contains"], ["exists", "is present"]];
  const DEFAULT_LIMIT = 10;
  const DEFAULT_WINDOW = 1800;
  const MAX_STEPS = 10;
  const MAX_DATA_PATHS = 200;
  const OTHER = "$other";
  const INSIGHT_STEP_MS = { hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };
  const fieldsCache = new Map(); // period -> promise of the fields it holds
  let tableColumns = null; // promise of the events table's columns

  const sqlRows = async (sql) => {
    const answer = await call("sql", null, { sql, max_rows: 1000 });
    if (answer.status !== 200) return null; // still running (Athena): offer what is known
    return answer.body;
  };

  const sqlTime = (iso) => `TIMESTAMP '${new Date(iso).toISOString().replace("T", " ").replace("Z", "")}'`;
  const quoteName = (name) => `"${name.replace(/"/g, '""')}"`;

  /** Every dotted path to a scalar in a JSON object (arrays are not followed). */
  function dataPaths(value, prefix, out, depth) {
    if (!isObject(value) || depth > 5) return out;
    for (const [key, sub] of Object.entries(value)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue; // a dotted path cannot name it
      const path = prefix ? `${prefix}.${key}` : key;
      if (isObject(sub)) dataPaths(sub, path, out, depth + 1);
      else if (!Array.isArray(sub)) out.add(path);
    }
    return out;
  }

  /** The fields the period holds: event types (with sample payloads for data paths) and the context
   * columns that have a value. Any failure leaves the known columns. */
  function periodFields(from, to) {
    const period = `${from}|${to}`;
    if (fieldsCache.has(period)) return fieldsCache.get(period);
    const promise = (async () => {
      if (!tableColumns) {
        tableColumns = sqlRows("SELECT * FROM events LIMIT 0").then((r) => (r ? r.columns : []));
        tableColumns.catch(() => { tableColumns = null; });
      }
      const columns = await tableColumns;
      const context = columns.filter((c) => !NOT_FIELDS.has(c.name) && !CORE_FIELDS.includes(c.name));
      const where = `WHERE event_time >= ${sqlTime(from)} AND event_time < ${sqlTime(to)}`;
      const [counts, types] = await Promise.all([
        context.length
          ? sqlRows(`SELECT ${context.map((c) => `count(${quoteName(c.name)}) AS ${quoteName(c.name)}`).join(", ")} ` +
            `FROM events ${where}`)
          : null,
        sqlRows("SELECT category, name, count(*) AS events, min(data) AS a, max(data) AS b, arbitrary(data) AS c " +
          `FROM events ${where} GROUP BY category, name ORDER BY events DESC LIMIT 1000`),
      ]);
      const present = counts && counts.rows.length
        ? context.filter((c, i) => counts.rows[0][i] > 0).map((c) => ({ name: c.name, count: counts.rows[0][context.indexOf(c)] }))
        : [];
      const eventTypes = types ? types.rows.map(([category, name, events]) => ({ category, name, events })) : [];
      const paths = new Set();
      for (const row of types ? types.rows : []) {
        for (const sample of row.slice(3)) {
          try {
            dataPaths(JSON.parse(sample), "", paths, 0);
          } catch (e) {
            /* not an object: no paths */
          }
          if (paths.size >= MAX_DATA_PATHS) break;
        }
      }
      return {
        context: present,
        types: eventTypes,
        data: [...paths].sort().slice(0, MAX_DATA_PATHS).map((p) => `data.${p}`),
        columns: columns.map((c) => c.name),
      };
    })();
    fieldsCache.set(period, promise);
    promise.catch(() => fieldsCache.delete(period));
    return promise;
  }

  let offered = { context: [], types: [], data: [] };

  function offerFields(fields) {
    offered = fields;
    const option = (value, label) => h("option", { value }, label || "");
    $("insights-fields").replaceChildren(
      ...CORE_FIELDS.map((f) => option(f, "event")),
      ...fields.context.map((c) => option(c.name, `${c.count} events`)),
      ...fields.data.map((p) => option(p, "payload")),
    );
    for (const step of document.querySelectorAll("#insights-steps li")) fillStepChoices(step);
    const types = fields.types.length;
    $("insights-fields-hint").textContent = types
      ? `This period holds ${types} event type${types === 1 ? "" : "s"}, ${fields.context.length} context ` +
        `field${fields.context.length === 1 ? "" : "s"} with values and ${fields.data.length} payload ` +
        `field${fields.data.length === 1 ? "" : "s"}: they are offered as you type a field.`
      : "No events in this period: fields are the table's own.";
  }

  // -------- the form <-> the request
  function checkedKind() {
    const picked = document.querySelector('#insights-form input[name="kind"]:checked');
    return picked ? picked.value : "trends";
  }

  function showKindFields(kind) {
    for (const el of document.querySelectorAll("#insights-form [data-kinds]")) {
      el.hidden = !el.dataset.kinds.split(" ").includes(kind);
    }
  }

  function selectOf(values, value, attrs) {
    const select = h("select", attrs, values.map(([v, label]) => h("option", { value: v }, label)));
    if (value !== undefined && value !== null && !values.some(([v]) => v === value)) {
      select.append(h("option", { value }, value));
    }
    if (value !== undefined && value !== null) select.value = value;
    return select;
  }

  function fillStepChoices(step) {
    const category = step.querySelector(".step-category");
    const name = step.querySelector(".step-name");
    const chosen = { category: category.value || step.dataset.category || "", name: name.value || step.dataset.name || "" };
    const categories = [...new Set(offered.types.map((t) => t.category))].sort();
    if (chosen.category && !categories.includes(chosen.category)) categories.unshift(chosen.category);
    category.replaceChildren(h("option", { value: "" }, "Category…"), ...categories.map((c) => h("option", { value: c }, c)));
    category.value = chosen.category;
    const names = offered.types.filter((t) => t.category === chosen.category).map((t) => t.name).sort();
    if (chosen.name && !names.includes(chosen.name)) names.unshift(chosen.name);
    name.replaceChildren(h("option", { value: "" }, "Name…"), ...names.map((n) => h("option", { value: n }, n)));
    name.value = chosen.name;
  }

  function stepRow(step) {
    const row = h("li", { class: "step", "data-category": step.category || "", "data-name": step.name || "" });
    const remove = h("button", { type: "button", class: "quiet icon remove", "aria-label": "Remove this step",
      onclick: () => {
        if (document.querySelectorAll("#insights-steps li").length > 2) row.remove();
        renumberSteps();
      } }, "×");
    row.append(
      h("span", { class: "step-number", "aria-hidden": "true" }),
      h("select", { class: "step-category", "aria-label": "Category of the step", onchange: () => {
        row.dataset.category = row.querySelector(".step-category").value;
        row.dataset.name = "";
        row.querySelector(".step-name").value = "";
        fillStepChoices(row);
      } }),
      h("select", { class: "step-name", "aria-label": "Name of the step", onchange: (e) => {
        row.dataset.name = e.currentTarget.value;
      } }),
      remove,
    );
    fillStepChoices(row);
    return row;
  }

  function renumberSteps() {
    const steps = [...document.querySelectorAll("#insights-steps li")];
    steps.forEach((li, i) => { li.querySelector(".step-number").textContent = `${i + 1}.`; });
    $("insights-add-step").disabled = steps.length >= MAX_STEPS;
  }

  function valueText(field, value) {
    if (Array.isArray(value)) return value.map((v) => valueText(field, v)).join(", ");
    if (typeof value === "string" && field.startsWith("data.") && /^(-?\d+(\.\d+)?|true|false)$/.test(value)) {
      return JSON.stringify(value); // quoted: a string, not a number
    }
    return value === null || value === undefined ? "" : String(value);
  }

  /** A typed value: bot takes true/false; a payload field a number, true/false, or a "quoted" string. */
  function parseValue(field, text) {
    const t = text.trim();
    if (field === "bot") return t === "true" ? true : t === "false" ? false : t;
    if (field.startsWith("data.")) {
      if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
      if (t === "true" || t === "false") return t === "true";
      if (/^".*"$/.test(t)) return t.slice(1, -1);
    }
    return t;
  }

  function filterRow(condition) {
    const row = h("li", { class: "condition" });
    const op = selectOf(OPS, condition.op || "eq", { class: "cond-op", "aria-label": "Condition" });
    const value = h("input", {
      class: "cond-value", "aria-label": "Value", maxlength: 2048, spellcheck: "false", autocomplete: "off",
      placeholder: "value (a, b, c for a list)",
      value: condition.op === "exists" ? "" : valueText(condition.field || "", condition.value),
    });
    const presence = selectOf([["true", "yes"], ["false", "no"]], condition.value === false ? "false" : "true",
      { class: "cond-presence", "aria-label": "Present" });
    const sync = () => {
      value.hidden = op.value === "exists";
      presence.hidden = op.value !== "exists";
    };
    op.addEventListener("change", sync);
    sync();
    row.append(
      h("input", { class: "cond-field", list: "insights-fields", "aria-label": "Field", maxlength: 256,
        spellcheck: "false", autocomplete: "off", placeholder: "field", value: condition.field || "" }),
      op, value, presence,
      h("button", { type: "button", class: "quiet icon remove", "aria-label": "Remove this filter",
        onclick: () => row.remove() }, "×"),
    );
    return row;
  }

  function readInsightForm() {
    const form = $("insights-form");
    const kind = checkedKind();
    const request = { kind };
    const from = fromLocalInput($("insights-from").value);
    const to = fromLocalInput($("insights-to").value);
    if (from) request.from = from;
    if (to) request.to = to;
    if ($("insights-bots").checked) request.include_bots = true;
    const where = [];
    for (const row of form.querySelectorAll("#insights-where li")) {
      const field = row.querySelector(".cond-field").value.trim();
      if (!field) continue;
      const op = row.querySelector(".cond-op").value;
      const text = row.querySelector(".cond-value").value;
      let value;
      if (op === "exists") value = row.querySelector(".cond-presence").value === "true";
      else if (op === "in" || op === "not_in") {
        value = text.split(",").map((v) => v.trim()).filter(Boolean).map((v) => parseValue(field, v));
      } else value = parseValue(field, text);
      where.push({ field, op, value });
    }
    if (where.length) request.where = where;
    const limit = Number($("insights-limit").value) || DEFAULT_LIMIT;
    if (kind === "trends" || kind === "sessions") request.interval = $("insights-interval").value;
    if (kind === "trends" || kind === "top") {
      request.measure = $("insights-measure").value;
      if (limit !== DEFAULT_LIMIT) request.limit = limit;
    }
    if (kind === "trends" && $("insights-breakdown").value.trim()) request.breakdown = $("insights-breakdown").value.trim();
    if (kind === "top") request.field = $("insights-field").value.trim();
    if (kind === "funnel") {
      request.steps = [...form.querySelectorAll("#insights-steps li")].map((li) => ({
        category: li.querySelector(".step-category").value,
        name: li.querySelector(".step-name").value,
      }));
      request.window_seconds = Number($("insights-window").value);
    }
    return request;
  }

  function fillInsightForm(request, chart) {
    const kind = INSIGHT_KINDS.includes(request.kind) ? request.kind : "trends";
    for (const radio of document.querySelectorAll('#insights-form input[name="kind"]')) radio.checked = radio.value === kind;
    showKindFields(kind);
    $("insights-from").value = request.from ? toLocalInput(request.from) : "";
    $("insights-to").value = request.to ? toLocalInput(request.to) : "";
    $("insights-bots").checked = request.include_bots === true;
    $("insights-interval").value = ["hour", "day", "week"].includes(request.interval) ? request.interval : "day";
    $("insights-measure").value = request.measure === "sessions" ? "sessions" : "events";
    $("insights-breakdown").value = typeof request.breakdown === "string" ? request.breakdown : "";
    $("insights-field").value = typeof request.field === "string" ? request.field : "";
    $("insights-limit").value = String(Number.isInteger(request.limit) ? request.limit : DEFAULT_LIMIT);
    const seconds = String(Number.isInteger(request.window_seconds) ? request.window_seconds : DEFAULT_WINDOW);
    const windows = $("insights-window");
    if (![...windows.options].some((o) => o.value === seconds)) {
      windows.append(h("option", { value: seconds }, duration(Number(seconds) * 1e6)));
    }
    windows.value = seconds;
    $("insights-chart").value = chart === "bars" ? "bars" : "lines";
    const steps = Array.isArray(request.steps) && request.steps.length ? request.steps : [{}, {}];
    $("insights-steps").replaceChildren(...steps.map((step) => stepRow(isObject(step) ? step : {})));
    renumberSteps();
    const where = Array.isArray(request.where) ? request.where.filter(isObject) : [];
    $("insights-where").replaceChildren(...where.map(filterRow));
  }

  function insightHash(request, chart) {
    return hashFor("insights", { q: JSON.stringify(request), chart: chart === "bars" ? "bars" : "" });
  }

  // -------- charts
  function stepOf(interval) {
    return INSIGHT_STEP_MS[interval] || INSIGHT_STEP_MS.day;
  }

  function insightLabel(ms, interval, withDate) {
    const d = new Date(ms);
    if (interval !== "hour") {
      return withDate
        ? `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
        : `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    }
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return withDate ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time;
  }

  /** A bucket's start: its date for days and weeks (UTC buckets), the local time for hours. */
  function bucketEl(iso, interval) {
    if (interval === "hour") return timeEl(iso);
    return h("time", { datetime: iso, title: iso }, iso.slice(0, 10));
  }

  const countText = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"));
  const percentText = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0)}%`);
  const secondsText = (v) => (v === null || v === undefined ? "—" : v < 1 ? `${Math.round(v * 1000)} ms` : duration(v * 1e6));
  const secondsAxis = (v) => (v < 60 ? `${Math.round(v)} s` : v < 3600 ? `${+(v / 60).toFixed(1)} min` : `${+(v / 3600).toFixed(1)} h`);
  const decimalText = (v) => (v === null || v === undefined ? "—" : String(Math.round(v * 10) / 10));

  /** Lines (or stacked bars) over time buckets, drawn as SVG to the holder's width; every point
   * names its series, time and value on hover. */
  function timeChart(holder, model) {
    const width = Math.max(280, Math.floor(holder.clientWidth || 800) - 2);
    const height = model.height || (width < 500 ? 220 : 300);
    const m = { left: 52, right: 12, top: 12, bottom: 30 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const n = Math.max(1, model.times.length);
    const bw = plotW / n;
    const bars = model.style === "bars";
    let max = 0;
    for (let i = 0; i < n; i += 1) {
      const values = model.series.map((one) => one.values[i] || 0);
      max = Math.max(max, bars ? values.reduce((a, b) => a + b, 0) : Math.max(0, ...values));
    }
    let yMax;
    let yStep;
    if (model.unit === "ratio") {
      yMax = 1;
      yStep = 0.25;
    } else {
      yStep = model.unit === "count" ? niceStep(max, 4)
        : model.unit === "seconds" && max >= 60 ? niceStep(max / 60, 4) * 60 : niceDecimalStep(max, 4);
      yMax = Math.max(yStep, Math.ceil(max / yStep - 1e-9) * yStep);
    }
    const y = (v) => m.top + plotH - (v / yMax) * plotH;
    const xMid = (i) => m.left + (i + 0.5) * bw;
    const svg = s("svg", {
      class: "chart", id: model.id, viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-labelledby": `${model.id}-title ${model.id}-desc`,
    });
    svg.append(s("title", { id: `${model.id}-title` }, model.title),
      s("desc", { id: `${model.id}-desc` }, `${model.desc} The table below has every value.`));
    for (let v = 0; v <= yMax + 1e-9; v += yStep) {
      svg.append(
        s("line", { class: v === 0 ? "axis" : "grid", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }),
        s("text", { x: m.left - 6, y: y(v) + 4, "text-anchor": "end" }, (model.axis || model.format)(v)),
      );
    }
    const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 90))));
    let lastDay = "";
    for (let i = 0; i < n; i += every) {
      const t = model.times[i];
      const day = new Date(t).toDateString();
      const label = insightLabel(t, model.interval, model.interval === "hour" ? day !== lastDay : i === 0);
      lastDay = day;
      svg.append(s("text", { x: xMid(i), y: height - m.bottom + 18, "text-anchor": "middle" }, label));
    }
    const tip = (one, i) => s("title", {}, `${one.label}: ${model.format(one.values[i])} · ${new Date(model.times[i]).toISOString()}`);
    if (bars) {
      const stacked = new Array(n).fill(0);
      model.series.forEach((one) => {
        const group = s("g", { class: "series", "data-series": one.label });
        one.values.forEach((value, i) => {
          if (!value) return;
          const gap = bw > 4 ? Math.min(3, bw * 0.2) : 0;
          const top = y(stacked[i] + value);
          group.append(s("rect", {
            class: `bar ${one.color}`, x: m.left + i * bw + gap / 2, y: top, width: Math.max(1.5, bw - gap),
            height: Math.max(0.5, y(stacked[i]) - top), "data-value": value,
          }, tip(one, i)));
          stacked[i] += value;
        });
        svg.append(group);
      });
    } else {
      const radius = n <= 60 ? 3.5 : 2;
      model.series.forEach((one) => {
        const group = s("g", { class: "series", "data-series": one.label });
        let path = "";
        one.values.forEach((value, i) => {
          if (value === null || value === undefined) return;
          path += `${path && one.values[i - 1] !== null && one.values[i - 1] !== undefined ? "L" : "M"}${xMid(i).toFixed(1)},${y(value).toFixed(1)}`;
        });
        group.append(s("path", { class: `line ${one.color}`, d: path }));
        one.values.forEach((value, i) => {
          if (value === null || value === undefined) return;
          group.append(s("circle", { class: `dot ${one.color}`, cx: xMid(i), cy: y(value), r: radius, "data-value": value },
            tip(one, i)));
        });
        svg.append(group);
      });
    }
    holder.replaceChildren(svg);
  }

  function niceDecimalStep(max, ticks) {
    if (max >= ticks) return niceStep(max, ticks);
    const raw = Math.max(max, 1e-6) / ticks;
    const power = 10 ** Math.floor(Math.log10(raw));
    const scaled = raw / power;
    return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
  }

  function legend(id, entries) {
    return h("ul", { class: "legend", id, "aria-label": "Series and their totals" }, entries.map((e) =>
      h("li", { "data-series": e.label, "data-total": e.total },
        h("span", { class: `swatch ${e.color}`, "aria-hidden": "true" }),
        h("span", { class: "category" }, e.label),
        e.total === undefined ? null : h("strong", { class: "total" }, countText(e.total)))));
  }

  function dataTableOf(id, caption, head, rows, open) {
    return h("details", { class: "data-table", open: !!open },
      h("summary", {}, "Data table"),
      h("div", { class: "table-wrap" }, h("table", { id },
        h("caption", { class: "visually-hidden" }, caption),
        h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: i ? "num" : null }, c)))),
        h("tbody", {}, rows))));
  }

  function charts(list) {
    const draw = () => list.forEach(([holder, model]) => timeChart(holder, model));
    redrawChart = draw;
    return draw;
  }

  const seriesLabel = (breakdown, hasBreakdown, measure) => {
    if (!hasBreakdown) return measure === "sessions" ? "Sessions" : "Events";
    if (breakdown === OTHER) return "Other";
    if (breakdown === null || breakdown === undefined) return "(none)";
    return String(breakdown);
  };

  function showTrends(out, request, answer, chart) {
    const times = (answer.series[0] ? answer.series[0].points : []).map((p) => Date.parse(p.t));
    const hasBreakdown = !!request.breakdown;
    const series = answer.series.map((one, index) => ({
      label: seriesLabel(one.breakdown, hasBreakdown, request.measure),
      breakdown: one.breakdown,
      total: one.total,
      color: one.breakdown === OTHER ? "c7" : `c${index % (PALETTE_SIZE - 1)}`,
      values: one.points.map((p) => p.value),
    }));
    const measure = request.measure === "sessions" ? "sessions" : "events";
    const total = measure === "events" ? series.reduce((n, one) => n + one.total, 0) : null;
    const summary = h("p", { class: "summary", id: "insights-summary" },
      `${measure === "events" ? `${countText(total)} events` : "Sessions"} by ${answer.interval}` +
      (hasBreakdown ? `, broken down by ${request.breakdown} (${series.length} series)` : ""));
    if (!times.length) {
      out.replaceChildren(summary, h("p", { class: "empty" }, "No buckets in this period."));
      return;
    }
    const holder = h("div", { class: "chart-wrap" });
    const rows = answer.series[0].points.map((p, i) => h("tr", {}, h("th", { scope: "row" }, bucketEl(p.t, answer.interval)),
      series.map((one) => h("td", { class: "num" }, countText(one.values[i])))));
    rows.push(h("tr", { class: "total" }, h("th", { scope: "row" }, "Total"),
      series.map((one) => h("td", { class: "num" }, countText(one.total)))));
    out.replaceChildren(summary, legend("insights-legend", series), holder,
      dataTableOf("insights-table", "Values per bucket and series", [`Bucket (${answer.interval})`, ...series.map((o) => o.label)], rows, true));
    charts([[holder, {
      id: "insights-chart-svg", title: `${measure === "events" ? "Events" : "Sessions"} by ${answer.interval}`,
      desc: `${series.length} series over ${times.length} buckets.`, times, interval: answer.interval, series,
      style: chart === "bars" ? "bars" : "lines", unit: "count", format: countText,
    }]])();
    setStatus(`Trends: ${series.length} series over ${times.length} buckets.`);
  }

  function showFunnel(out, request, answer) {
    const steps = answer.steps;
    const first = steps.length ? steps[0].sessions : 0;
    const last = steps.length ? steps[steps.length - 1] : null;
    const summary = h("dl", { class: "summary", id: "insights-summary" },
      h("div", {}, h("dt", {}, "Entered"), h("dd", {}, countText(first))),
      h("div", {}, h("dt", {}, "Converted"), h("dd", { id: "funnel-converted" },
        last ? `${countText(last.sessions)} (${percentText(last.conversion)})` : "—")),
      h("div", {}, h("dt", {}, "Median time to convert"), h("dd", { id: "funnel-median" },
        secondsText(answer.median_seconds_to_convert))),
      h("div", {}, h("dt", {}, "Window"), h("dd", {}, duration((request.window_seconds || DEFAULT_WINDOW) * 1e6))));
    const holder = h("div", { class: "chart-wrap" });
    const draw = () => {
      const width = Math.max(280, Math.floor(holder.clientWidth || 800) - 2);
      const height = width < 500 ? 240 : 300;
      const m = { left: 44, right: 12, top: 34, bottom: 40 };
      const plotW = width - m.left - m.right;
      const plotH = height - m.top - m.bottom;
      const bw = plotW / Math.max(1, steps.length);
      const y = (v) => m.top + plotH - v * plotH;
      const svg = s("svg", { class: "chart funnel", id: "funnel-chart", viewBox: `0 0 ${width} ${height}`, width, height,
        role: "img", "aria-labelledby": "funnel-chart-title" },
      s("title", { id: "funnel-chart-title" }, "Sessions reaching each step, as a share of those entering"));
      for (const v of [0, 0.25, 0.5, 0.75, 1]) {
        svg.append(s("line", { class: v ? "grid" : "axis", x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }),
          s("text", { x: m.left - 6, y: y(v) + 4, "text-anchor": "end" }, percentText(v)));
      }
      steps.forEach((step, i) => {
        const x = m.left + i * bw + bw * 0.15;
        const w = bw * 0.7;
        const before = i ? steps[i - 1].conversion : 1;
        const dropped = i ? steps[i - 1].sessions - step.sessions : 0;
        const label = `${step.category} · ${step.name}`;
        const group = s("g", { class: "step", "data-step": i + 1, "data-sessions": step.sessions });
        if (i && before > step.conversion) {
          group.append(s("rect", { class: "dropped", x, y: y(before), width: w, height: y(step.conversion) - y(before) },
            s("title", {}, `${countText(dropped)} sessions dropped off before step ${i + 1} (${percentText(1 - step.from_previous)})`)));
        }
        group.append(
          s("rect", { class: "bar c0", x, y: y(step.conversion), width: w, height: Math.max(0.5, y(0) - y(step.conversion)) },
            s("title", {}, `Step ${i + 1}, ${label}: ${countText(step.sessions)} sessions, ${percentText(step.conversion)} of those entering` +
              (i ? `, ${percentText(step.from_previous)} of step ${i}` : ""))),
          s("text", { class: "value", x: x + w / 2, y: y(step.conversion) - 6, "text-anchor": "middle" },
            `${countText(step.sessions)} · ${percentText(step.conversion)}`),
          s("text", { class: "step-label", x: x + w / 2, y: height - m.bottom + 16, "text-anchor": "middle" },
            fitText(`${i + 1}. ${label}`, bw), s("title", {}, label)),
          i ? s("text", { class: "drop", x: x + w / 2, y: height - m.bottom + 32, "text-anchor": "middle" },
            `−${percentText(1 - step.from_previous)}`) : null,
        );
        svg.append(group);
      });
      holder.replaceChildren(svg);
    };
    const rows = steps.map((step, i) => h("tr", { "data-step": i + 1 },
      h("th", { scope: "row" }, `${i + 1}. ${step.category} · ${step.name}`),
      h("td", { class: "num" }, countText(step.sessions)),
      h("td", { class: "num" }, percentText(step.conversion)),
      h("td", { class: "num" }, i ? percentText(step.from_previous) : "—"),
      h("td", { class: "num" }, i ? `${countText(steps[i - 1].sessions - step.sessions)} (${percentText(1 - step.from_previous)})` : "—")));
    out.replaceChildren(summary, holder,
      dataTableOf("insights-table", "Sessions per step", ["Step", "Sessions", "Conversion", "From previous step", "Dropped off"], rows, true));
    redrawChart = draw;
    draw();
    setStatus(`Funnel of ${steps.length} steps: ${last ? percentText(last.conversion) : "no"} conversion.`);
  }

  function fitText(text, widthPx) {
    const chars = Math.max(4, Math.floor(widthPx / 6.5));
    return text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
  }

  function inlineBar(share, color) {
    const pct = Math.max(0, Math.min(1, share)) * 100;
    return s("svg", { class: "inline-bar", viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" },
      s("rect", { class: "track", x: 0, y: 0, width: 100, height: 10 }),
      s("rect", { class: color, x: 0, y: 0, width: pct.toFixed(2), height: 10 }));
  }

  function showTop(out, request, answer) {
    const measure = request.measure === "sessions" ? "sessions" : "events";
    const items = answer.items;
    const all = items.reduce((n, item) => n + item[measure], 0) + (answer.other ? answer.other[measure] : 0);
    const max = Math.max(1, ...items.map((item) => item[measure]), answer.other ? answer.other[measure] : 0);
    const cells = (value, events, sessions, attrs, color) => h("tr", attrs,
      h("th", { scope: "row" }, value),
      h("td", { class: "num" }, countText(events)),
      h("td", { class: "num" }, countText(sessions)),
      h("td", { class: "share" }, inlineBar((measure === "events" ? events : sessions) / max, color),
        h("span", { class: "hint" }, percentText(all ? (measure === "events" ? events : sessions) / all : 0))));
    const rows = items.map((item, i) => cells(
      item.value === null ? h("span", { class: "null" }, "NULL") : String(item.value),
      item.events, item.sessions, { "data-value": String(item.value), "data-rank": i + 1 }, "c0"));
    if (answer.other && (answer.other.events || answer.other.sessions)) {
      rows.push(cells(h("span", { class: "other" }, "Other values"), answer.other.events, answer.other.sessions,
        { class: "other-row", id: "top-other" }, "c7"));
    }
    out.replaceChildren(
      h("p", { class: "summary", id: "insights-summary" },
        `Top ${items.length} value${items.length === 1 ? "" : "s"} of ${answer.field}, by ${measure}`),
      items.length
        ? h("div", { class: "table-wrap" }, h("table", { id: "insights-table", class: "top-table" },
          h("caption", { class: "visually-hidden" }, `Values of ${answer.field}`),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, answer.field), h("th", { scope: "col", class: "num" }, "Events"),
            h("th", { scope: "col", class: "num" }, "Sessions"), h("th", { scope: "col" }, `Share of ${measure}`))),
          h("tbody", {}, rows)))
        : h("p", { class: "empty" }, `No event in this period has ${answer.field}.`),
    );
    redrawChart = null;
    setStatus(`Top ${items.length} values of ${answer.field}.`);
  }

  function showSessions(out, request, answer) {
    const points = answer.points;
    const times = points.map((p) => Date.parse(p.t));
    const total = points.reduce((n, p) => n + p.sessions, 0);
    const interval = request.interval || "day";
    const summary = h("p", { class: "summary", id: "insights-summary" }, `${countText(total)} sessions by ${interval}`);
    if (!times.length) {
      out.replaceChildren(summary, h("p", { class: "empty" }, "No buckets in this period."));
      return;
    }
    const panels = [
      ["sessions", "Sessions", "count", countText, "bars", "c0"],
      ["bounce_rate", "Bounce rate", "ratio", percentText, "lines", "c1"],
      ["median_duration_seconds", "Median duration", "seconds", secondsText, "lines", "c2"],
      ["median_events", "Median events per session", "number", decimalText, "lines", "c4"],
    ].map(([key, title, unit, format, style, color]) => {
      const holder = h("div", { class: "chart-wrap" });
      const model = {
        id: `sessions-${key.replace(/_/g, "-")}`, title, desc: `${title} by ${interval}.`, times, interval, unit, format,
        style, height: 190, series: [{ label: title, color, values: points.map((p) => p[key]) }],
        axis: unit === "seconds" ? secondsAxis : format,
      };
      return [h("figure", { class: "small-chart" }, h("figcaption", {}, title), holder), holder, model];
    });
    const rows = points.map((p) => h("tr", {}, h("th", { scope: "row" }, bucketEl(p.t, interval)),
      h("td", { class: "num" }, countText(p.sessions)), h("td", { class: "num" }, percentText(p.bounce_rate)),
      h("td", { class: "num" }, secondsText(p.median_duration_seconds)), h("td", { class: "num" }, decimalText(p.median_events))));
    out.replaceChildren(summary, h("div", { class: "chart-grid" }, panels.map(([figure]) => figure)),
      dataTableOf("insights-table", "Sessions per bucket", [`Bucket (${interval})`, "Sessions", "Bounce rate", "Median duration",
        "Median events"], rows, true));
    charts(panels.map(([, holder, model]) => [holder, model]))();
    setStatus(`${total} sessions by ${interval}.`);
  }

  const SHOW_INSIGHT = { trends: showTrends, funnel: showFunnel, top: showTop, sessions: showSessions };

  async function renderInsights(target, gen) {
    let request = null;
    try {
      request = JSON.parse(target.params.get("q") || "null");
    } catch (e) {
      request = null;
    }
    if (!isObject(request) || !INSIGHT_KINDS.includes(request.kind)) request = { kind: "trends", interval: "day" };
    const chart = target.params.get("chart");
    fillInsightForm(request, chart);
    const out = $("insights-result");
    const to = request.to || new Date(Math.ceil(Date.now() / 60e3) * 60e3).toISOString();
    const from = request.from || new Date(Date.parse(to) - 7 * DAY_MS).toISOString();
    periodFields(from, to).then((fields) => { if (gen === generation) offerFields(fields); })
      .catch(() => { if (gen === generation) $("insights-fields-hint").textContent = "The fields of this period could not be read."; });
    if (request.kind === "funnel" && !(Array.isArray(request.steps) && request.steps.length >= 2 &&
      request.steps.every((step) => isObject(step) && step.category && step.name))) {
      out.replaceChildren(hint("Pick the category and name of each step (2 to 10), then show the funnel."));
      return;
    }
    if (request.kind === "top" && !request.field) {
      out.replaceChildren(hint("Pick a field (page_path, country, data.plan, …), then show its top values."));
      return;
    }
    out.replaceChildren(hint("Loading…"));
    const first = await call("insights", null, request);
    if (gen !== generation) return;
    const answer = await settled(first, "insights", out, gen);
    if (answer === null || gen !== generation) return;
    SHOW_INSIGHT[answer.kind || request.kind](out, request, answer, chart);
  }

  function bindInsights() {
    const form = $("insights-form");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      go(insightHash(readInsightForm(), $("insights-chart").value));
    });
    for (const radio of form.querySelectorAll('input[name="kind"]')) {
      radio.addEventListener("change", () => showKindFields(checkedKind()));
    }
    $("insights-add-step").addEventListener("click", () => {
      if (document.querySelectorAll("#insights-steps li").length >= MAX_STEPS) return;
      $("insights-steps").append(stepRow({}));
      renumberSteps();
    });
    $("insights-add-filter").addEventListener("click", () => {
      const row = filterRow({});
      $("insights-where").append(row);
      row.querySelector(".cond-field").focus();
    });
  }

  // ------------------------------------------------------------------ SQL
  // The statement lives in the URL (#sql?q=...), so a link runs it again. A statement Athena has
  // not finished within 20 s answers 202 with a query_id, asked again (GET sql/<id>) until done.
  const SQL_EXAMPLES = [
    ["Events by category", "SELECT category, count(*) AS events\nFROM events\nGROUP BY category\nORDER BY events DESC"],
    [
      "Top pages",
      "SELECT page_path, count(*) AS views, approx_distinct(session_id) AS sessions\nFROM events\n" +
        "WHERE name = 'pageview' AND page_path IS NOT NULL AND NOT coalesce(bot, false)\n" +
        "GROUP BY page_path\nORDER BY views DESC\nLIMIT 20",
    ],
    [
      "Sessions by referrer medium",
      "SELECT coalesce(referrer_medium, '(none)') AS medium, approx_distinct(session_id) AS sessions\n" +
        "FROM events\nWHERE NOT coalesce(bot, false)\nGROUP BY 1\nORDER BY sessions DESC",
    ],
    [
      "Bot share by day",
      "SELECT date_trunc('day', event_time) AS day, count(*) AS events, count_if(bot) AS bot_events,\n" +
        "       round(100.0 * count_if(bot) / count(*), 1) AS bot_percent\nFROM events\nGROUP BY 1\nORDER BY 1",
    ],
    [
      "Events with a data field",
      "SELECT event_time, session_id, name, json_extract_scalar(data, '$.path') AS path\nFROM events\n" +
        "WHERE category = 'page interaction'\nORDER BY event_time DESC\nLIMIT 100",
    ],
  ];
  const SQL_MAX_ROWS = ["100", "1000", "10000"];
  const SQL_SHOWN_ROWS = 1000; // rows drawn at once; the CSV holds every row of the answer
  const POLL_MS = [1000, 1000, 2000, 3000, 5000]; // then every 5 s
  const NUMERIC_TYPE = /^(tinyint|smallint|integer|int|bigint|real|double|float|decimal|numeric)\b/;

  /** Ask again for a statement (or insight) still running until it answers; spinner meanwhile. */
  async function settled(first, path, out, gen) {
    let answer = first;
    let polls = 0;
    const began = Date.now();
    while (answer.status === 202) {
      const id = answer.body && answer.body.query_id;
      if (!id) throw new Error("the API answered 202 without a query_id");
      out.replaceChildren(
        h("p", { class: "running", id: `${path}-running`, role: "status" },
          h("span", { class: "spinner", "aria-hidden": "true" }),
          ` Running… ${Math.round((Date.now() - began) / 1000)} s `,
          h("span", { class: "id" }, `(${id})`)),
      );
      await new Promise((done) => window.setTimeout(done, POLL_MS[Math.min(polls, POLL_MS.length - 1)]));
      if (gen !== generation) return null;
      polls += 1;
      answer = await call(`${path}/${encodeURIComponent(id)}`);
      if (gen !== generation) return null;
    }
    return answer.body;
  }

  const isNumericType = (type) => NUMERIC_TYPE.test(String(type).toLowerCase());

  function cellText(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function sqlCell(value, numeric) {
    if (value === null || value === undefined) return h("td", { class: "null" }, "NULL");
    const attrs = { class: numeric || typeof value === "number" ? "num" : null };
    if (typeof value === "boolean") attrs.class = "bool";
    else if (typeof value === "object") attrs.class = "mono";
    return h("td", attrs, cellText(value));
  }

  /** RFC 4180: every field quoted when it holds a quote, comma or line break; lines end CRLF. */
  function csvText(columns, rows) {
    const field = (value) => {
      const text = cellText(value);
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    };
    return [columns.map((c) => field(c.name)), ...rows.map((row) => row.map(field))]
      .map((line) => line.join(",")).join("\r\n") + "\r\n";
  }

  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60e3);
  }

  function stamp(date) {
    return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}-` +
      `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  }

  function sqlTable(result, shown) {
    const numeric = result.columns.map((c) => isNumericType(c.type));
    return h(
      "table",
      { id: "sql-table", class: "sql-table" },
      h("caption", { class: "visually-hidden" }, "Result of the statement"),
      h("thead", {}, h("tr", {}, result.columns.map((c, i) =>
        h("th", { scope: "col", class: numeric[i] ? "num" : null, "data-type": c.type },
          h("span", { class: "col-name" }, c.name), h("span", { class: "col-type" }, c.type))))),
      h("tbody", {}, result.rows.slice(0, shown).map((row) =>
        h("tr", {}, row.map((value, i) => sqlCell(value, numeric[i]))))),
    );
  }

  function showSqlResult(out, result) {
    const n = result.rows.length;
    const rowsText = `${n} row${n === 1 ? "" : "s"}`;
    const holder = h("div", { class: "table-wrap" });
    const more = h("div", { class: "pager" });
    const draw = (shown) => {
      holder.replaceChildren(sqlTable(result, shown));
      more.replaceChildren();
      if (n > shown) {
        more.append(
          h("span", { class: "hint" }, `The first ${shown} of ${n} rows are shown; the CSV holds them all.`),
          h("button", { type: "button", class: "quiet", id: "sql-show-all", onclick: () => draw(n) }, `Show all ${n} rows`),
        );
      }
    };
    const summary = h(
      "dl",
      { class: "summary", id: "sql-summary" },
      h("div", {}, h("dt", {}, "Rows"), h("dd", { id: "sql-rows" }, String(n))),
      result.truncated
        ? h("div", {}, h("dd", {}, h("span", { class: "badge warn", id: "sql-truncated",
          title: "The result had more rows than asked for: raise the limit or narrow the statement" }, "truncated")))
        : null,
      h("div", {}, h("dt", {}, "Engine"), h("dd", { id: "sql-engine" }, result.engine)),
      h("div", {}, h("dt", {}, "Took"), h("dd", { id: "sql-elapsed" }, `${result.elapsed_ms} ms`)),
      h("div", { title: "Every event stored before this instant is in the table the statement read" },
        h("dt", {}, "As of"), h("dd", { id: "sql-as-of" }, timeEl(result.as_of))),
    );
    const csv = h("button", {
      type: "button",
      class: "quiet",
      id: "sql-csv",
      onclick: () => download(`theeye-sql-${stamp(new Date())}.csv`, "text/csv;charset=utf-8",
        csvText(result.columns, result.rows)),
    }, "Download CSV");
    out.replaceChildren(h("div", { class: "result-head" }, summary, csv), holder, more);
    draw(Math.min(n, SQL_SHOWN_ROWS));
    if (!n) holder.append(h("p", { class: "empty" }, "No rows."));
    setStatus(`${rowsText}${result.truncated ? ", truncated" : ""}.`);
  }

  function sqlError(error) {
    const box = $("sql-error");
    box.replaceChildren(
      error.code ? h("strong", {}, `${error.code}: `) : null,
      error instanceof ApiError ? error.plain : String(error.message),
    );
    box.hidden = false;
  }

  async function renderSql(target, gen) {
    const sql = target.params.get("q") || "";
    const maxRows = SQL_MAX_ROWS.includes(target.params.get("max_rows")) ? target.params.get("max_rows") : "1000";
    const text = $("sql-text");
    if (text.value !== sql) text.value = sql;
    $("sql-max-rows").value = maxRows;
    $("sql-error").replaceChildren();
    $("sql-error").hidden = true;
    const out = $("sql-result");
    if (!sql.trim()) {
      out.replaceChildren(hint("Write a statement, or pick an example, then run it."));
      return;
    }
    out.replaceChildren(hint("Loading…"));
    $("sql-run").disabled = true;
    try {
      const first = await call("sql", null, { sql, max_rows: Number(maxRows) });
      if (gen !== generation) return;
      const result = await settled(first, "sql", out, gen);
      if (result === null || gen !== generation) return;
      showSqlResult(out, result);
    } catch (error) {
      if (gen !== generation) return;
      if (error instanceof ApiError && error.status !== 401 && error.status !== 403) {
        sqlError(error); // shown in place, under the statement
        out.replaceChildren();
        setStatus(error.message);
        return;
      }
      throw error;
    } finally {
      if (gen === generation) $("sql-run").disabled = false;
    }
  }

  function runSql() {
    const sql = $("sql-text").value;
    if (!sql.trim()) {
      $("sql-text").focus();
      return;
    }
    go(hashFor("sql", { q: sql, max_rows: $("sql-max-rows").value === "1000" ? "" : $("sql-max-rows").value }));
  }

  function bindSql() {
    $("sql-form").addEventListener("submit", (e) => {
      e.preventDefault();
      runSql();
    });
    $("sql-text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        runSql();
      }
    });
    $("sql-examples").replaceChildren(...SQL_EXAMPLES.map(([label, sql]) =>
      h("li", {}, h("button", {
        type: "button",
        class: "quiet example",
        title: sql,
        onclick: () => {
          $("sql-text").value = sql;
          runSql();
        },
      }, label))));
  }

  const RENDERERS = {
    timeline: renderTimeline,
    sessions: renderSessions,
    explorer: renderExplorer,
    volume: renderVolume,
    insights: renderInsights,
    sql: renderSql,
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
    bindInsights();
    bindSql();

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
      focusHeading = document.activeElement !== $("sql-text"); // Ctrl+Enter keeps the caret in the statement
      route();
    });
    route();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
