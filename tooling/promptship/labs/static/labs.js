// promptship labs: the little JavaScript the pages need (no build step, no dependencies).
// Everything a model or a file says is put into the page with textContent, never as HTML.
"use strict";

const csrf = () => document.querySelector('meta[name="labs-csrf"]').content;

async function postJson(url, body) {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Labs-CSRF": csrf() },
    body: JSON.stringify(body),
  });
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

async function errorText(response) {
  try {
    const body = await response.json();
    const e = body.error || {};
    return `error[${e.code || response.status}] ${e.message || response.statusText}` + (e.hint ? `\nhint: ${e.hint}` : "");
  } catch (_) {
    return `HTTP ${response.status}`;
  }
}

// ---- single test -------------------------------------------------------------------------
function setupTest() {
  const form = document.getElementById("test-form");
  if (!form) return;
  const items = JSON.parse(document.getElementById("items-data").textContent || "[]");
  document.getElementById("prompt-select").addEventListener("change", (e) => {
    window.location.href = "/test?prompt=" + encodeURIComponent(e.target.value);
  });
  document.getElementById("item-select").addEventListener("change", (e) => {
    const item = items.find((i) => i.key === e.target.value);
    for (const field of form.querySelectorAll("[data-var]")) {
      field.value = item && item.input[field.dataset.var] !== undefined ? item.input[field.dataset.var] : "";
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const answers = document.getElementById("answers");
    const errorBox = document.getElementById("test-error");
    const piiNote = document.getElementById("pii-note");
    answers.replaceChildren();
    errorBox.hidden = true;
    piiNote.hidden = true;
    const variables = {};
    for (const field of form.querySelectorAll("[data-var]")) variables[field.dataset.var] = field.value;
    const params = {};
    for (const name of ["temperature", "max_tokens", "top_p"]) params[name] = form.elements[name].value;
    const images = await Promise.all(
      Array.from(document.getElementById("images").files).map(
        (file) => new Promise((resolve, reject) => {
          const reader = new FileReader();
          reader.onload = () => resolve(reader.result);
          reader.onerror = reject;
          reader.readAsDataURL(file);
        })
      )
    );
    const aliases = Array.from(form.querySelectorAll('input[name="alias"]:checked')).map((i) => i.value);
    const body = {
      prompt: form.dataset.prompt,
      item: document.getElementById("item-select").value || null,
      variables, params, aliases, images,
    };
    const panels = {};
    const panel = (alias) => {
      if (!panels[alias]) {
        const box = el("section", { class: "answer", "data-alias": alias });
        box.append(el("h3", {}, alias), el("pre", { class: "text" }, ""), el("p", { class: "stats muted" }, "waiting…"));
        answers.append(box);
        panels[alias] = box;
      }
      return panels[alias];
    };
    for (const alias of aliases) panel(alias);
    const button = document.getElementById("run-test");
    button.disabled = true;
    try {
      const response = await postJson("/api/test", body);
      if (!response.ok) throw new Error(await errorText(response));
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim()) handleTestEvent(JSON.parse(line), panel, errorBox, piiNote);
        }
      }
    } catch (err) {
      errorBox.textContent = String(err.message || err);
      errorBox.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}

function handleTestEvent(event, panel, errorBox, piiNote) {
  if (event.type === "request") {
    const masked = Object.entries(event.pii_masked || {});
    if (masked.length) {
      piiNote.textContent = "PII policy masked before sending: " + masked.map(([t, n]) => `${t} ×${n}`).join(", ");
      piiNote.hidden = false;
    }
  } else if (event.type === "piece") {
    panel(event.alias).querySelector("pre").textContent += event.text;
    panel(event.alias).querySelector(".stats").textContent = "streaming…";
  } else if (event.type === "done") {
    const box = panel(event.alias);
    box.classList.add("done");
    const parts = [
      `${event.latency_ms} ms`,
      `${event.prompt_tokens} in / ${event.completion_tokens} out tokens`,
      `$${Number(event.cost_usd).toFixed(6)}`,
    ];
    if (event.deployment) parts.push(event.deployment);
    if (event.fallback_used) parts.push(`answered by fallback ${event.fallback_used}`);
    box.querySelector(".stats").textContent = parts.join(" · ");
  } else if (event.type === "error") {
    const text = `error[${event.code}] ${event.message}` + (event.hint ? `\nhint: ${event.hint}` : "");
    if (event.alias) {
      const box = panel(event.alias);
      box.classList.add("failed");
      box.querySelector(".stats").textContent = text;
    } else {
      errorBox.textContent = text;
      errorBox.hidden = false;
      document.getElementById("answers").replaceChildren();
    }
  }
}

// ---- experiments and run selection ---------------------------------------------------------
function setupExperiments() {
  const form = document.getElementById("experiment-form");
  if (!form) return;
  const suite = document.getElementById("suite-select");
  const models = document.getElementById("models-input");
  const showModels = () => {
    const option = suite.selectedOptions[0];
    models.placeholder = option ? option.dataset.models : "";
  };
  suite.addEventListener("change", showModels);
  showModels();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = document.getElementById("experiment-status");
    const bar = document.getElementById("experiment-progress");
    const text = document.getElementById("experiment-text");
    status.hidden = false;
    text.textContent = "starting…";
    const button = document.getElementById("run-experiment");
    button.disabled = true;
    const response = await postJson("/api/experiments", {
      suite: suite.value,
      prompt: document.getElementById("prompt-select").value || null,
      models: models.value.split(",").map((m) => m.trim()).filter(Boolean),
      sample: form.elements.sample.value.trim() || null,
    });
    if (!response.ok) {
      text.textContent = await errorText(response);
      text.className = "error";
      button.disabled = false;
      return;
    }
    const job = await response.json();
    const source = new EventSource(`/api/experiments/${job.id}/events`);
    const update = (msg) => {
      const s = JSON.parse(msg.data);
      bar.max = Math.max(1, s.total);
      bar.value = s.done;
      text.textContent = `${s.suite}${s.prompt ? " with " + s.prompt : ""}: ${s.done} / ${s.total || "?"} samples`;
      return s;
    };
    source.addEventListener("running", update);
    source.addEventListener("finished", (msg) => {
      const s = update(msg);
      source.close();
      text.textContent = `finished: ${s.done} samples` + (s.gate_failures.length ? ` — ${s.gate_failures.length} gate(s) failed` : "");
      const link = el("a", { href: `/runs/${s.run_id}`, id: "experiment-run" }, `open run ${s.run_id}`);
      text.append(" — ", link);
      button.disabled = false;
      refreshRuns();
    });
    source.addEventListener("failed", (msg) => {
      const s = JSON.parse(msg.data);
      source.close();
      text.textContent = s.error;
      text.className = "error";
      button.disabled = false;
    });
  });
}

async function refreshRuns() {
  // The stored-runs table as the server renders it now (the new run included).
  const response = await fetch("/runs");
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("#runs tbody");
  const table = document.querySelector("#runs tbody");
  if (fresh && table) table.replaceWith(document.adoptNode(fresh));
}

function setupRunPicker() {
  const button = document.getElementById("compare-selected");
  if (!button) return;
  const picked = () => Array.from(document.querySelectorAll("input.pick:checked")).map((i) => i.value);
  document.addEventListener("change", (e) => {
    if (e.target.classList && e.target.classList.contains("pick")) button.disabled = picked().length < 2;
  });
  button.addEventListener("click", () => {
    window.location.href = "/compare?runs=" + picked().map(encodeURIComponent).join(",");
  });
}

// ---- filters on item tables ------------------------------------------------------------------
function setupFilters() {
  for (const bar of document.querySelectorAll(".filters")) {
    const table = document.getElementById(bar.dataset.table);
    const rows = Array.from(table.tBodies[0].rows);
    const count = bar.querySelector(".count");
    const apply = () => {
      const on = Array.from(bar.querySelectorAll(".filter:checked")).map((f) => f.value);
      const needle = bar.querySelector(".search").value.trim().toLowerCase();
      let shown = 0;
      for (const row of rows) {
        const visible = on.every((f) => row.dataset[f] === "yes") && (!needle || row.textContent.toLowerCase().includes(needle));
        row.hidden = !visible;
        if (visible) shown += 1;
      }
      count.textContent = `${shown} of ${rows.length} shown`;
    };
    bar.addEventListener("input", apply);
    bar.addEventListener("change", apply);
    apply();
  }
}

// ---- edit → branch ---------------------------------------------------------------------------
function setupEdit() {
  const form = document.getElementById("edit-form");
  if (!form) return;
  const editor = document.getElementById("editor");
  const box = document.getElementById("validation");
  const path = form.dataset.path;
  let timer = null;
  let sequence = 0;
  const showDiagnostics = (diagnostics) => renderDiagnostics(box, diagnostics);
  const validate = async () => {
    const mine = ++sequence;
    const response = await postJson("/api/validate", { files: { [path]: editor.value } });
    if (mine !== sequence) return;
    if (!response.ok) {
      box.textContent = await errorText(response);
      return;
    }
    showDiagnostics((await response.json()).diagnostics);
  };
  editor.addEventListener("input", () => {
    clearTimeout(timer);
    box.textContent = "checking…";
    timer = setTimeout(validate, 300);
  });
  validate();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveToBranch({ [path]: editor.value }, showDiagnostics);
  });
}

function renderDiagnostics(box, diagnostics) {
  box.replaceChildren();
  const errors = diagnostics.filter((d) => d.severity === "error");
  const warnings = diagnostics.length - errors.length;
  if (errors.length) {
    box.append(el("p", { class: "fail", id: "invalid" }, `✗ ${errors.length} error(s)`));
  } else {
    box.append(el("p", { class: "pass", id: "valid" }, "✓ valid" + (warnings ? ` (${warnings} warning(s))` : "")));
  }
  if (!diagnostics.length) return;
  const list = el("ul", { class: "diagnostics" });
  for (const d of diagnostics) list.append(el("li", { class: d.severity }, d.text));
  box.append(list);
}

async function saveToBranch(files, showDiagnostics) {
  const result = document.getElementById("save-result");
  const remote = document.getElementById("push-remote");
  const response = await postJson("/api/save", {
    files,
    branch: document.getElementById("branch-name").value.trim(),
    message: document.getElementById("commit-message").value,
    push: remote ? remote.value : "",
  });
  result.hidden = false;
  result.replaceChildren();
  if (!response.ok) {
    const body = await response.clone().json().catch(() => ({}));
    result.className = "error";
    result.textContent = await errorText(response);
    if (body.error && body.error.diagnostics) showDiagnostics(body.error.diagnostics);
    return;
  }
  const saved = await response.json();
  result.className = "banner good";
  result.append(
    el("p", { id: "saved-branch" }, `Saved to branch ${saved.branch} at ${saved.commit.slice(0, 12)}` + (saved.pushed_to ? `, pushed to ${saved.pushed_to}` : "") + "."),
    el("p", {}, "Compare it with its base:"),
    el("pre", { id: "diff-command" }, saved.diff_command)
  );
}

// ---- dataset rows from an upload -----------------------------------------------------------------
function setupRows() {
  const form = document.getElementById("rows-form");
  if (!form) return;
  const dataset = form.dataset.dataset;
  const box = document.getElementById("validation");
  let upload = null;
  let pending = null;
  document.getElementById("rows-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    upload = { filename: file.name, content: await file.text() };
    const response = await postJson("/api/rows/columns", { dataset, ...upload });
    const mapping = document.getElementById("mapping");
    if (!response.ok) {
      mapping.hidden = false;
      mapping.replaceChildren(el("p", { class: "error", id: "rows-error" }, await errorText(response)));
      return;
    }
    const found = await response.json();
    for (const select of form.querySelectorAll("select[data-field]")) {
      select.replaceChildren(el("option", { value: "" }, "(none)"));
      for (const column of found.columns) select.append(el("option", { value: column }, column));
      const field = select.dataset.field;
      select.value = (field === "input" ? found.guess.input[select.dataset.var] : found.guess[field]) || "";
    }
    mapping.hidden = false;
    mapping.dataset.loaded = String(Number(mapping.dataset.loaded || 0) + 1); // tests wait for it
  });
  document.getElementById("rows-preview").addEventListener("click", async () => {
    const mapping = { input: {} };
    for (const select of form.querySelectorAll("select[data-field]")) {
      if (select.dataset.field === "input") mapping.input[select.dataset.var] = select.value;
      else mapping[select.dataset.field] = select.value;
    }
    const response = await postJson("/api/rows/apply", { dataset, ...upload, mapping });
    const result = document.getElementById("rows-result");
    result.hidden = false;
    const count = document.getElementById("rows-count");
    const body = document.querySelector("#rows-added tbody");
    body.replaceChildren();
    if (!response.ok) {
      count.textContent = await errorText(response);
      count.className = "error";
      pending = null;
      return;
    }
    const applied = await response.json();
    pending = { [applied.path]: applied.text };
    count.className = "";
    count.textContent = `${applied.count} row(s) will be appended to ${applied.path}`;
    for (const item of applied.added) {
      const row = el("tr");
      row.append(el("td", {}, item.id), el("td", { class: "text" }, JSON.stringify(item.input)), el("td", { class: "text" }, item.expected === undefined ? "" : JSON.stringify(item.expected)));
      body.append(row);
    }
    renderDiagnostics(box, applied.diagnostics);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (pending) saveToBranch(pending, (d) => renderDiagnostics(box, d));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupTest();
  setupExperiments();
  setupRunPicker();
  setupFilters();
  setupEdit();
  setupRows();
});
