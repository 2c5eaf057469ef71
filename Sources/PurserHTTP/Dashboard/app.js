// Purser operator dashboard. Plain JavaScript, no dependencies.
//
// Every piece of data is put into the DOM with textContent or element properties, never as
// HTML: customer messages, tool arguments and config values are hostile input.
(function () {
  "use strict";

  var TOKEN_KEY = "purser.token";
  var ROLE_RANK = { viewer: 1, operator: 2, admin: 3 };
  // Event types of eventlog/EVENTS.md; the SSE stream names each message by its type.
  var EVENT_TYPES = [
    "agent.configured", "agent.status_changed", "approval.expired", "approval.granted",
    "approval.rejected", "approval.requested", "contact.resolved", "cost.charged",
    "guardrail.tripped", "link.created", "link.deleted", "llm.completed", "llm.failed",
    "message.delivered", "message.drafted", "message.received", "message.rejected", "message.sent",
    "message.unrouted", "object.created", "object.deleted", "object.updated", "session.closed",
    "session.handed_off", "session.opened", "session.released", "tool.denied", "tool.executed",
    "tool.failed", "tool.requested", "usage.cost"
  ];

  var state = {
    token: null,
    org: null,
    role: null,
    label: null,
    tools: [],              // GET /api/tools: [{name, implemented, description, category, sentence}]
    categories: [],         // the action categories, from the same answer
    channels: [],           // GET /api/channels: [{name, label}], in registry order
    panel: "sessions",
    sessionId: null,        // the open session
    session: null,
    transcriptSeqs: {},     // seq -> true for the open transcript
    activityNext: null,
    activityTopSeq: null,
    agent: null,            // last GET /agent
    settingsDirty: false,
    chatSessionId: null,
    events: null,           // EventSource
    reconnectTimer: null,
    reconnectDelay: 1000,
    pending: {}             // debounced refresh timers
  };

  // ---------------------------------------------------------------- helpers

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key === "text") node.textContent = String(value);
        else if (key === "className") node.className = value;
        else if (key === "dataset") Object.keys(value).forEach(function (d) { node.dataset[d] = String(value[d]); });
        else if (key.slice(0, 2) === "on" && typeof value === "function") node.addEventListener(key.slice(2), value);
        else if (value === true) node.setAttribute(key, "");
        else node.setAttribute(key, String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  /// Any JSON value as display text.
  function asText(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (typeof value === "object" && typeof value.text === "string") return value.text;
    try { return JSON.stringify(value); } catch (e) { return String(value); }
  }

  function pretty(value) {
    if (value === undefined) return "";
    if (typeof value === "string") {
      try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; }
    }
    try { return JSON.stringify(value, null, 2); } catch (e) { return String(value); }
  }

  function toDate(ts) {
    if (ts === null || ts === undefined || ts === "") return null;
    var d = typeof ts === "number" ? new Date(ts > 1e12 ? ts : ts * 1000) : new Date(ts);
    return isNaN(d.getTime()) ? null : d;
  }

  function fmtTime(ts) {
    var d = toDate(ts);
    if (!d) return asText(ts);
    var now = new Date();
    if (d.toDateString() === now.toDateString()) {
      return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    return d.toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function timeEl(ts) {
    var d = toDate(ts);
    return el("time", { datetime: d ? d.toISOString() : null, title: d ? d.toISOString() : null, text: fmtTime(ts) });
  }

  function fmtUsd(v) {
    var n = Number(v);
    if (!isFinite(n)) return "–";
    return "$" + n.toFixed(n !== 0 && Math.abs(n) < 0.1 ? 4 : 2);
  }

  function actorText(actor) {
    if (!actor) return "";
    if (typeof actor === "string") return actor;
    if (actor.kind || actor.id) return (actor.kind || "") + (actor.id ? ":" + actor.id : "");
    return asText(actor);
  }

  function actorKind(actor) {
    var s = actorText(actor);
    var i = s.indexOf(":");
    return i < 0 ? s : s.slice(0, i);
  }

  function can(minRole) { return (ROLE_RANK[state.role] || 0) >= (ROLE_RANK[minRole] || 0); }

  function roleHint(minRole) { return "Needs the " + minRole + " role"; }

  function notify(message, isError) {
    var box = $("notice");
    box.textContent = message;
    box.className = "notice" + (isError ? " error" : "");
    box.setAttribute("role", isError ? "alert" : "status");
    box.hidden = false;
    clearTimeout(state.pending.notice);
    state.pending.notice = setTimeout(function () { box.hidden = true; }, isError ? 10000 : 4000);
  }

  function debounce(key, fn, ms) {
    clearTimeout(state.pending[key]);
    state.pending[key] = setTimeout(fn, ms === undefined ? 200 : ms);
  }

  // ---------------------------------------------------------------- API

  function ApiError(status, body) {
    var err = (body && body.error) || {};
    this.status = status;
    this.code = err.code || "http_" + status;
    this.message = err.message || ("HTTP " + status);
    this.problems = err.problems || (body && body.problems) || [];
    this.body = body;
  }
  ApiError.prototype.toString = function () { return this.message; };

  function request(method, url, body) {
    var headers = { "Authorization": "Bearer " + state.token, "Accept": "application/json" };
    var options = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        if (text) { try { data = JSON.parse(text); } catch (e) { data = { raw: text }; } }
        if (!response.ok) {
          var error = new ApiError(response.status, data);
          if (response.status === 401 && state.org) {
            signOut("Your token is no longer accepted. Please sign in again.");
          }
          throw error;
        }
        return data;
      });
    });
  }

  function api(method, path, body) {
    return request(method, "/api/orgs/" + encodeURIComponent(state.org) + path, body);
  }

  function errorText(e) {
    if (e instanceof ApiError) {
      if (e.status === 403) return "Not allowed for your role (" + state.role + "): " + e.message;
      if (e.status === 429) return "Too many requests — try again shortly. " + e.message;
      return e.message + " (" + e.code + ")";
    }
    return "Network error: " + (e && e.message ? e.message : String(e));
  }

  // ---------------------------------------------------------------- sign in / out

  function signIn(token) {
    state.token = token;
    return request("GET", "/api/whoami").then(function (who) {
      if (!who || !who.org) throw new Error("whoami returned no org");
      sessionStorage.setItem(TOKEN_KEY, token);
      state.org = who.org;
      state.role = who.role || "viewer";
      state.label = who.label || "";
      // The tool catalog (names for the settings form, categories for requireApprovalFor) and
      // the channels (the sessions filter, channel bindings) come from the server, the one list
      // of each; the dashboard keeps no copy.
      return Promise.all([request("GET", "/api/tools"), request("GET", "/api/channels")]);
    }).then(function (answers) {
      var catalog = answers[0], channels = answers[1];
      state.tools = (catalog && catalog.tools) || [];
      state.categories = (catalog && catalog.categories) || [];
      state.channels = (channels && channels.channels) || [];
      fillChannelFilter();
      showApp();
    });
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    closeEvents();
    Object.keys(state.pending).forEach(function (k) { clearTimeout(state.pending[k]); });
    state.token = null; state.org = null; state.role = null; state.sessionId = null; state.session = null;
    state.agent = null; state.settingsDirty = false; state.chatSessionId = null; state.transcriptSeqs = {};
    ["sessions-list", "approvals-list", "activity-list", "transcript", "chat-log", "spend-agents",
     "history-body", "faq-list", "bindings-list", "session-meta"].forEach(function (id) { clear($(id)); });
    $("session-detail").hidden = true;
    $("app-view").hidden = true;
    $("signin-view").hidden = false;
    $("token-input").value = "";
    var err = $("signin-error");
    err.textContent = message || "";
    err.hidden = !message;
    document.title = "Purser — operator dashboard";
    $("token-input").focus();
  }

  function showApp() {
    $("signin-view").hidden = true;
    $("app-view").hidden = false;
    $("org-name").textContent = state.org + (state.label ? " · " + state.label : "");
    $("role-badge").textContent = state.role;
    document.title = "Purser — " + state.org;
    applyRoles(document);
    var fromHash = (location.hash || "").replace(/^#\/?/, "").split("/");
    var panel = ["sessions", "approvals", "activity", "settings", "chat"].indexOf(fromHash[0]) >= 0 ? fromHash[0] : "sessions";
    if (panel === "sessions" && fromHash[1]) state.sessionId = decodeURIComponent(fromHash[1]);
    openEvents();
    refreshSpend();
    refreshApprovals();
    refreshSessions();
    refreshActivity(true);
    loadAgent(false);
    showPanel(panel, false);
    if (state.sessionId) openSession(state.sessionId, false);
  }

  /// Disables controls the role may not use (data-min-role="operator|admin").
  function applyRoles(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-min-role]"), function (node) {
      var min = node.getAttribute("data-min-role");
      if (!can(min)) {
        node.disabled = true;
        node.title = roleHint(min);
        node.setAttribute("aria-disabled", "true");
      }
    });
    $("settings-readonly").hidden = can("admin");
  }

  // ---------------------------------------------------------------- tabs

  function showPanel(name, focus) {
    state.panel = name;
    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
      var on = tab.dataset.panel === name;
      tab.setAttribute("aria-current", on ? "page" : "false");
      tab.classList.toggle("active", on);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".panel"), function (panel) {
      panel.hidden = panel.id !== "panel-" + name;
    });
    var hash = "#" + name + (name === "sessions" && state.sessionId ? "/" + encodeURIComponent(state.sessionId) : "");
    if (location.hash !== hash) history.replaceState(null, "", hash);
    if (name === "approvals") refreshApprovals();
    if (name === "activity") refreshActivity(false);
    if (name === "sessions") refreshSessions();
    if (name === "settings" && !state.settingsDirty) loadAgent(false);
    if (focus) {
      var heading = document.querySelector("#panel-" + name + " h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
  }

  // ---------------------------------------------------------------- live events (SSE)

  function setLive(stateName, text) {
    var node = $("live-status");
    node.dataset.state = stateName;
    node.textContent = text;
  }

  function openEvents() {
    closeEvents();
    if (!window.EventSource) { setLive("offline", "no live updates"); return; }
    var url = "/api/orgs/" + encodeURIComponent(state.org) + "/events?access_token=" + encodeURIComponent(state.token);
    var source = new EventSource(url);
    state.events = source;
    setLive("connecting", "connecting…");
    source.onopen = function () {
      if (state.events !== source) return;
      var wasReconnect = state.reconnectDelay > 1000 || $("live-status").dataset.state === "reconnecting";
      state.reconnectDelay = 1000;
      setLive("live", "live");
      if (wasReconnect) refreshAll();   // catch up on what happened while disconnected
    };
    source.onerror = function () {
      if (state.events !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        setLive("offline", "offline — retrying");
        state.reconnectTimer = setTimeout(function () {
          if (state.token && state.events === source) openEvents();
        }, state.reconnectDelay);
        state.reconnectDelay = Math.min(state.reconnectDelay * 2, 30000);
      } else {
        setLive("reconnecting", "reconnecting…");
        state.reconnectDelay = 2000;
      }
    };
    var handler = function (message) {
      if (state.events !== source) return;
      var envelope = null;
      try { envelope = JSON.parse(message.data); } catch (e) { return; }
      onEvent(message.type && message.type !== "message" ? message.type : envelope.type, envelope);
    };
    source.onmessage = handler;
    EVENT_TYPES.forEach(function (type) { source.addEventListener(type, handler); });
  }

  function closeEvents() {
    clearTimeout(state.reconnectTimer);
    if (state.events) { state.events.close(); state.events = null; }
    setLive("offline", "offline");
  }

  function eventSessionId(envelope) {
    var data = (envelope && envelope.data) || {};
    if (data.sessionId) return String(data.sessionId);
    var stream = envelope && envelope.stream ? String(envelope.stream) : "";
    if (stream.indexOf("session:") === 0) return stream.slice("session:".length);
    return null;
  }

  function onEvent(type, envelope) {
    type = type || (envelope && envelope.type) || "";
    var family = type.split(".")[0];
    var sessionId = eventSessionId(envelope);
    if (family === "approval") debounce("approvals", refreshApprovals, 100);
    if (family === "message" || family === "session" || family === "approval") {
      debounce("sessions", refreshSessions, 250);
      if (state.sessionId && (sessionId === null || sessionId === state.sessionId)) {
        debounce("session", function () { refreshSession(); }, 150);
      }
    }
    if (family === "cost" || family === "usage" || type === "message.sent" || type === "message.received" || type === "llm.completed") {
      debounce("spend", refreshSpend, 500);
    }
    if (family === "agent") {
      if (state.settingsDirty) notify("The agent's configuration was changed elsewhere; save or discard your edits to see it.");
      else debounce("agent", function () { loadAgent(false); }, 200);
      debounce("spend", refreshSpend, 500);
    }
    debounce("activity", function () { refreshActivity(false, true); }, 400);
  }

  function refreshAll() {
    refreshSpend(); refreshApprovals(); refreshSessions(); refreshActivity(false, true);
    if (state.sessionId) refreshSession();
    if (!state.settingsDirty) loadAgent(false);
  }

  // ---------------------------------------------------------------- spend

  function bar(label, value, max, formatter) {
    var hasMax = typeof max === "number" && isFinite(max) && max > 0;
    var ratio = hasMax ? Math.min(Number(value) / max, 1) : 0;
    var text = formatter(value) + (hasMax ? " of " + formatter(max) : " (no cap)");
    var level = !hasMax ? "" : ratio >= 1 ? "over" : ratio >= 0.8 ? "near" : "";
    var id = "bar-" + Math.random().toString(36).slice(2);
    return el("div", { className: "bar " + level }, [
      el("div", { className: "bar-label" }, [el("span", { id: id, text: label }), el("span", { className: "bar-value", text: text })]),
      hasMax ? el("progress", { max: String(max), value: String(Math.min(Number(value) || 0, max)), "aria-labelledby": id, "aria-valuetext": text }) : null
    ]);
  }

  function refreshSpend() {
    if (!state.org) return;
    api("GET", "/spend").then(function (body) {
      var box = $("spend-agents");
      clear(box);
      $("spend-day").textContent = body && body.day ? body.day + " (UTC)" : "";
      var agents = (body && body.agents) || [];
      if (!agents.length) box.appendChild(el("p", { className: "muted", text: "No agent yet." }));
      agents.forEach(function (a) {
        box.appendChild(el("div", { className: "spend-agent", dataset: { agentId: a.agentId } }, [
          agents.length > 1 ? el("h3", { text: a.agentId }) : null,
          el("div", { className: "bars" }, [
            bar("Messages", a.messages || 0, a.maxMessagesPerDay, function (v) { return String(Math.round(Number(v) || 0)); }),
            bar("Cost", a.usd || 0, a.maxCostPerDay, fmtUsd),
            el("p", { className: "muted small", text: (a.tokens || 0).toLocaleString() + " tokens" })
          ])
        ]));
      });
    }).catch(function (e) { if (state.org) $("spend-day").textContent = errorText(e); });
  }

  // ---------------------------------------------------------------- sessions

  /// The sessions filter's options: "Any", then each channel of the registry.
  function fillChannelFilter() {
    var select = $("sessions-channel"), chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    state.channels.forEach(function (c) { select.appendChild(el("option", { value: c.name, text: c.label })); });
    select.value = Array.prototype.some.call(select.options, function (o) { return o.value === chosen; }) ? chosen : "";
  }

  function refreshSessions() {
    if (!state.org) return;
    var params = [];
    var status = $("sessions-status").value;
    var channel = $("sessions-channel").value;
    if (status) params.push("status=" + encodeURIComponent(status));
    if (channel) params.push("channel=" + encodeURIComponent(channel));
    api("GET", "/sessions" + (params.length ? "?" + params.join("&") : "")).then(function (body) {
      renderSessions((body && body.sessions) || []);
    }).catch(function (e) { if (state.org) notify("Sessions: " + errorText(e), true); });
  }

  function renderSessions(sessions) {
    var list = $("sessions-list");
    var focusedId = document.activeElement && document.activeElement.classList.contains("session-row") ? document.activeElement.dataset.sessionId : null;
    clear(list);
    sessions.sort(function (a, b) { return String(b.lastMessageAt || "").localeCompare(String(a.lastMessageAt || "")); });
    sessions.forEach(function (s) {
      var current = s.sessionId === state.sessionId;
      var row = el("button", {
        type: "button", className: "session-row" + (current ? " current" : ""),
        dataset: { sessionId: s.sessionId, status: s.status || "" },
        "aria-current": current ? "true" : null,
        onclick: function () { openSession(s.sessionId, true); }
      }, [
        el("span", { className: "row-top" }, [
          el("span", { className: "contact", text: asText(s.contact) || s.crmContactId || s.sessionId }),
          el("span", { className: "badge channel", text: s.channel || "" }),
          s.status && s.status !== "active" ? el("span", { className: "badge status-" + s.status, text: s.status === "handed_off" ? "taken over" + (s.handedOffTo ? " by " + asText(s.handedOffTo) : "") : s.status }) : null,
          el("span", { className: "when" }, [timeEl(s.lastMessageAt)])
        ]),
        el("span", { className: "last", text: asText(s.lastMessage) }),
        el("span", { className: "muted small", text: (s.messages || 0) + " messages · " + fmtUsd(s.costUsd || 0) })
      ]);
      list.appendChild(el("li", null, [row]));
      if (focusedId === s.sessionId) row.focus();
    });
    $("sessions-empty").hidden = sessions.length > 0;
  }

  function openSession(id, focus) {
    if (state.sessionId !== id) {
      state.sessionId = id;
      state.session = null;
      state.transcriptSeqs = {};
      clear($("transcript"));
      clear($("session-meta"));
    }
    $("session-detail").hidden = false;
    Array.prototype.forEach.call(document.querySelectorAll(".session-row"), function (row) {
      var on = row.dataset.sessionId === id;
      row.classList.toggle("current", on);
      if (on) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
    });
    if (state.panel === "sessions") history.replaceState(null, "", "#sessions/" + encodeURIComponent(id));
    return refreshSession().then(function () {
      if (focus) { $("session-title").setAttribute("tabindex", "-1"); $("session-title").focus(); }
    });
  }

  function closeSession() {
    var id = state.sessionId;
    state.sessionId = null; state.session = null; state.transcriptSeqs = {};
    $("session-detail").hidden = true;
    history.replaceState(null, "", "#sessions");
    Array.prototype.forEach.call(document.querySelectorAll(".session-row"), function (row) {
      row.classList.remove("current"); row.removeAttribute("aria-current");
      if (row.dataset.sessionId === id) row.focus();
    });
  }

  function refreshSession() {
    var id = state.sessionId;
    if (!id || !state.org) return Promise.resolve();
    return api("GET", "/sessions/" + encodeURIComponent(id)).then(function (body) {
      if (state.sessionId !== id) return;
      state.session = (body && body.session) || {};
      renderSessionMeta(state.session);
      appendTranscript((body && body.transcript) || []);
    }).catch(function (e) {
      if (state.sessionId === id && state.org) notify("Session: " + errorText(e), true);
    });
  }

  function renderSessionMeta(s) {
    $("session-title").textContent = "Session with " + (asText(s.contact) || s.sessionId || "");
    var meta = $("session-meta");
    clear(meta);
    var status = s.status === "handed_off" ? "taken over" + (s.handedOffTo ? " by " + asText(s.handedOffTo) : "") : (s.status || "");
    [["Channel", s.channel], ["Status", status], ["Agent", s.agentId], ["CRM contact", s.crmContactId],
     ["Messages", s.messages], ["Tokens", s.tokens], ["Cost", s.costUsd === undefined ? null : fmtUsd(s.costUsd)],
     ["Session id", s.sessionId]].forEach(function (pair) {
      if (pair[1] === undefined || pair[1] === null || pair[1] === "") return;
      meta.appendChild(el("div", null, [el("dt", { text: pair[0] }), el("dd", { text: asText(pair[1]) })]));
    });
    var handedOff = s.status === "handed_off";
    var closed = s.status === "closed";
    var operator = can("operator");
    $("takeover").disabled = !operator || handedOff || closed;
    $("release").disabled = !operator || !handedOff;
    $("reply-text").disabled = !operator || !handedOff;
    $("reply-send").disabled = !operator || !handedOff;
    $("reply-hint").textContent = !operator ? roleHint("operator") + " to reply."
      : handedOff ? "You have the conversation; the agent stays silent until you release it. Ctrl+Enter sends."
      : closed ? "This session is closed." : "Take the session over to reply.";
    $("session-detail").dataset.status = s.status || "";
  }

  function appendTranscript(messages) {
    var list = $("transcript");
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    messages.slice().sort(function (a, b) { return (a.seq || 0) - (b.seq || 0); }).forEach(function (m) {
      var key = m.seq !== undefined ? String(m.seq) : (m.ts + "|" + m.actor + "|" + m.text);
      if (state.transcriptSeqs[key]) return;
      state.transcriptSeqs[key] = true;
      var kind = actorKind(m.actor);
      list.appendChild(el("li", {
        className: "message " + (m.direction || "") + " actor-" + kind,
        dataset: { seq: m.seq === undefined ? "" : m.seq, direction: m.direction || "", actor: actorText(m.actor) }
      }, [
        el("div", { className: "message-head" }, [
          el("span", { className: "who", text: actorText(m.actor) || m.direction || "" }), " ", timeEl(m.ts)
        ]),
        el("p", { className: "text", text: asText(m.text) })
      ]));
    });
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function sessionAction(path, body, doneMessage) {
    var id = state.sessionId;
    if (!id) return Promise.resolve();
    return api("POST", "/sessions/" + encodeURIComponent(id) + path, body).then(function (outcome) {
      notify(doneMessage + (outcome && outcome.outcome ? " (" + outcome.outcome + ")" : ""));
      return refreshSession().then(function () { refreshSessions(); return outcome; });
    }).catch(function (e) {
      notify(errorText(e), true);
      refreshSession();
      throw e;
    });
  }

  function withBusy(button, promise) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    return promise.then(function (v) { button.removeAttribute("aria-busy"); return v; },
      function (e) { button.removeAttribute("aria-busy"); button.disabled = false; return undefined; });
  }

  // ---------------------------------------------------------------- approvals

  function refreshApprovals() {
    if (!state.org) return;
    var filter = $("approvals-state").value || "pending";
    api("GET", "/approvals?state=" + encodeURIComponent(filter)).then(function (body) {
      var approvals = (body && body.approvals) || [];
      renderApprovals(approvals);
      if (filter === "pending") setPendingCount(approvals.length);
    }).catch(function (e) { if (state.org) notify("Approvals: " + errorText(e), true); });
    if (filter !== "pending") {
      api("GET", "/approvals?state=pending").then(function (body) {
        setPendingCount(((body && body.approvals) || []).length);
      }).catch(function () {});
    }
  }

  function setPendingCount(n) {
    var badge = $("approvals-count");
    badge.textContent = String(n);
    badge.hidden = n === 0;
    badge.setAttribute("aria-label", n + " pending");
  }

  function renderApprovals(approvals) {
    var list = $("approvals-list");
    // Keep open edit/reject forms (and what was typed into them) across live refreshes.
    var open = {};
    Array.prototype.forEach.call(list.querySelectorAll(".approval"), function (item) {
      if (item.querySelector(".decision-form:not([hidden])")) open[item.dataset.approvalId] = item;
    });
    var focusedApproval = null, focusedClass = null;
    var active = document.activeElement;
    if (active && list.contains(active)) {
      var parent = active.closest(".approval");
      if (parent) { focusedApproval = parent.dataset.approvalId; focusedClass = active.classList[0]; }
    }
    clear(list);
    approvals.sort(function (a, b) { return String(b.requestedAt || "").localeCompare(String(a.requestedAt || "")); });
    approvals.forEach(function (a) {
      var item = open[a.approvalId] && a.state === "pending" ? open[a.approvalId] : approvalItem(a);
      list.appendChild(item);
      if (focusedApproval === a.approvalId && focusedClass) {
        var again = item.querySelector("." + focusedClass);
        if (again) again.focus();
      }
    });
    $("approvals-empty").hidden = approvals.length > 0;
  }

  function approvalItem(a) {
    var isTool = a.kind !== "reply";
    var pending = a.state === "pending";
    var item = el("li", { className: "approval card-inner state-" + (a.state || ""), dataset: { approvalId: a.approvalId, kind: a.kind || "", state: a.state || "" } });
    var title = isTool ? "Agent wants to call " + (a.tool || "a tool") : "Agent wants to send this reply";
    item.appendChild(el("h3", { text: title }));
    if (a.summary) item.appendChild(el("p", { className: "summary", text: asText(a.summary) }));
    var meta = el("dl", { className: "meta" });
    [["State", a.state], ["Category", a.category], ["Rule", a.rule], ["Agent", a.agentId],
     ["Decided by", a.decidedBy ? actorText(a.decidedBy) : null]].forEach(function (pair) {
      if (pair[1]) meta.appendChild(el("div", null, [el("dt", { text: pair[0] }), el("dd", { text: asText(pair[1]) })]));
    });
    if (a.requestedAt) meta.appendChild(el("div", null, [el("dt", { text: "Requested" }), el("dd", null, [timeEl(a.requestedAt)])]));
    if (a.expiresAt && pending) meta.appendChild(el("div", null, [el("dt", { text: "Expires" }), el("dd", null, [timeEl(a.expiresAt)])]));
    if (a.sessionId) {
      meta.appendChild(el("div", null, [el("dt", { text: "Session" }), el("dd", null, [
        el("button", { type: "button", className: "link open-session", dataset: { sessionId: a.sessionId }, text: a.sessionId,
          onclick: function () { showPanel("sessions", false); openSession(a.sessionId, true); } })
      ])]));
    }
    item.appendChild(meta);
    if (isTool) {
      if (a.arguments !== undefined && a.arguments !== null) {
        item.appendChild(el("p", { className: "label", text: "Arguments" }));
        item.appendChild(el("pre", { className: "arguments", tabindex: "0", "aria-label": "Tool arguments", text: pretty(a.arguments) }));
      }
    } else if (a.replyText !== undefined && a.replyText !== null) {
      item.appendChild(el("blockquote", { className: "reply-text", text: asText(a.replyText) }));
    }
    if (!pending) return item;

    var status = el("p", { className: "decision-status", role: "status", "aria-live": "polite" });
    var operator = can("operator");
    var actions = el("div", { className: "actions" });
    var approve = el("button", { type: "button", className: "approve", text: "Approve" });
    var reject = el("button", { type: "button", className: "reject danger", text: "Reject…" });
    var edit = el("button", { type: "button", className: "edit-approve secondary", text: "Edit, then approve…" });
    [approve, reject, edit].forEach(function (b) { if (!operator) { b.disabled = true; b.title = roleHint("operator"); } actions.appendChild(b); });
    item.appendChild(actions);

    // Reject form
    var reasonId = "reason-" + a.approvalId;
    var rejectForm = el("form", { className: "decision-form reject-form", hidden: true }, [
      el("label", { "for": reasonId, text: "Reason (the agent is told)" }),
      el("textarea", { id: reasonId, className: "reject-reason", rows: "2" }),
      el("div", { className: "actions" }, [
        el("button", { type: "submit", className: "reject-confirm danger", text: "Reject" }),
        el("button", { type: "button", className: "cancel secondary", text: "Cancel" })
      ])
    ]);
    // Edit form
    var editId = "edit-" + a.approvalId;
    var editInitial = isTool ? pretty(a.arguments === undefined ? {} : a.arguments) : asText(a.replyText);
    var editForm = el("form", { className: "decision-form edit-form", hidden: true }, [
      el("label", { "for": editId, text: isTool ? "Arguments (JSON)" : "Reply text" }),
      el("textarea", { id: editId, className: "edit-text" + (isTool ? " code" : ""), rows: String(Math.min(16, Math.max(4, editInitial.split("\n").length + 1))), spellcheck: isTool ? "false" : "true" }),
      el("p", { className: "edit-error error", role: "alert", hidden: true }),
      el("div", { className: "actions" }, [
        el("button", { type: "submit", className: "edit-confirm", text: "Approve edited" }),
        el("button", { type: "button", className: "cancel secondary", text: "Cancel" })
      ])
    ]);
    editForm.querySelector(".edit-text").value = editInitial;
    item.appendChild(rejectForm);
    item.appendChild(editForm);
    item.appendChild(status);

    function closeForms() { rejectForm.hidden = true; editForm.hidden = true; }
    function decide(path, body, button, doneText) {
      status.textContent = "Working…";
      [approve, reject, edit].forEach(function (b) { b.disabled = true; });
      button.setAttribute("aria-busy", "true");
      return api("POST", "/approvals/" + encodeURIComponent(a.approvalId) + path, body).then(function (outcome) {
        status.textContent = doneText + (outcome && outcome.outcome ? " — " + outcome.outcome : "");
        item.dataset.state = path === "/reject" ? "rejected" : "granted";
        notify(doneText + ": " + (a.tool || "reply"));
        setTimeout(refreshApprovals, 600);
        if (a.sessionId && a.sessionId === state.sessionId) refreshSession();
      }).catch(function (e) {
        button.removeAttribute("aria-busy");
        if (e instanceof ApiError && e.status === 409) {
          status.textContent = "Someone else decided this approval first.";
          setTimeout(refreshApprovals, 1500);
          return;
        }
        status.textContent = errorText(e);
        [approve, reject, edit].forEach(function (b) { b.disabled = !operator; });
      });
    }

    approve.addEventListener("click", function () { closeForms(); decide("/approve", {}, approve, "Approved"); });
    reject.addEventListener("click", function () {
      editForm.hidden = true; rejectForm.hidden = !rejectForm.hidden;
      if (!rejectForm.hidden) rejectForm.querySelector("textarea").focus();
    });
    edit.addEventListener("click", function () {
      rejectForm.hidden = true; editForm.hidden = !editForm.hidden;
      if (!editForm.hidden) editForm.querySelector("textarea").focus();
    });
    Array.prototype.forEach.call(item.querySelectorAll(".cancel"), function (b) {
      b.addEventListener("click", function () { closeForms(); approve.focus(); });
    });
    rejectForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var reason = rejectForm.querySelector("textarea").value.trim();
      if (!reason) { status.textContent = "Give the agent a reason."; rejectForm.querySelector("textarea").focus(); return; }
      decide("/reject", { reason: reason }, rejectForm.querySelector(".reject-confirm"), "Rejected");
    });
    editForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = editForm.querySelector("textarea").value;
      var errorBox = editForm.querySelector(".edit-error");
      var body;
      if (isTool) {
        try { body = { editedArguments: JSON.parse(text) }; } catch (e) {
          errorBox.textContent = "Not valid JSON: " + e.message; errorBox.hidden = false;
          editForm.querySelector("textarea").setAttribute("aria-invalid", "true");
          editForm.querySelector("textarea").focus();
          return;
        }
        if (body.editedArguments === null || typeof body.editedArguments !== "object" || Array.isArray(body.editedArguments)) {
          errorBox.textContent = "The arguments must be a JSON object."; errorBox.hidden = false; return;
        }
      } else {
        if (!text.trim()) { errorBox.textContent = "The reply text is empty."; errorBox.hidden = false; return; }
        body = { editedText: text };
      }
      errorBox.hidden = true;
      editForm.querySelector("textarea").removeAttribute("aria-invalid");
      decide("/approve", body, editForm.querySelector(".edit-confirm"), "Approved with edits");
    });
    return item;
  }

  // ---------------------------------------------------------------- activity

  function activityItem(item) {
    return el("li", { className: "activity-item kind-" + String(item.kind || "").replace(/[^a-z0-9_-]/gi, "-"), dataset: { seq: item.seq } }, [
      timeEl(item.ts), " ",
      el("span", { className: "badge", text: item.kind || "" }), " ",
      el("span", { className: "line", text: asText(item.line) }),
      item.sessionId ? el("button", { type: "button", className: "link small", text: "open session",
        "aria-label": "Open session " + item.sessionId,
        onclick: function () { showPanel("sessions", false); openSession(String(item.sessionId), true); } }) : null
    ]);
  }

  /// reset: replace the list with the newest page; otherwise prepend what is newer than the top.
  function refreshActivity(reset, onlyNewer) {
    if (!state.org) return;
    var list = $("activity-list");
    if (onlyNewer && state.panel !== "activity" && list.childElementCount === 0) return;
    api("GET", "/activity?limit=50").then(function (body) {
      var items = (body && body.items) || [];
      if (reset || state.activityTopSeq === null) {
        clear(list);
        items.forEach(function (it) { list.appendChild(activityItem(it)); });
        state.activityNext = body ? body.next : null;
      } else {
        var newer = items.filter(function (it) { return Number(it.seq) > Number(state.activityTopSeq); });
        for (var i = newer.length - 1; i >= 0; i--) list.insertBefore(activityItem(newer[i]), list.firstChild);
      }
      if (items.length) state.activityTopSeq = Math.max(Number(items[0].seq) || 0, Number(state.activityTopSeq) || 0);
      $("activity-more").hidden = state.activityNext === null || state.activityNext === undefined;
      $("activity-empty").hidden = list.childElementCount > 0;
    }).catch(function (e) { if (state.org) notify("Activity: " + errorText(e), true); });
  }

  function olderActivity() {
    if (state.activityNext === null || state.activityNext === undefined) return;
    var button = $("activity-more");
    button.disabled = true;
    api("GET", "/activity?limit=50&before=" + encodeURIComponent(state.activityNext)).then(function (body) {
      var items = (body && body.items) || [];
      var list = $("activity-list");
      var first = null;
      items.forEach(function (it) { var node = activityItem(it); if (!first) first = node; list.appendChild(node); });
      state.activityNext = body ? body.next : null;
      button.disabled = false;
      button.hidden = state.activityNext === null || state.activityNext === undefined;
      if (button.hidden && first) { first.setAttribute("tabindex", "-1"); first.focus(); }
    }).catch(function (e) { button.disabled = false; notify("Activity: " + errorText(e), true); });
  }

  // ---------------------------------------------------------------- agent settings

  function loadAgent(force) {
    if (!state.org) return Promise.resolve();
    if (state.settingsDirty && !force) return Promise.resolve();
    return api("GET", "/agent").then(function (body) {
      state.agent = body || {};
      fillSettings(state.agent);
    }).catch(function (e) {
      if (!state.org) return;
      if (e instanceof ApiError && e.status === 404) {
        $("settings-revision").textContent = "No agent configured yet — fill in the form and save to create one.";
        state.agent = { config: { type: "org_agent", organizationId: state.org, customProperties: {} }, history: [] };
        fillSettings(state.agent);
      } else {
        $("settings-revision").textContent = errorText(e);
      }
    });
  }

  function toolNames() { return state.tools.map(function (t) { return t.name; }); }

  // What a tool does, as a tooltip in the settings form.
  function toolTitles() {
    var titles = {};
    state.tools.forEach(function (t) {
      titles[t.name] = t.implemented ? (t.description || "") + " (" + t.category + ")" : "not available in this build";
    });
    return titles;
  }

  function setChecks(containerId, names, selected, path, titles) {
    var box = $(containerId);
    clear(box);
    var all = names.slice();
    (selected || []).forEach(function (n) { if (all.indexOf(n) < 0) all.push(n); });
    all.forEach(function (name) {
      var id = containerId + "-" + name.replace(/[^a-z0-9_-]/gi, "_");
      var input = el("input", { type: "checkbox", id: id, value: name, dataset: { path: path } });
      input.checked = (selected || []).indexOf(name) >= 0;
      box.appendChild(el("div", { className: "check" }, [input, el("label", { "for": id, text: name, title: titles && titles[name] })]));
    });
  }

  function getChecks(containerId) {
    return Array.prototype.filter.call($(containerId).querySelectorAll("input[type=checkbox]"), function (i) { return i.checked; })
      .map(function (i) { return i.value; });
  }

  var rowCounter = 0;
  function addFaqRow(entry) {
    var node = document.importNode($("faq-template").content, true).firstElementChild;
    var n = ++rowCounter;
    var labels = node.querySelectorAll("label");
    var q = node.querySelector(".faq-q"), a = node.querySelector(".faq-a");
    q.id = "faq-q-" + n; a.id = "faq-a-" + n;
    labels[0].setAttribute("for", q.id); labels[1].setAttribute("for", a.id);
    q.value = entry && entry.q ? entry.q : "";
    a.value = entry && entry.a ? entry.a : "";
    node.querySelector(".remove").addEventListener("click", function () {
      var next = node.nextElementSibling || node.previousElementSibling;
      node.remove(); renumber(); markDirty();
      (next ? next.querySelector("input,select,textarea") : $("faq-add")).focus();
    });
    $("faq-list").appendChild(node);
    renumber();
    return node;
  }

  function addBindingRow(binding) {
    var node = document.importNode($("binding-template").content, true).firstElementChild;
    var n = ++rowCounter;
    var labels = node.querySelectorAll("label");
    var channel = node.querySelector(".binding-channel"), address = node.querySelector(".binding-address"), enabled = node.querySelector(".binding-enabled");
    channel.id = "binding-channel-" + n; address.id = "binding-address-" + n; enabled.id = "binding-enabled-" + n;
    labels[0].setAttribute("for", channel.id); labels[1].setAttribute("for", address.id); labels[2].setAttribute("for", enabled.id);
    state.channels.forEach(function (c) { channel.appendChild(el("option", { value: c.name, text: c.name })); });
    var value = binding && binding.channel ? String(binding.channel) : (state.channels.length ? state.channels[0].name : "");
    if (!Array.prototype.some.call(channel.options, function (o) { return o.value === value; })) channel.appendChild(el("option", { value: value, text: value }));
    channel.value = value;
    address.value = binding && binding.address ? binding.address : "";
    enabled.checked = binding ? binding.enabled !== false : true;
    node.querySelector(".remove").addEventListener("click", function () {
      var next = node.nextElementSibling || node.previousElementSibling;
      node.remove(); renumber(); markDirty();
      (next ? next.querySelector("input,select,textarea") : $("binding-add")).focus();
    });
    $("bindings-list").appendChild(node);
    renumber();
    return node;
  }

  /// Gives each editor row its data-path (customProperties.faqEntries[2].q ...) for problem messages.
  function renumber() {
    Array.prototype.forEach.call($("faq-list").children, function (row, i) {
      row.dataset.path = "customProperties.faqEntries[" + i + "]";
      row.querySelector(".faq-q").dataset.path = row.dataset.path + ".q";
      row.querySelector(".faq-a").dataset.path = row.dataset.path + ".a";
      row.querySelector(".remove").setAttribute("aria-label", "Remove FAQ entry " + (i + 1));
    });
    Array.prototype.forEach.call($("bindings-list").children, function (row, i) {
      row.dataset.path = "customProperties.channelBindings[" + i + "]";
      row.querySelector(".binding-channel").dataset.path = row.dataset.path + ".channel";
      row.querySelector(".binding-address").dataset.path = row.dataset.path + ".address";
      row.querySelector(".binding-enabled").dataset.path = row.dataset.path + ".enabled";
      row.querySelector(".remove").setAttribute("aria-label", "Remove channel binding " + (i + 1));
    });
  }

  function fillSettings(agent) {
    var config = agent.config || {};
    var p = config.customProperties || {};
    clearProblems();
    $("settings-revision").textContent = agent.revision !== undefined && agent.revision !== null
      ? "Revision " + agent.revision + (agent.status ? " · " + agent.status : "") : ($("settings-revision").textContent || "");
    $("f-agentId").value = agent.agentId || config.id || config.subtype || "";
    $("f-name").value = config.name || "";
    $("f-subtype").value = config.subtype || "primary";
    $("f-status").value = config.status || "active";
    $("f-displayName").value = p.displayName || "";
    $("f-personality").value = p.personality || "";
    $("f-language").value = p.language || "";
    $("f-additionalLanguages").value = (p.additionalLanguages || []).join(", ");
    $("f-brandVoiceInstructions").value = p.brandVoiceInstructions || "";
    $("f-systemPrompt").value = p.systemPrompt || "";
    $("f-knowledgeDocIds").value = (p.knowledgeDocIds || []).join("\n");
    clear($("faq-list"));
    (p.faqEntries || []).forEach(addFaqRow);
    setChecks("f-enabledTools", toolNames(), p.enabledTools || [], "customProperties.enabledTools", toolTitles());
    setChecks("f-disabledTools", toolNames(), p.disabledTools || [], "customProperties.disabledTools", toolTitles());
    $("f-autonomyLevel").value = p.autonomyLevel || "supervised";
    $("f-maxMessagesPerDay").value = p.maxMessagesPerDay === undefined ? "" : p.maxMessagesPerDay;
    $("f-maxCostPerDay").value = p.maxCostPerDay === undefined ? "" : p.maxCostPerDay;
    setChecks("f-requireApprovalFor", state.categories, p.requireApprovalFor || [], "customProperties.requireApprovalFor");
    $("f-blockedTopics").value = (p.blockedTopics || []).join("\n");
    $("f-modelProvider").value = p.modelProvider || "";
    $("f-modelId").value = p.modelId || "";
    $("f-temperature").value = p.temperature === undefined ? "" : p.temperature;
    $("f-maxTokens").value = p.maxTokens === undefined ? "" : p.maxTokens;
    clear($("bindings-list"));
    (p.channelBindings || []).forEach(addBindingRow);
    renderHistory(agent.history || []);
    var admin = can("admin");
    Array.prototype.forEach.call($("settings-form").querySelectorAll("input, select, textarea, .editor-list button, #faq-add, #binding-add"), function (node) {
      if (node.id === "f-agentId") return;
      if (!admin) { node.disabled = true; }
    });
    $("settings-reset").disabled = !admin;
    setDirty(false);
  }

  function renderHistory(history) {
    var body = $("history-body");
    clear(body);
    history.slice().sort(function (a, b) { return (b.revision || 0) - (a.revision || 0); }).forEach(function (h) {
      body.appendChild(el("tr", { dataset: { revision: h.revision } }, [
        el("td", { text: asText(h.revision) }),
        el("td", null, [timeEl(h.configuredAt)]),
        el("td", { text: actorText(h.actor) }),
        el("td", { text: asText(h.seq) })
      ]));
    });
    if (!history.length) body.appendChild(el("tr", null, [el("td", { colspan: "4", className: "muted", text: "No versions yet." })]));
  }

  function lines(text) { return text.split("\n").map(function (s) { return s.trim(); }).filter(Boolean); }

  function numberOr(value, fallback) {
    if (value === "" || value === null || value === undefined) return fallback;
    var n = Number(value);
    return isFinite(n) ? n : value;   // a non-number goes to the server, which names the problem
  }

  /// The form as a full org_agent JSON, keeping fields the form does not know.
  function collectConfig() {
    var base = (state.agent && state.agent.config) ? JSON.parse(JSON.stringify(state.agent.config)) : {};
    var p = base.customProperties || {};
    base.type = base.type || "org_agent";
    base.organizationId = base.organizationId || state.org;
    base.name = $("f-name").value;
    base.subtype = $("f-subtype").value.trim() || "primary";
    base.status = $("f-status").value;
    p.displayName = $("f-displayName").value;
    p.personality = $("f-personality").value;
    p.language = $("f-language").value.trim();
    p.additionalLanguages = $("f-additionalLanguages").value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    p.brandVoiceInstructions = $("f-brandVoiceInstructions").value;
    p.systemPrompt = $("f-systemPrompt").value;
    p.knowledgeDocIds = lines($("f-knowledgeDocIds").value);
    p.faqEntries = Array.prototype.map.call($("faq-list").children, function (row) {
      return { q: row.querySelector(".faq-q").value, a: row.querySelector(".faq-a").value };
    });
    p.enabledTools = getChecks("f-enabledTools");
    p.disabledTools = getChecks("f-disabledTools");
    p.autonomyLevel = $("f-autonomyLevel").value;
    p.maxMessagesPerDay = numberOr($("f-maxMessagesPerDay").value, p.maxMessagesPerDay);
    p.maxCostPerDay = numberOr($("f-maxCostPerDay").value, p.maxCostPerDay);
    p.requireApprovalFor = getChecks("f-requireApprovalFor");
    p.blockedTopics = lines($("f-blockedTopics").value);
    p.modelProvider = $("f-modelProvider").value.trim();
    p.modelId = $("f-modelId").value.trim();
    p.temperature = numberOr($("f-temperature").value, p.temperature);
    p.maxTokens = numberOr($("f-maxTokens").value, p.maxTokens);
    p.channelBindings = Array.prototype.map.call($("bindings-list").children, function (row) {
      var b = { channel: row.querySelector(".binding-channel").value, enabled: row.querySelector(".binding-enabled").checked };
      var address = row.querySelector(".binding-address").value.trim();
      if (address) b.address = address;
      return b;
    });
    base.customProperties = p;
    return base;
  }

  function clearProblems() {
    var box = $("settings-problems");
    clear(box); box.hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll("#settings-form .field-problem"), function (n) { n.remove(); });
    Array.prototype.forEach.call(document.querySelectorAll("#settings-form [aria-invalid]"), function (n) {
      n.removeAttribute("aria-invalid");
      var described = (n.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id.indexOf("problem-") !== 0; }).join(" ");
      if (described) n.setAttribute("aria-describedby", described); else n.removeAttribute("aria-describedby");
    });
  }

  /// Finds the form element for a problem's path, e.g. "customProperties.faqEntries[1].q".
  function fieldFor(path) {
    var form = $("settings-form");
    var candidate = path;
    while (candidate) {
      var found = null;
      Array.prototype.some.call(form.querySelectorAll("[data-path]"), function (n) {
        if (n.dataset.path === candidate) { found = n; return true; }
        return false;
      });
      if (found) return found;
      var cut = Math.max(candidate.lastIndexOf("."), candidate.lastIndexOf("["));
      if (cut <= 0) break;
      candidate = candidate.slice(0, cut);
    }
    if (path.indexOf("customProperties.") !== 0 && path.indexOf(".") < 0 && path.indexOf("[") < 0) {
      return fieldFor("customProperties." + path) || null;
    }
    return null;
  }

  var problemCounter = 0;
  function showProblems(problems, message) {
    clearProblems();
    var box = $("settings-problems");
    box.appendChild(el("p", { text: message || "The configuration was not saved:" }));
    var ul = el("ul");
    var firstField = null;
    problems.forEach(function (problem) {
      var text = asText(problem);
      var sep = text.indexOf(": ");
      var path = sep > 0 ? text.slice(0, sep).trim() : "";
      var field = path && !/\s/.test(path) ? fieldFor(path) : null;
      var li = el("li", { text: text });
      ul.appendChild(li);
      if (field) {
        var id = "problem-" + (++problemCounter);
        var note = el("p", { id: id, className: "field-problem error", text: sep > 0 ? text.slice(sep + 2) : text });
        var target = field.matches("input, select, textarea") ? field : field.querySelector("input, select, textarea, button");
        var container = field.closest(".field") || field;
        if (field.classList.contains("editor-row") || field.classList.contains("field")) container = field;
        container.appendChild(note);
        if (target) {
          target.setAttribute("aria-invalid", "true");
          target.setAttribute("aria-describedby", ((target.getAttribute("aria-describedby") || "") + " " + id).trim());
          if (!firstField) firstField = target;
        }
      }
    });
    box.appendChild(ul);
    box.hidden = false;
    box.setAttribute("tabindex", "-1");
    box.focus();
    return firstField;
  }

  function saveSettings(ev) {
    ev.preventDefault();
    if (!can("admin")) return;
    var config;
    try { config = collectConfig(); } catch (e) { showProblems([String(e)]); return; }
    var button = $("settings-save");
    button.disabled = true;
    $("settings-status").textContent = "Saving…";
    api("PUT", "/agent", config).then(function (result) {
      button.disabled = false;
      setDirty(false);
      $("settings-status").textContent = "Saved as revision " + (result && result.revision !== undefined ? result.revision : "?") + ".";
      notify("Agent settings saved.");
      loadAgent(true);
    }).catch(function (e) {
      button.disabled = false;
      $("settings-status").textContent = "Not saved.";
      if (e instanceof ApiError && e.status === 400) {
        var problems = e.problems && e.problems.length ? e.problems : [e.message];
        showProblems(problems, e.message && e.problems && e.problems.length ? e.message : null);
      } else {
        showProblems([errorText(e)], "The configuration was not saved:");
      }
    });
  }

  function setDirty(dirty) {
    state.settingsDirty = dirty;
    $("settings-status").textContent = dirty ? "Unsaved changes." : $("settings-status").textContent.replace("Unsaved changes.", "");
  }

  function markDirty() { if (!state.settingsDirty) setDirty(true); }

  // ---------------------------------------------------------------- ask your data

  function chatEntry(who, kind, text, extra) {
    var log = $("chat-log");
    var node = el("li", { className: "message " + kind }, [
      el("div", { className: "message-head" }, [el("span", { className: "who", text: who }), " ", timeEl(new Date().toISOString())]),
      el("p", { className: "text", text: text }),
      extra ? el("p", { className: "muted small", text: extra }) : null
    ]);
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  function sendChat(ev) {
    ev.preventDefault();
    var input = $("chat-input");
    var text = input.value.trim();
    if (!text || !can("operator")) return;
    var button = $("chat-send");
    button.disabled = true;
    chatEntry("you", "outbound human", text);
    input.value = "";
    var body = { text: text };
    if (state.chatSessionId) body.sessionId = state.chatSessionId;
    var waiting = chatEntry("agent", "inbound agent pending", "…thinking");
    api("POST", "/chat", body).then(function (result) {
      waiting.remove();
      if (result && result.sessionId) state.chatSessionId = result.sessionId;
      var reply = result ? asText(result.reply) : "";
      var outcome = result && result.outcome ? String(result.outcome) : "";
      chatEntry("agent", "inbound agent", reply || "(no reply)", outcome && outcome !== "replied" ? "outcome: " + outcome : null);
      button.disabled = false;
      input.focus();
    }).catch(function (e) {
      waiting.remove();
      chatEntry("error", "error", errorText(e));
      button.disabled = false;
      input.value = input.value || text;
      input.focus();
    });
  }

  // ---------------------------------------------------------------- wiring

  function ctrlEnter(textarea, form) {
    textarea.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });
  }

  function init() {
    $("signin-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = $("token-input").value.trim();
      var err = $("signin-error");
      if (!token) { err.textContent = "Enter your access token."; err.hidden = false; return; }
      var button = $("sign-in");
      button.disabled = true;
      err.hidden = true;
      signIn(token).then(function () {
        // The sign-in button just disappeared: put focus on the open section's tab.
        var tab = $("tab-" + state.panel);
        if (tab) tab.focus();
      }).catch(function (e) {
        state.token = null;
        err.textContent = e instanceof ApiError && e.status === 401 ? "This token is not accepted." : errorText(e);
        err.hidden = false;
        $("token-input").focus();
      }).then(function () { button.disabled = false; });
    });
    $("sign-out").addEventListener("click", function () { signOut(); });

    Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
      tab.addEventListener("click", function () { showPanel(tab.dataset.panel, false); });
    });

    $("sessions-status").addEventListener("change", refreshSessions);
    $("sessions-channel").addEventListener("change", refreshSessions);
    $("sessions-refresh").addEventListener("click", refreshSessions);
    $("session-close").addEventListener("click", closeSession);
    $("takeover").addEventListener("click", function () {
      withBusy($("takeover"), sessionAction("/takeover", undefined, "You have taken over the session")).then(function () {
        if (!$("reply-text").disabled) $("reply-text").focus();
      });
    });
    $("release").addEventListener("click", function () {
      withBusy($("release"), sessionAction("/release", undefined, "Released to the agent")).then(function () {
        if (!$("takeover").disabled) $("takeover").focus();
      });
    });
    $("reply-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = $("reply-text").value.trim();
      if (!text) { $("reply-text").focus(); return; }
      withBusy($("reply-send"), sessionAction("/reply", { text: text }, "Reply sent").then(function (outcome) {
        $("reply-text").value = "";
        return outcome;
      })).then(function () { $("reply-send").disabled = $("reply-text").disabled; $("reply-text").focus(); });
    });
    ctrlEnter($("reply-text"), $("reply-form"));

    $("approvals-state").addEventListener("change", refreshApprovals);
    $("activity-refresh").addEventListener("click", function () { refreshActivity(true); });
    $("activity-more").addEventListener("click", olderActivity);

    $("settings-form").addEventListener("submit", saveSettings);
    $("settings-form").addEventListener("input", markDirty);
    $("settings-form").addEventListener("change", markDirty);
    $("settings-reset").addEventListener("click", function () { setDirty(false); clearProblems(); loadAgent(true); });
    $("faq-add").addEventListener("click", function () { addFaqRow(null).querySelector("input").focus(); markDirty(); });
    $("binding-add").addEventListener("click", function () { addBindingRow(null).querySelector("select").focus(); markDirty(); });

    $("chat-form").addEventListener("submit", sendChat);
    ctrlEnter($("chat-input"), $("chat-form"));
    $("chat-new").addEventListener("click", function () { state.chatSessionId = null; clear($("chat-log")); $("chat-input").focus(); });

    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && state.org) {
        var form = ev.target && ev.target.closest && ev.target.closest(".decision-form");
        if (form) {
          form.hidden = true;
          var approve = form.parentNode.querySelector(".approve");
          if (approve) approve.focus();
        }
      }
    });
    window.addEventListener("beforeunload", function () { closeEvents(); });

    var saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
      signIn(saved).catch(function (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        state.token = null;
        signOut(e instanceof ApiError && e.status === 401 ? "Your token is no longer accepted. Please sign in again." : errorText(e));
      });
    } else {
      $("token-input").focus();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
