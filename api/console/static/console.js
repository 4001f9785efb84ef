// 天衢新区 值班机长工作台 — the captain's console. Vanilla JavaScript, no build step.
//
// Every piece of data comes from the API's scoped JSON routes, called with the captain's
// bearer token (kept in this tab's sessionStorage, never in a cookie or a URL). The live list
// is GET /incidents/stream (server-sent events), opened with a 60-second ticket from
// POST /incidents/stream/ticket because EventSource cannot send an Authorization header.
// Text is set with textContent only; the page's Content-Security-Policy allows no inline code.
"use strict";

(() => {
  const T = JSON.parse(document.getElementById("console-catalogue").textContent);
  const C = JSON.parse(document.getElementById("console-config").textContent);
  const TOKEN_KEY = "tianqu.console.token";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const GRADE_ORDER = ["I", "II", "III", "IV"]; // gravest first
  const PERIODS = ["day", "7d", "30d"];

  const S = {
    token: sessionStorage.getItem(TOKEN_KEY),
    me: null,
    onDuty: false,
    areas: [], // GET /areas: the caller's townships and villages
    incidents: new Map(), // id → {incident, version}: the open incidents of the area
    snapshots: 0,
    selected: null,
    detail: null, // the selected incident with its audit trail (GET /incidents/{id})
    form: null, // the action whose form is open
    offsetMs: 0, // server clock − this clock (the development clock may run ahead)
    source: null,
    reconnectTimer: null,
    period: "day",
    view: "incidents",
    fresh: new Map(), // id → time it arrived (highlighted for a while)
    cues: 0,
    beeps: 0,
    audio: null,
    timers: {},
  };

  // --- small helpers --------------------------------------------------------------------------

  const $ = (sel, root = document) => root.querySelector(sel);

  function t(key, vars) {
    let text = Object.prototype.hasOwnProperty.call(T, key) ? T[key] : key;
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, (m, k) => (k in vars && vars[k] != null ? String(vars[k]) : m));
    }
    return text;
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v != null) el.setAttribute(k, String(v));
    }
    for (const child of children.flat()) {
      if (child == null) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // replaceChildren without the holes (null) that conditional parts leave.
  function put(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c != null && c !== false));
    return el;
  }

  // Run fn once things are quiet for ms — but no later than maxMs after the first request, so a
  // burst of events cannot keep postponing it.
  function debounce(name, ms, fn, maxMs = 4 * ms) {
    const pending = S.timers[name];
    const since = pending ? pending.since : Date.now();
    if (pending) clearTimeout(pending.id);
    const wait = Math.max(0, Math.min(ms, since + maxMs - Date.now()));
    S.timers[name] = { since, id: setTimeout(() => { delete S.timers[name]; fn(); }, wait) };
  }

  const serverNow = () => Date.now() + S.offsetMs;

  function setClock(iso) {
    const at = Date.parse(iso);
    if (!Number.isNaN(at)) S.offsetMs = at - Date.now();
  }

  const locale = () => (document.documentElement.lang === "en" ? "en-GB" : "zh-CN");

  function fmtTime(iso, withDate = false) {
    if (!iso) return "—";
    const d = new Date(iso);
    const opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
                   timeZone: "Asia/Shanghai" };
    if (withDate) Object.assign(opts, { month: "2-digit", day: "2-digit" });
    return d.toLocaleString(locale(), opts);
  }

  function fmtSpan(ms) {
    const total = Math.max(0, Math.round(ms / 1000));
    const hh = Math.floor(total / 3600);
    const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
    const ss = String(total % 60).padStart(2, "0");
    return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function fmtDuration(seconds) {
    if (seconds == null) return "—";
    if (seconds < 60) return t("unit.seconds", { n: Math.round(seconds) });
    if (seconds < 3600) return t("unit.minutes", { n: (seconds / 60).toFixed(1) });
    return t("unit.hours", { n: (seconds / 3600).toFixed(1) });
  }

  const fmtRate = (rate) => (rate == null ? "—" : `${(rate * 100).toFixed(1)}%`);
  const levelName = (level) => t(`level.${level}`);
  const gradeLabel = (g) => `${C.grades[g].numeral} ${t(`grade.${g}`)}`;
  const stateName = (state) => t(`state.${state}`);
  const rank = (level) => C.levels[level].rank;

  // Names of areas from the base map (the roster's public geography).
  const TOWNSHIPS = new Map(C.basemap.townships.map((tw) => [tw.id, tw]));
  const VILLAGES = new Map();
  for (const tw of C.basemap.townships) for (const v of tw.villages) VILLAGES.set(v.id, { ...v, township: tw.id });

  function areaName(township, village) {
    if (!township) return C.basemap.name;
    const tw = TOWNSHIPS.get(township);
    const parts = [tw ? tw.name : township];
    if (village) parts.push(VILLAGES.has(village) ? VILLAGES.get(village).name : village);
    return parts.join(" ");
  }

  // --- the API ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
      this.detail = detail;
    }
  }

  function describe(body, status) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => {
          const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body" && p !== "query").join(".") : "";
          return where ? `${where}: ${d.msg}` : d.msg;
        })
        .join("; ");
    }
    return t("error.status", { status });
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers };
    if (path !== "/auth/login") headers.Authorization = `Bearer ${S.token}`;
    if (body instanceof URLSearchParams) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, t("error.network"));
    }
    const data = res.headers.get("content-type")?.includes("json") ? await res.json().catch(() => null) : null;
    if (res.status === 401 && path !== "/auth/login") {
      logout(t("login.expired"));
      throw new ApiError(401, describe(data, 401));
    }
    if (!res.ok) throw new ApiError(res.status, describe(data, res.status));
    return data;
  }

  // --- login -----------------------------------------------------------------------------------

  function unlockAudio() {
    // Browsers allow sound only after a gesture: the login button (or the first tap) is one.
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!S.audio && Ctx) S.audio = new Ctx();
      if (S.audio && S.audio.state === "suspended") S.audio.resume();
    } catch (err) {
      S.audio = null;
    }
  }

  async function onLogin(ev) {
    ev.preventDefault();
    unlockAudio();
    const form = ev.currentTarget;
    const error = $("#login-error");
    error.hidden = true;
    const button = $("button[type=submit]", form);
    button.disabled = true;
    try {
      const body = new URLSearchParams({ username: form.username.value.trim(), password: form.password.value });
      const token = await api("POST", "/auth/login", body);
      S.token = token.access_token;
      sessionStorage.setItem(TOKEN_KEY, S.token);
      form.password.value = "";
      await start();
    } catch (err) {
      error.textContent = err.status === 401 ? t("login.wrong") : `${t("login.failed")}: ${err.detail || err.message}`;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    S.snapshots = 0;
    S.token = null;
    if (S.source) S.source.close();
    S.source = null;
    clearTimeout(S.reconnectTimer);
    S.incidents.clear();
    $("#app-view").hidden = true;
    $("#who").hidden = true;
    $("#logout").hidden = true;
    $("#login-view").hidden = false;
    setLive("off");
    const error = $("#login-error");
    error.textContent = message || "";
    error.hidden = !message;
  }

  async function start() {
    const [me, areas] = await Promise.all([api("GET", "/auth/me"), api("GET", "/areas")]);
    S.me = me;
    S.areas = areas;
    S.onDuty = false;
    try {
      const duty = await api("GET", "/duty/now");
      S.onDuty = duty.levels.some((l) => l.level === me.level && l.captain && l.captain.id === me.id && me.kind === "user");
    } catch (err) {
      S.onDuty = false; // the duty chain is a nicety; the console works without it
    }
    renderWho();
    $("#login-view").hidden = true;
    $("#app-view").hidden = false;
    $("#logout").hidden = false;
    $("#tab-overview").hidden = false;
    connect();
    loadKpis();
    route();
  }

  function renderWho() {
    const me = S.me;
    const role = me.role === "captain" ? (S.onDuty ? t("role.on_duty") : t("role.captain")) : t(`role.${me.role}`);
    const who = $("#who");
    who.textContent = `${levelName(me.level)} · ${areaName(me.township, me.village)} · ${role} ${me.name}`;
    who.hidden = false;
    document.body.dataset.level = me.level;
  }

  // --- the live stream -------------------------------------------------------------------------

  function setLive(state) {
    const el = $("#live");
    el.dataset.state = state;
    el.textContent = t(`live.${state}`);
  }

  async function connect() {
    clearTimeout(S.reconnectTimer);
    if (S.source) S.source.close();
    S.source = null;
    if (!S.token) return;
    setLive("connecting");
    let ticket;
    try {
      ticket = await api("POST", "/incidents/stream/ticket");
    } catch (err) {
      if (err.status !== 401) reconnect(5000);
      return;
    }
    const es = new EventSource(ticket.url);
    S.source = es;
    const on = (name, fn) => es.addEventListener(name, (e) => {
      if (S.source === es) fn(JSON.parse(e.data));
    });
    on("hello", (d) => {
      setClock(d.now);
      setLive("live");
    });
    on("snapshot", applySnapshot);
    on("incident", applyEvent);
    on("clock", (d) => setClock(d.now));
    on("reset", () => reconnect(0));
    on("bye", (d) => {
      if (d.reason === "account") logout(t("login.expired"));
      else reconnect(d.reason === "stopping" ? 3000 : 0);
    });
    es.onerror = () => {
      if (S.source !== es) return;
      setLive("connecting");
      // CLOSED: refused (an expired ticket); otherwise the browser retries by itself.
      if (es.readyState === EventSource.CLOSED) reconnect(3000);
    };
  }

  function reconnect(delayMs) {
    if (S.source) S.source.close();
    S.source = null;
    setLive("connecting");
    clearTimeout(S.reconnectTimer);
    S.reconnectTimer = setTimeout(connect, delayMs);
  }

  function applySnapshot(data) {
    const first = S.snapshots === 0;
    S.snapshots += 1;
    const known = S.incidents;
    S.incidents = new Map();
    for (const { incident, version } of data.items) {
      const had = known.get(incident.id);
      S.incidents.set(incident.id, had && had.version > version ? had : { incident, version });
      // Raised while this console was not connected: it is new to the captain.
      if (!first && !had) cue(incident);
    }
    $("#list-truncated").hidden = data.total <= data.items.length;
    renderList();
    renderKpiCounts();
    if (!first) debounce("kpis", 500, loadKpis);
    if (S.view === "overview") renderOverview();
  }

  function applyEvent(d) {
    const inc = d.incident;
    // A step's time is the server's clock: a development clock moved forward shows at once.
    const at = Date.parse(d.at);
    if (at > serverNow()) S.offsetMs = at - Date.now();
    const had = S.incidents.get(inc.id);
    if (had && had.version > d.version) return; // older than what we show
    if (inc.open) S.incidents.set(inc.id, { incident: inc, version: d.version });
    else S.incidents.delete(inc.id);
    if (d.action === "raised" && !had) cue(inc);
    renderList();
    renderKpiCounts();
    if (S.selected === inc.id) debounce("detail", 300, () => loadDetail(inc.id, true));
    debounce("kpis", 1500, loadKpis);
    if (S.view === "overview") debounce("overview", 500, renderOverview);
  }

  // --- the new-incident cue: a banner, a highlight and a beep ----------------------------------

  function cue(inc) {
    S.cues += 1;
    document.body.dataset.cues = String(S.cues);
    S.fresh.set(inc.id, Date.now());
    const banner = $("#cue");
    banner.className = `cue grade-${inc.grade}`;
    banner.textContent = t("cue.new", { grade: gradeLabel(inc.grade), title: inc.rule_name,
                                         area: areaName(inc.township, inc.village) });
    banner.hidden = false;
    banner.onclick = () => select(inc.id);
    debounce("cue", 10000, () => { banner.hidden = true; }, Infinity); // 10 s after the latest
    beep(C.grades[inc.grade].severity);
  }

  function beep(severity) {
    unlockAudio();
    if (!S.audio) return;
    try {
      const ctx = S.audio;
      const times = Math.min(3, Math.max(1, severity - 1)); // graver grades beep more
      for (let i = 0; i < times; i += 1) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        const at = ctx.currentTime + i * 0.25;
        osc.type = "sine";
        osc.frequency.value = severity >= 3 ? 1046 : 880;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
        osc.connect(gain).connect(ctx.destination);
        osc.start(at);
        osc.stop(at + 0.2);
      }
      if (ctx.state === "running") {
        S.beeps += 1; // heard, not merely scheduled on a context the browser keeps muted
        document.body.dataset.beeps = String(S.beeps);
      }
    } catch (err) {
      // no sound device: the banner and the highlight remain
    }
  }

  // --- the list --------------------------------------------------------------------------------

  function sorted() {
    return [...S.incidents.values()]
      .map((x) => x.incident)
      .sort((a, b) => C.grades[b.grade].severity - C.grades[a.grade].severity
        || Date.parse(b.raised_at) - Date.parse(a.raised_at) || b.id - a.id);
  }

  function countdown(inc) {
    // Time left before it goes one level up (from its escalation timer), or the handling deadline.
    const now = serverNow();
    if (inc.state === "raised") {
      if (!inc.escalates_at) return { text: t("countdown.top", { minutes: Math.round(C.reminder_every_s / 60) }), urgent: true };
      const left = Date.parse(inc.escalates_at) - now;
      const next = inc.level === "village" ? "township" : "district";
      if (left <= 0) return { text: t("countdown.due", { level: levelName(next) }), urgent: true };
      return { text: t("countdown.escalates", { time: fmtSpan(left), level: levelName(next) }), urgent: left < 120000 };
    }
    if (inc.deadline_at && !inc.resolved_at) {
      const left = Date.parse(inc.deadline_at) - now;
      if (left <= 0) return { text: t("countdown.overdue", { time: fmtSpan(-left) }), urgent: true };
      return { text: t("countdown.deadline", { time: fmtSpan(left) }), urgent: false };
    }
    return null;
  }

  function renderList() {
    const list = $("#incident-list");
    const items = sorted();
    put(list, ...items.map(listItem));
    $("#list-empty").hidden = items.length > 0;
    $("#list-count").textContent = t("list.count", { n: items.length });
  }

  function listItem(inc) {
    const cd = countdown(inc);
    const fresh = S.fresh.has(inc.id) && Date.now() - S.fresh.get(inc.id) < 15000;
    return h("li", {
      class: `incident grade-${inc.grade}${S.selected === inc.id ? " selected" : ""}${fresh ? " fresh" : ""}`,
      dataset: { id: inc.id, state: inc.state, grade: inc.grade },
      tabindex: 0,
      role: "button",
      "aria-label": `${gradeLabel(inc.grade)} ${inc.rule_name}`,
      onclick: () => select(inc.id),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(inc.id); } },
    },
    h("span", { class: `badge grade-${inc.grade}` }, gradeLabel(inc.grade)),
    h("span", { class: "main" },
      h("strong", { class: "title" }, inc.rule_name),
      h("span", { class: "sub" }, `${areaName(inc.township, inc.village)} · ${inc.subject || inc.device_id || ""}`)),
    h("span", { class: "meta" },
      h("span", { class: `state state-${inc.state}` }, stateName(inc.state)),
      h("span", { class: "level" }, levelName(inc.level)),
      h("span", { class: "raised" }, fmtTime(inc.raised_at)),
      cd ? h("span", { class: `countdown${cd.urgent ? " urgent" : ""}`, dataset: { id: inc.id } }, cd.text) : null));
  }

  function tick() {
    const open = S.detail;
    if (open && $("#chart") && Date.now() - (S.chartDrawnAt || 0) > CHART_REFRESH_MS
        && serverNow() < Date.parse(open.observed_at) + 30 * 60000) {
      drawReadings(open, true);
    }
    // Countdowns move every second without re-rendering the list.
    for (const el of document.querySelectorAll(".countdown[data-id]")) {
      const held = S.incidents.get(Number(el.dataset.id));
      const inc = held ? held.incident : S.detail && S.detail.id === Number(el.dataset.id) ? S.detail : null;
      if (!inc) continue;
      const cd = countdown(inc);
      if (cd) {
        el.textContent = cd.text;
        el.classList.toggle("urgent", cd.urgent);
      }
    }
    for (const [id, at] of S.fresh) {
      if (Date.now() - at > 15000) {
        S.fresh.delete(id);
        document.querySelector(`#incident-list li[data-id="${id}"]`)?.classList.remove("fresh");
      }
    }
  }

  // --- KPIs ------------------------------------------------------------------------------------

  function renderKpiCounts() {
    const counts = Object.fromEntries(GRADE_ORDER.map((g) => [g, 0]));
    for (const { incident } of S.incidents.values()) counts[incident.grade] += 1;
    for (const g of GRADE_ORDER) {
      const el = $(`#kpi-open-${g}`);
      el.textContent = String(counts[g]);
      el.parentElement.classList.toggle("zero", counts[g] === 0);
    }
  }

  async function loadKpis() {
    if (!S.token) return;
    try {
      const report = await api("GET", `/kpis?period=${S.period}`);
      const v = report.totals;
      $("#kpi-completion").textContent = fmtRate(v.completion_rate);
      $("#kpi-ontime").textContent = fmtRate(v.on_time_rate);
      $("#kpi-mtta").textContent = fmtDuration(v.mtta_s);
      $("#kpi-mttr").textContent = fmtDuration(v.mttr_s);
      $("#kpi-raised").textContent = String(v.raised);
      $("#kpis").dataset.loaded = "true";
    } catch (err) {
      $("#kpi-completion").textContent = "—";
    }
  }

  // --- routing: #/incidents, #/incidents/<id>, #/overview --------------------------------------

  function route() {
    const hash = location.hash || "#/incidents";
    // The language switch keeps the view (the token stays in this tab's sessionStorage).
    for (const a of document.querySelectorAll(".langs a")) a.href = `?lang=${a.dataset.lang}${hash}`;
    const m = hash.match(/^#\/incidents\/(\d+)$/);
    if (hash === "#/overview") {
      show("overview");
    } else {
      show("incidents");
      if (m) loadDetail(Number(m[1]));
      else clearDetail();
    }
  }

  function show(view) {
    S.view = view;
    $("#incidents-view").hidden = view !== "incidents";
    $("#overview-view").hidden = view !== "overview";
    $("#tab-incidents").setAttribute("aria-selected", String(view === "incidents"));
    $("#tab-overview").setAttribute("aria-selected", String(view === "overview"));
    document.body.dataset.view = view;
    if (view === "overview") renderOverview();
  }

  function select(id) {
    location.hash = `#/incidents/${id}`;
  }

  function clearDetail() {
    S.selected = null;
    S.detail = null;
    document.body.classList.remove("has-detail");
    put($("#detail"), h("p", { class: "placeholder" }, t("detail.pick")));
    renderList();
  }

  // --- one incident ----------------------------------------------------------------------------

  async function loadDetail(id, quiet = false) {
    if (S.selected !== id) S.form = null;
    S.selected = id;
    document.body.classList.add("has-detail");
    renderList();
    const pane = $("#detail");
    if (!quiet) put(pane, h("p", { class: "placeholder" }, t("detail.loading")));
    try {
      const detail = await api("GET", `/incidents/${id}`);
      if (S.selected !== id) return;
      S.detail = detail;
      renderDetail(null);
    } catch (err) {
      if (S.selected !== id) return;
      S.detail = null;
      const text = err.status === 404 ? t("detail.not_found") : `${t("error.load")}: ${err.detail}`;
      put(pane, backButton(), h("p", { class: "error", role: "alert", id: "detail-error" }, text));
    }
  }

  function backButton() {
    return h("button", { type: "button", class: "back", onclick: () => { location.hash = "#/incidents"; } }, t("detail.back"));
  }

  function fact(label, value, attrs) {
    return [h("dt", {}, label), h("dd", attrs || {}, value == null || value === "" ? "—" : value)];
  }

  function renderDetail(error) {
    const inc = S.detail;
    const pane = $("#detail");
    // A refresh (another captain's step, a reminder) must not lose what is being typed.
    const open = $(".action-form", pane);
    const draft = open && open.dataset.action === S.form
      ? Object.fromEntries([...open.elements].filter((e) => e.name).map((e) => [e.name, e.value])) : null;
    const cd = countdown(inc);
    const value = inc.last_value == null ? null : `${inc.last_value}${inc.unit ? ` ${inc.unit}` : ""}`;
    put(pane,
      backButton(),
      h("header", { class: `detail-head grade-${inc.grade}`, dataset: { id: inc.id, state: inc.state } },
        h("span", { class: `badge grade-${inc.grade}` }, gradeLabel(inc.grade)),
        h("h2", {}, inc.rule_name),
        h("span", { class: `state state-${inc.state}`, id: "detail-state" }, stateName(inc.state))),
      h("p", { class: "summary" }, inc.summary),
      error ? h("p", { class: "error", role: "alert", id: "action-error" }, error) : null,
      actionBar(inc),
      S.form ? actionForm(inc, S.form) : null,
      h("dl", { class: "facts" },
        fact(t("detail.area"), areaName(inc.township, inc.village)),
        fact(t("detail.device"), inc.device_id),
        fact(t("detail.value"), value),
        fact(t("detail.threshold"), inc.threshold),
        fact(t("detail.level"), levelName(inc.level)),
        fact(t("detail.countdown"), cd ? cd.text : null, { class: cd ? `countdown${cd.urgent ? " urgent" : ""}` : "", dataset: { id: inc.id } }),
        fact(t("detail.duty_captain"), inc.duty_captain ? `${inc.duty_captain.display_name} (${inc.duty_captain.username})` : null),
        fact(t("detail.handler"), [inc.assignee ? inc.assignee.display_name : null, inc.team].filter(Boolean).join(" · ")),
        fact(t("detail.raised"), fmtTime(inc.raised_at, true)),
        fact(t("detail.occurrences"), String(inc.occurrences))),
      h("section", { class: "panels" },
        h("figure", { class: "panel" }, h("figcaption", {}, t("detail.readings", { quantity: inc.quantity ? t(`quantity.${inc.quantity}`) : "" })),
          s("svg", { id: "chart", viewBox: "0 0 600 220", role: "img", "aria-label": t("detail.readings", { quantity: inc.quantity || "" }) })),
        h("figure", { class: "panel" }, h("figcaption", {}, t("detail.map")),
          s("svg", { id: "map", viewBox: "0 0 600 360", role: "img", "aria-label": t("detail.map") }))),
      h("section", { class: "audit" },
        h("h3", {}, t("detail.audit")),
        h("ol", { id: "audit" }, inc.audit.map(auditItem))),
    );
    const form = $(".action-form", pane);
    if (form && draft) {
      for (const [name, value] of Object.entries(draft)) {
        const field = form.elements[name];
        if (!field) continue;
        field.value = value;
        if (field.tagName === "SELECT") field.dataset.want = value; // its options load later
      }
      form.dataset.draft = "kept";
    } else if (form) {
      setTimeout(() => $("textarea, input", form)?.focus(), 0);
    }
    drawReadings(inc);
    drawIncidentMap(inc);
  }

  function auditItem(e) {
    const states = e.to_state && e.from_state !== e.to_state
      ? `${e.from_state ? stateName(e.from_state) : "—"} → ${stateName(e.to_state)}` : "";
    return h("li", { dataset: { action: e.action } },
      h("time", { datetime: e.at }, fmtTime(e.at, true)),
      h("strong", { class: "action" }, t(`audit.${e.action}`)),
      h("span", { class: "actor" }, `${e.actor_name}${e.actor_level ? ` · ${levelName(e.actor_level)}` : ""}`),
      states ? h("span", { class: "states" }, states) : null,
      e.comment ? h("q", { class: "comment" }, e.comment) : null);
  }

  // The buttons the loop allows from the current state; command steps only for a captain at the
  // holding level or above (the API answers 403 otherwise, and says so).
  const ACTIONS = ["acknowledge", "dispatch", "note", "resolve", "verify", "close", "reopen"];

  function actionBar(inc) {
    if (!["captain", "admin"].includes(S.me.role)) return h("p", { class: "hint" }, t("action.read_only"));
    const buttons = ACTIONS.filter((a) => C.transitions[a].from.includes(inc.state)).map((a) => {
      const held = C.commanding.includes(a) && rank(S.me.level) > rank(inc.level);
      return h("button", {
        type: "button",
        class: `action action-${a}${S.form === a ? " active" : ""}`,
        dataset: { action: a },
        disabled: held,
        title: held ? t("action.held_by", { level: levelName(inc.level) }) : null,
        onclick: () => { S.form = S.form === a ? null : a; renderDetail(null); },
      }, t(`action.${a}`));
    });
    const held = buttons.some((b) => b.disabled);
    return h("div", { class: "actions" }, buttons,
      held ? h("p", { class: "hint" }, t("action.held_by", { level: levelName(inc.level) })) : null);
  }

  function actionForm(inc, action) {
    const needsComment = action === "acknowledge" || action === "note" || action === "reopen";
    const fields = [];
    if (action === "dispatch") {
      fields.push(h("label", {}, t("form.team"), h("input", { name: "team", autocomplete: "off", placeholder: t("form.team_hint") })));
      const select = h("select", { name: "assignee" }, h("option", { value: "" }, t("form.nobody")));
      fields.push(h("label", {}, t("form.assignee"), select));
      loadAssignees(inc, select);
    }
    fields.push(h("label", {}, needsComment ? t("form.comment_required") : t("form.comment"),
      h("textarea", { name: "comment", rows: 3, required: needsComment, maxlength: 2000 })));
    const form = h("form", { class: "action-form", dataset: { action }, onsubmit: (e) => submitAction(e, inc, action) },
      h("h3", {}, t(`action.${action}`)),
      fields,
      h("div", { class: "form-buttons" },
        h("button", { type: "submit", class: "primary" }, t("form.submit")),
        h("button", { type: "button", "data-cancel": true, onclick: () => { S.form = null; renderDetail(null); } }, t("form.cancel"))));
    return form;
  }

  async function loadAssignees(inc, select) {
    try {
      const params = new URLSearchParams({ township: inc.township });
      if (inc.village) params.set("village", inc.village);
      const duty = await api("GET", `/duty/now?${params}`);
      const seen = new Set();
      for (const level of duty.levels) {
        for (const p of [level.captain, ...level.deputies].filter(Boolean)) {
          if (seen.has(p.id)) continue;
          seen.add(p.id);
          select.append(h("option", { value: p.id }, `${p.display_name} (${levelName(p.level)})`));
        }
      }
      if (select.dataset.want) select.value = select.dataset.want;
    } catch (err) {
      // outside the caller's area or no roster: dispatch to a team
    }
  }

  async function submitAction(ev, inc, action) {
    ev.preventDefault();
    const form = ev.currentTarget;
    const comment = form.comment.value.trim();
    const body = {};
    if (comment) body.comment = comment;
    if (action === "dispatch") {
      if (form.team.value.trim()) body.team = form.team.value.trim();
      if (form.assignee.value) body.assignee_user_id = Number(form.assignee.value);
    }
    const path = `/incidents/${inc.id}/${action === "note" ? "notes" : action}`;
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    try {
      const detail = await api("POST", path, body);
      S.form = null;
      S.detail = detail;
      const held = S.incidents.get(detail.id);
      if (detail.open && held) held.incident = detail;
      else if (!detail.open) S.incidents.delete(detail.id);
      renderDetail(null);
      renderList();
      debounce("kpis", 500, loadKpis);
    } catch (err) {
      renderDetail(t("error.action", { action: t(`action.${action}`), status: err.status, detail: err.detail }));
    }
  }

  // --- the readings around it: an inline SVG chart ---------------------------------------------

  // While the half hour after the incident is still running, new readings join the chart.
  const CHART_REFRESH_MS = 30000;

  async function drawReadings(inc, refresh = false) {
    const svg = $("#chart");
    if (!svg) return;
    S.chartDrawnAt = Date.now();
    const note = (text) => put(svg, s("text", { x: 300, y: 110, "text-anchor": "middle", class: "chart-note" }, text));
    if (!inc.device_id || !inc.quantity) {
      note(t("chart.none"));
      return;
    }
    if (C.text_fields.includes(inc.quantity)) {
      note(t("chart.text"));
      return;
    }
    if (!refresh) note(t("detail.loading"));
    const observed = Date.parse(inc.observed_at);
    const start = new Date(observed - 30 * 60000).toISOString();
    const end = new Date(Math.min(observed + 30 * 60000, Date.now() + 60000)).toISOString();
    const params = new URLSearchParams({ field: inc.quantity, start, end, aggregation: "mean" });
    let points;
    try {
      const history = await api("GET", `/devices/${encodeURIComponent(inc.device_id)}/readings/history?${params}`);
      points = (history.series[0]?.points || []).filter((p) => typeof p.value === "number");
    } catch (err) {
      if (refresh) return; // keep what is drawn; the next refresh tries again
      note(err.status === 404 ? t("chart.no_device") : `${t("error.load")}: ${err.detail}`);
      return;
    }
    if (S.detail?.id !== inc.id) return;
    if (points.length === 0) {
      note(t("chart.empty"));
      return;
    }
    const W = 600, H = 220, L = 52, R = 12, TOP = 14, B = 30;
    const xs = points.map((p) => Date.parse(p.time));
    const x0 = Math.min(...xs, observed - 60000), x1 = Math.max(...xs, observed + 60000);
    const threshold = Number.parseFloat(String(inc.threshold).replace(/^[^\d-]+/, ""));
    const ys = points.map((p) => p.value).concat(Number.isFinite(threshold) ? [threshold] : []);
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (y0 === y1) { y0 -= 1; y1 += 1; }
    const pad = (y1 - y0) * 0.1;
    y0 -= pad; y1 += pad;
    const X = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
    const Y = (v) => TOP + (1 - (v - y0) / (y1 - y0)) * (H - TOP - B);
    const ticks = [y0 + pad, (y0 + y1) / 2, y1 - pad];
    const fmtY = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
    put(svg,
      s("rect", { x: L, y: TOP, width: W - L - R, height: H - TOP - B, class: "chart-frame" }),
      ...ticks.map((v) => s("g", {},
        s("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: "chart-grid" }),
        s("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end", class: "chart-label" }, fmtY(v)))),
      Number.isFinite(threshold) ? s("line", { x1: L, x2: W - R, y1: Y(threshold), y2: Y(threshold), class: "chart-threshold" }) : null,
      s("line", { x1: X(observed), x2: X(observed), y1: TOP, y2: H - B, class: "chart-observed" }),
      s("polyline", { class: `chart-line grade-${inc.grade}`, points: points.map((p) => `${X(Date.parse(p.time)).toFixed(1)},${Y(p.value).toFixed(1)}`).join(" ") }),
      ...points.map((p) => s("circle", { cx: X(Date.parse(p.time)), cy: Y(p.value), r: 2.5, class: "chart-dot" })),
      s("text", { x: L, y: H - 8, class: "chart-label" }, fmtTime(new Date(x0).toISOString())),
      s("text", { x: W - R, y: H - 8, "text-anchor": "end", class: "chart-label" }, fmtTime(new Date(x1).toISOString())),
      s("text", { x: X(observed) + 4, y: TOP + 12, class: "chart-label" }, t("chart.observed")),
      s("text", { x: L + 4, y: TOP + 12, class: "chart-label" }, inc.unit || ""),
    );
    svg.dataset.points = String(points.length);
  }

  // --- the light map: the roster's villages, projected, no tiles --------------------------------

  function projector(W, margin) {
    // Equirectangular at the district's latitude: fine for 30 km; the height follows the bounds.
    const b = C.basemap.bounds;
    const k = Math.cos(((b.north + b.south) / 2) * (Math.PI / 180));
    const scale = (W - 2 * margin) / ((b.east - b.west) * k);
    const H = Math.round((b.north - b.south) * scale + 2 * margin);
    const P = (lat, lon) => [margin + (lon - b.west) * k * scale, margin + (b.north - lat) * scale];
    return { P, H };
  }

  function baseMap(svg, fill) {
    const W = 600;
    const { P, H } = projector(W, 22);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const mine = new Set(S.areas.flatMap((tw) => tw.villages.map((v) => v.id)));
    const b = C.basemap.bounds;
    const [bx0, by0] = P(b.north, b.west);
    const [bx1, by1] = P(b.south, b.east);
    const layers = [s("rect", { x: bx0 - 12, y: by0 - 12, width: bx1 - bx0 + 24, height: by1 - by0 + 24, class: "map-bounds", rx: 10 })];
    for (const tw of C.basemap.townships) {
      for (const v of tw.villages) {
        const [x, y] = P(v.lat, v.lon);
        const colour = fill ? fill(v, tw) : null;
        layers.push(s("circle", { cx: x, cy: y, r: colour ? 7 : 4.5, class: `map-village${mine.has(v.id) ? " mine" : ""}${colour ? ` grade-${colour}` : ""}`, "data-village": v.id },
          s("title", {}, `${tw.name} ${v.name}`)));
      }
      const [x, y] = P(tw.lat, tw.lon);
      layers.push(s("text", { x, y: y - 10, "text-anchor": "middle", class: "map-label" }, tw.name));
    }
    put(svg, ...layers);
    return P;
  }

  async function drawIncidentMap(inc) {
    const svg = $("#map");
    const P = baseMap(svg, null);
    let lat = inc.lat, lon = inc.lon, label = inc.device_id || inc.subject;
    if ((lat == null || lon == null) && inc.device_id) {
      try {
        const device = await api("GET", `/devices/${encodeURIComponent(inc.device_id)}`);
        lat = device.lat;
        lon = device.lon;
      } catch (err) {
        // not registered: fall back to the village's position
      }
    }
    if ((lat == null || lon == null) && inc.village && VILLAGES.has(inc.village)) {
      ({ lat, lon } = VILLAGES.get(inc.village));
      label = VILLAGES.get(inc.village).name;
    }
    if (lat == null || lon == null || S.detail?.id !== inc.id) return;
    const [x, y] = P(lat, lon);
    svg.append(
      s("circle", { cx: x, cy: y, r: 16, class: `map-pulse grade-${inc.grade}` }),
      s("circle", { cx: x, cy: y, r: 7, class: `map-device grade-${inc.grade}`, id: "map-device" }),
      s("text", { x, y: y + 30, "text-anchor": "middle", class: "map-device-label" }, label || ""));
    svg.dataset.device = `${lat},${lon}`;
  }

  // --- the area overview: townships (or villages) at a glance ----------------------------------

  function children() {
    // District: the townships; a township: its villages; a village: itself.
    const me = S.me;
    if (me.level === "district") {
      return S.areas.map((tw) => ({ id: tw.id, name: tw.name, township: tw.id, village: null, match: (i) => i.township === tw.id }));
    }
    return S.areas.flatMap((tw) => tw.villages.map((v) => ({ id: v.id, name: `${v.name}`, township: tw.id, village: v.id,
      match: (i) => i.township === tw.id && i.village === v.id })));
  }

  function gradeCount(g, n) {
    return h("li", { class: `grade-${g}${n === 0 ? " zero" : ""}`, title: gradeLabel(g) },
      h("span", { class: "n" }, String(n)), h("span", {}, C.grades[g].numeral));
  }

  function worst(incidents) {
    return GRADE_ORDER.find((g) => incidents.some((i) => i.grade === g)) || null;
  }

  async function renderOverview() {
    if (!S.me) return;
    const grid = $("#overview-grid");
    const open = sorted();
    const areas = children();
    $("#overview-title").textContent = t(S.me.level === "district" ? "overview.townships" : "overview.villages",
      { area: areaName(S.me.township, S.me.village) });
    put(grid, ...areas.map((a) => {
      const mine = open.filter(a.match);
      const w = worst(mine);
      return h("article", { class: `area-card${w ? ` grade-${w}` : " calm"}`, dataset: { area: a.id, worst: w || "none", open: mine.length } },
        h("h3", {}, a.name),
        h("p", { class: "worst" }, w ? t("overview.worst", { grade: gradeLabel(w) }) : t("overview.calm")),
        h("ul", { class: "grade-counts" }, GRADE_ORDER.slice().reverse().map((g) =>
          gradeCount(g, mine.filter((i) => i.grade === g).length))),
        h("p", { class: "completion" }, t("overview.completion"), " ", h("strong", { dataset: { kpi: a.id } }, "…")));
    }));
    const worstByVillage = new Map();
    for (const i of open) {
      if (!i.village) continue;
      const w = worstByVillage.get(i.village);
      if (!w || C.grades[i.grade].severity > C.grades[w].severity) worstByVillage.set(i.village, i.grade);
    }
    baseMap($("#overview-map"), (v) => worstByVillage.get(v.id) || null);
    document.body.dataset.overview = "drawn";
    const rates = await Promise.all(areas.map(async (a) => {
      const params = new URLSearchParams({ period: S.period, township: a.township });
      if (a.village) params.set("village", a.village);
      try {
        return (await api("GET", `/kpis?${params}`)).totals.completion_rate;
      } catch (err) {
        return null;
      }
    }));
    areas.forEach((a, i) => {
      const el = grid.querySelector(`strong[data-kpi="${a.id}"]`);
      if (el) el.textContent = fmtRate(rates[i]);
    });
    document.body.dataset.overview = "loaded";
  }

  // --- wiring ----------------------------------------------------------------------------------

  function init() {
    $("#login-form").addEventListener("submit", onLogin);
    $("#logout").addEventListener("click", () => logout(null));
    $("#tab-incidents").addEventListener("click", () => { location.hash = S.selected ? `#/incidents/${S.selected}` : "#/incidents"; });
    $("#tab-overview").addEventListener("click", () => { location.hash = "#/overview"; });
    $("#kpi-period").addEventListener("change", (e) => {
      S.period = e.target.value;
      loadKpis();
      if (S.view === "overview") renderOverview();
    });
    for (const p of PERIODS) $("#kpi-period").append(h("option", { value: p }, t(`period.${p}`)));
    document.addEventListener("pointerdown", unlockAudio, { once: true });
    window.addEventListener("hashchange", () => { if (S.me) route(); });
    setInterval(tick, 1000);
    setLive("off");
    if (S.token) {
      start().catch((err) => { if (err.status !== 401) logout(`${t("error.load")}: ${err.detail}`); });
    } else {
      $("#login-view").hidden = false;
    }
    window.tianquConsole = S; // for the browser tests and a curious captain's devtools
  }

  init();
})();
