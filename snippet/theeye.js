/*! The Eye browser snippet | theeye.init({key, endpoint}); theeye.track(category, name, data) */
(function (window, document) {
  "use strict";

  if (window.theeye && window.theeye.version) return; // loaded twice: keep the first

  var SESSION_STORAGE = "theeye.session";
  var MAX_BATCH = 500; // events per request the API takes
  var KEEPALIVE_BYTES = 60000; // browsers cap keepalive bodies at 64 KiB
  var MAX_BODY_BYTES = 1048576; // the API refuses a larger request
  var MAX_CONTEXT_BYTES = 4096; // it refuses an event whose context, as compact JSON, is larger
  var CUT_FIRST = ["referrer", "title", "url"]; // what gives way when the page's context is too large
  var CTA = "data-theeye-cta";
  var FORM_VALUES = "data-theeye-form-values";
  var SKIPPED_FIELDS = /^(password|file|hidden|submit|button|reset|image)$/;

  var config = null;
  var queue = [];
  var timer = 0;
  var retryDelay = 0;
  var sessionId = null;
  var listening = false;

  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null; // blocked (sandboxed frame, privacy settings)
    }
  }

  /** A random UUID: crypto.randomUUID where it exists, else one built from random bytes. */
  function randomId() {
    var c = window.crypto;
    var bytes = new Uint8Array(16);
    var hex = "";
    var i;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    for (i = 0; i < 16; i++) hex += (bytes[i] + 256).toString(16).slice(1);
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  /** The tab's session id: the one given, else the one this tab already has, else a new one. */
  function session(given) {
    var store = storage();
    var id = given;
    try {
      if (!id && store) id = store.getItem(SESSION_STORAGE);
      id = id ? String(id).slice(0, 128) : randomId();
      if (store) store.setItem(SESSION_STORAGE, id);
    } catch (e) {
      id = id || randomId();
    }
    return id;
  }

  function where(data) {
    var location = window.location;
    data.host = location.hostname || location.host || "localhost";
    data.path = location.pathname || "/";
    return data;
  }

  /** Bytes of text as UTF-8, as the API counts them. */
  function bytes(text) {
    return new Blob([text]).size;
  }

  /** At most n characters of text, never half of a surrogate pair (the API refuses those). */
  function cut(text, n) {
    return String(text || "").slice(0, Math.max(0, n)).replace(/[\ud800-\udbff]$/, "");
  }

  /**
   * What only the page knows about the visit, within the API's limits. The URL goes without its
   * fragment and the referrer without its query and fragment: the API keeps neither (it reads
   * the utm_* parameters of the URL's query). Too large a whole cuts the referrer, then the
   * title, then the URL.
   */
  function context() {
    var screen = window.screen || {};
    var page = {
      url: cut(window.location.href.split("#")[0], 2048),
      referrer: cut(document.referrer.split(/[?#]/)[0], 2048),
      title: cut(document.title, 512)
    };
    var sent = {
      page: page,
      locale: cut(window.navigator.language, 64),
      screen: { width: ~~screen.width, height: ~~screen.height } // integers, 0 when unknown
    };
    var over;
    var i;
    try {
      sent.timezone = cut(Intl.DateTimeFormat().resolvedOptions().timeZone, 64);
    } catch (e) {
      // no Intl: the time zone stays unknown
    }
    for (i = 0; i < CUT_FIRST.length && (over = bytes(JSON.stringify(sent)) - MAX_CONTEXT_BYTES) > 0; i++) {
      page[CUT_FIRST[i]] = cut(page[CUT_FIRST[i]], page[CUT_FIRST[i]].length - over);
    }
    return sent;
  }

  function copy(data) {
    try {
      var value = JSON.parse(JSON.stringify(data));
      return value && typeof value === "object" && !(value instanceof Array) ? value : {};
    } catch (e) {
      return {}; // not serialisable (cycles): send no data rather than nothing
    }
  }

  /** Queue one event; returns its event id. Events tracked before init are sent after it. */
  function track(category, name, data) {
    var event = {
      event_id: randomId(),
      session_id: sessionId,
      category: String(category).slice(0, 128),
      name: String(name).slice(0, 128),
      data: copy(data || {}),
      timestamp: new Date().toISOString(), // UTC, milliseconds
      context: context()
    };
    if (config && queue.length >= config.maxQueue) return null; // cannot deliver: drop rather than grow
    queue.push(event);
    if (config) {
      if (queue.length >= config.batchSize) flush(false);
      else schedule(config.flushInterval);
    }
    return event.event_id;
  }

  function schedule(delay) {
    if (!timer) {
      timer = window.setTimeout(function () {
        timer = 0;
        flush(false);
      }, delay);
    }
  }

  function beacon(body) {
    var navigator = window.navigator;
    if (!navigator.sendBeacon) return false;
    try {
      return navigator.sendBeacon(
        config.endpoint + "/events?key=" + encodeURIComponent(config.key),
        new Blob([body], { type: "text/plain" })
      );
    } catch (e) {
      return false;
    }
  }

  /** Events keep their ids, so a batch sent again is never stored twice. */
  function retry(batch) {
    queue = batch.concat(queue).slice(0, config.maxQueue);
    retryDelay = Math.min(retryDelay ? retryDelay * 2 : 1000, 60000);
    window.clearTimeout(timer);
    timer = 0;
    schedule(retryDelay);
  }

  function post(batch, body) {
    if (!window.fetch) {
      if (!beacon(body)) retry(batch);
      return;
    }
    window
      .fetch(config.endpoint + "/events", {
        method: "POST",
        keepalive: body.length < KEEPALIVE_BYTES,
        credentials: "omit",
        headers: { Authorization: "Bearer " + config.key, "Content-Type": "application/json" },
        body: body
      })
      .then(
        function (response) {
          if (response.status === 429 || response.status >= 500) retry(batch);
          else retryDelay = 0; // delivered, or refused for good (4xx): never resend those
        },
        function () {
          retry(batch); // offline or blocked
        }
      );
  }

  /** Every attempt says when it was sent (this clock), so the API removes the clock's offset;
   * the rest of each event is the same on every attempt. */
  function stamped(batch) {
    var now = new Date().toISOString();
    for (var i = 0; i < batch.length; i++) batch[i].sent_at = now;
    return batch;
  }

  /** Send everything queued, in batches the API takes (a batch too large is halved until it
   * fits). While the page goes away, sendBeacon is the one that gets out. */
  function flush(leaving) {
    var batch;
    var body;
    var size;
    window.clearTimeout(timer);
    timer = 0;
    if (!config) return;
    while (queue.length) {
      size = config.batchSize;
      do {
        batch = queue.slice(0, size);
        body = JSON.stringify(stamped(batch));
        size = Math.ceil(size / 2);
      } while (batch.length > 1 && bytes(body) > MAX_BODY_BYTES);
      queue.splice(0, batch.length);
      if (!leaving || !beacon(body)) post(batch, body);
    }
  }

  function onLeave() {
    if (document.visibilityState !== "visible") flush(true);
  }

  function onClick(event) {
    var el = event.target;
    var label;
    if (el && el.nodeType !== 1) el = el.parentNode;
    el = el && el.closest ? el.closest("[" + CTA + "]") : null;
    if (!el) return;
    label = el.getAttribute(CTA) || (el.textContent || "").replace(/\s+/g, " ").trim();
    track("page interaction", "cta click", where({ element: (label || el.tagName.toLowerCase()).slice(0, 256) }));
  }

  /** Field values, as strings, of a form that opted in (optionally only the fields it names). */
  function fieldValues(form, only) {
    var names = only ? only.split(/[\s,]+/) : null;
    var values = {};
    var elements = form.elements;
    var i;
    var j;
    var el;
    var type;
    var value;
    for (i = 0; i < elements.length; i++) {
      el = elements[i];
      type = String(el.type || "").toLowerCase();
      if (!el.name || el.disabled || typeof el.value !== "string" || SKIPPED_FIELDS.test(type)) continue;
      if (names && names.indexOf(el.name) < 0) continue;
      if ((type === "checkbox" || type === "radio") && !el.checked) continue;
      value = el.value;
      if (type === "select-multiple") {
        value = [];
        for (j = 0; j < el.options.length; j++) if (el.options[j].selected) value.push(el.options[j].value);
        value = value.join(",");
      }
      values[el.name] = Object.prototype.hasOwnProperty.call(values, el.name) ? values[el.name] + "," + value : value;
    }
    return values;
  }

  function onSubmit(event) {
    var form = event.target;
    var only;
    if (!form || form.tagName !== "FORM") return;
    only = form.getAttribute(FORM_VALUES);
    track("form interaction", "submit", where({ form: only === null ? {} : fieldValues(form, only) }));
  }

  function pageview() {
    return track("page interaction", "pageview", where({}));
  }

  /**
   * theeye.init({key, endpoint, session?, pageview?, clicks?, forms?, batchSize?, flushInterval?})
   * key: an ingest key; endpoint: the API's base URL. Automatic events are on unless set to false.
   */
  function init(options) {
    var i;
    options = options || {};
    if (!options.key || !options.endpoint) throw new TypeError("theeye.init needs a key and an endpoint");
    config = {
      key: String(options.key),
      endpoint: String(options.endpoint).replace(/\/+$/, ""),
      batchSize: Math.max(1, Math.min(MAX_BATCH, options.batchSize || 20)),
      flushInterval: options.flushInterval >= 0 ? options.flushInterval : 1000,
      maxQueue: options.maxQueue || 1000
    };
    sessionId = session(options.session);
    for (i = 0; i < queue.length; i++) if (!queue[i].session_id) queue[i].session_id = sessionId;
    if (!listening) {
      listening = true;
      window.addEventListener("pagehide", function () {
        flush(true);
      });
      document.addEventListener("visibilitychange", onLeave);
      if (options.clicks !== false) document.addEventListener("click", onClick, true);
      if (options.forms !== false) document.addEventListener("submit", onSubmit, true);
      if (options.pageview !== false) pageview();
    }
    if (queue.length) schedule(config.flushInterval);
    return sessionId;
  }

  window.theeye = {
    version: "1.0.0",
    init: init,
    track: track,
    pageview: pageview,
    flush: function () {
      flush(false);
    },
    session: function () {
      return sessionId;
    }
  };
})(window, document);
