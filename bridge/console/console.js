// The bridge's operator console (docs/console.md). Everything shown comes from requests that
// anyone on the internet may have sent, so the page is built with createElement and textContent
// only: no HTML is ever parsed from data.
"use strict";

(() => {
  const MAX_ROWS = 200;
  const VIEWS = ["endpoints", "events", "rejections", "health"];
  const byId = (id) => document.getElementById(id);

  // el makes an element with a class and text (or children).
  function el(tag, className, content) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (Array.isArray(content)) e.append(...content);
    else if (content !== undefined && content !== null) e.textContent = String(content);
    return e;
  }

  function timeText(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toISOString().replace("T", " ");
  }

  function timeEl(iso) {
    const t = el("time", null, timeText(iso));
    if (iso) t.dateTime = String(iso);
    return t;
  }

  function bytesText(n) {
    if (n < 1024) return n + " B";
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let v = n, u = -1;
    do { v /= 1024; u++; } while (v >= 1024 && u < units.length - 1);
    return v.toFixed(v < 10 ? 1 : 0) + " " + units[u];
  }

  function limitText(n, fmt) {
    return n < 0 ? "no limit" : fmt(n);
  }

  // A data request that finds the session gone shows the sign-in page again.
  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (r.status === 401) {
      location.reload();
      throw new Error("signed out");
    }
    const data = await r.json();
    if (!r.ok) throw new Error(data && data.error ? data.error : "HTTP " + r.status);
    return data;
  }

  function setLive(text, state) {
    const live = byId("live");
    live.textContent = text;
    live.dataset.state = state;
  }

  // Views: one shown at a time, chosen by the location's hash (the nav's links).
  function currentView() {
    const name = location.hash.slice(1);
    return VIEWS.includes(name) ? name : "endpoints";
  }

  function showView() {
    const name = currentView();
    for (const v of VIEWS) byId(v).hidden = v !== name;
    for (const a of document.querySelectorAll("nav a")) {
      if (a.getAttribute("href") === "#" + name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  // Endpoints: every second from the live stream (the counters are sampled that often).
  // data-updates counts the renders, so that a test can tell they follow the health's.
  function count(e) {
    e.dataset.updates = String(Number(e.dataset.updates || 0) + 1);
  }

  // breakAfterDots lets a long type (com.stripe.payment_intent.succeeded) wrap after its dots
  // rather than inside a word: text nodes with a <wbr> after each dot.
  function breakAfterDots(text) {
    const parts = String(text).split(".");
    return parts.flatMap((p, i) => (i < parts.length - 1 ? [p + ".", document.createElement("wbr")] : [p]));
  }

  function renderEndpoints(endpoints) {
    const body = byId("endpoints-table").tBodies[0];
    const rows = endpoints.map((ep) => {
      const tr = el("tr");
      tr.setAttribute("data-endpoint", ep.id);
      const allowFrom = ep.allow_from && ep.allow_from.length ? "yes: " + ep.allow_from.join(", ") : "no";
      let lastEvent = "none";
      if (ep.last_event) lastEvent = [timeEl(ep.last_event.time), " ", el("span", "type", breakAfterDots(ep.last_event.type))];
      let lastRejection = "none";
      if (ep.last_rejection) {
        lastRejection = [timeEl(ep.last_rejection.time), " ", el("span", "reason", ep.last_rejection.reason),
          ": ", el("span", "diagnosis", ep.last_rejection.diagnosis)];
      }
      let secret = ep.secrets ? "none yet" : "no secrets";
      if (ep.secret >= 0) secret = "secrets[" + ep.secret + "]" + (ep.secrets > 1 ? " of " + ep.secrets : "");
      const th = el("th", "id", ep.id);
      th.scope = "row";
      tr.append(th,
        el("td", "provider", ep.provider),
        el("td", "proof", ep.proof),
        el("td", "allow-from", allowFrom),
        el("td", "allow-unsigned", ep.allow_unsigned ? "yes" : "no"),
        el("td", "accepted", ep.accepted),
        el("td", "rejected", ep.rejected),
        el("td", "retry", ep.retry),
        el("td", "last-event", lastEvent),
        el("td", "last-rejection", lastRejection),
        el("td", "secret", secret));
      return tr;
    });
    body.replaceChildren(...rows);
    count(byId("endpoints-table"));
  }

  // Events and rejections: rows from the live stream, newest at the top, at most MAX_ROWS.
  const feeds = {
    event: {
      table: "events-table", api: "events",
      filters: { endpoint: "events-filter-endpoint", kind: "events-filter-type" },
      fill(tr, row) {
        tr.setAttribute("data-event-id", row.id);
        tr.dataset.kind = row.type;
        tr.append(el("td", "time", [timeEl(row.time)]), el("td", "endpoint", row.endpoint), el("td", "type", row.type),
          el("td", "subject", row.subject), el("td", "size", bytesText(row.size)));
      },
      title(d) { return "Event " + ((d.row && d.row.id) || d.seq); },
    },
    rejection: {
      table: "rejections-table", api: "rejections",
      filters: { endpoint: "rejections-filter-endpoint", kind: "rejections-filter-reason" },
      fill(tr, row) {
        tr.setAttribute("data-reason", row.reason);
        tr.dataset.kind = row.reason;
        tr.append(el("td", "time", [timeEl(row.time)]), el("td", "endpoint", row.endpoint), el("td", "reason", row.reason),
          el("td", "diagnosis", row.diagnosis), el("td", "remote", row.remote));
      },
      title(d) { return "Refused request: " + ((d.row && d.row.reason) || d.seq); },
    },
  };

  function matches(feed, tr) {
    const endpoint = byId(feed.filters.endpoint).value.trim().toLowerCase();
    const kind = byId(feed.filters.kind).value.trim().toLowerCase();
    return (tr.dataset.endpoint || "").toLowerCase().includes(endpoint) && (tr.dataset.kind || "").toLowerCase().includes(kind);
  }

  function addRow(name, row) {
    const feed = feeds[name];
    const body = byId(feed.table).tBodies[0];
    const seq = Number(row.seq);
    let before = null;
    for (const r of body.rows) {
      const s = Number(r.dataset.seq);
      if (s === seq) return; // already shown (a reconnect sends the latest rows again)
      if (s < seq) { before = r; break; }
    }
    const tr = el("tr");
    tr.tabIndex = 0;
    tr.dataset.seq = String(seq);
    tr.dataset.endpoint = row.endpoint;
    feed.fill(tr, row);
    tr.hidden = !matches(feed, tr);
    body.insertBefore(tr, before);
    while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
  }

  function applyFilters(name) {
    const feed = feeds[name];
    for (const tr of byId(feed.table).tBodies[0].rows) tr.hidden = !matches(feed, tr);
  }

  // The detail: fetched only when a row is opened, shown in a modal dialog; closing it (Escape,
  // or the button) returns the focus to the row.
  const detail = byId("detail");
  let opener = null;
  let opening = 0;

  async function openDetail(name, tr) {
    const feed = feeds[name];
    opener = tr;
    const mine = ++opening;
    let d;
    try {
      d = await getJSON("/console/api/" + feed.api + "/" + encodeURIComponent(tr.dataset.seq));
    } catch (err) {
      if (mine !== opening) return;
      byId("detail-title").textContent = "Could not open it";
      byId("detail-note").textContent = err.message;
      byId("detail-headers").tBodies[0].replaceChildren();
      byId("detail-body").textContent = "";
      if (!detail.open) detail.showModal();
      return;
    }
    if (mine !== opening) return;
    byId("detail-title").textContent = feed.title(d);
    let note = d.subject + " · " + d.stream + " #" + d.seq + " · " + timeText(d.time) + " · " + bytesText(d.size);
    if (d.format === "hex") note += " · not text: shown as hex";
    if (d.format === "empty") note += " · no body";
    if (d.truncated) note += " · cut: only the first 64 KiB are shown";
    byId("detail-note").textContent = note;
    byId("detail-headers").tBodies[0].replaceChildren(...(d.headers || []).map(([name, value]) => {
      const th = el("th", null, name);
      th.scope = "row";
      return el("tr", null, [th, el("td", null, value)]);
    }));
    const pre = byId("detail-body");
    pre.textContent = d.body;
    pre.dataset.format = d.format;
    if (!detail.open) detail.showModal();
  }

  // (The close event comes after the dialog has closed, possibly after another row was opened:
  // it only moves the focus.)
  detail.addEventListener("close", () => {
    if (opener && opener.isConnected) opener.focus();
  });
  byId("detail-close").addEventListener("click", () => detail.close());
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && detail.open) {
      e.preventDefault();
      detail.close();
    }
  });

  for (const name of Object.keys(feeds)) {
    const feed = feeds[name];
    const body = byId(feed.table).tBodies[0];
    body.addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-seq]");
      if (tr) openDetail(name, tr);
    });
    body.addEventListener("keydown", (e) => {
      if ((e.key === "Enter" || e.key === " ") && e.target.matches("tr[data-seq]")) {
        e.preventDefault();
        openDetail(name, e.target);
      }
    });
    for (const id of Object.values(feed.filters)) byId(id).addEventListener("input", () => applyFilters(name));
  }

  // Health, every second from the live stream.
  function setHealth(key, text, state) {
    const e = document.querySelector('[data-health="' + key + '"]');
    if (!e) return;
    e.textContent = text;
    if (state) e.dataset.state = state;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function streamText(s) {
    let t = plural(s.messages, "message", "messages") + " of " + limitText(s.max_msgs, String) + " · " + bytesText(s.bytes) + " of " +
      limitText(s.max_bytes, bytesText) + " · kept " + s.max_age;
    if (s.error) t += " · " + s.error;
    return t;
  }

  function renderHealth(h) {
    const n = h.nats;
    setHealth("nats", (n.connected ? "connected" : "disconnected") + " (" + n.server + ")" + (n.ready === "ready" ? "" : " · not ready: " + n.ready),
      n.connected && n.ready === "ready" ? "good" : "bad");
    setHealth("stream", h.stream.name + ": " + streamText(h.stream), h.stream.error ? "bad" : "good");
    setHealth("duplicate-window", h.duplicate_window);
    setHealth("rejections", h.rejections ? h.rejections.name + ": " + streamText(h.rejections) : "not kept (rejections.enabled: false)");
    if (h.leaf) {
      setHealth("leaf", h.leaf.connected ? "up" : "down", h.leaf.connected ? "good" : "bad");
      setHealth("backlog", plural(h.leaf.backlog, "message", "messages") + " (local last " + h.leaf.last_seq + ", on the hub up to " + h.leaf.forwarded_seq +
        "; the hub last answered " + (h.leaf.hub_answered ? timeText(h.leaf.hub_answered) : "never") + ")", h.leaf.backlog > 0 ? "bad" : "good");
    }
    setHealth("feeds", String(h.feeds));
    renderSamples(h.live || []);
    count(byId("health"));
  }

  // A feed faster than a page can follow (about 100 rows a second) shows a sample: the page says
  // so, with the stream's rate, so that the rows are not taken for all of them.
  function renderSamples(live) {
    for (const name of Object.keys(feeds)) {
      const note = byId(feeds[name].api + "-sample");
      const s = live.find((f) => f.kind === name);
      note.hidden = !(s && s.sample);
      if (s && s.sample) {
        note.textContent = "Showing a sample: about " + Math.round(s.per_second) + " " + feeds[name].api + "/s arrive, more than a page can follow; " +
          plural(s.skipped, "row was", "rows were") + " skipped since the page opened.";
      }
    }
  }

  // The live stream: rows and health. The browser reconnects on its own after a network error;
  // after an HTTP error (401: signed out) it does not, so the page asks why and tries again.
  function connect() {
    const es = new EventSource("/console/api/stream");
    es.addEventListener("open", () => setLive("live", "good"));
    es.addEventListener("event", (e) => addRow("event", JSON.parse(e.data)));
    es.addEventListener("rejection", (e) => addRow("rejection", JSON.parse(e.data)));
    es.addEventListener("health", (e) => renderHealth(JSON.parse(e.data)));
    es.addEventListener("endpoints", (e) => renderEndpoints(JSON.parse(e.data).endpoints || []));
    es.addEventListener("error", () => {
      setLive("reconnecting…", "bad");
      if (es.readyState === EventSource.CLOSED) {
        setTimeout(() => getJSON("/console/api/health").then(connect, () => setTimeout(connect, 3000)), 2000);
      }
    });
  }

  window.addEventListener("hashchange", showView);
  showView();
  connect();
})();
