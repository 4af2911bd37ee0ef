// tfcards serve: filter the deck page, and apply the updates the server pushes (server-sent events).
"use strict";

function applyFilter() {
  const form = document.getElementById("filter");
  if (!form) return;
  const want = Object.fromEntries(new FormData(form));
  let shown = 0;
  for (const row of document.querySelectorAll("#rows .card-row")) {
    const ok = (!want.topic || row.dataset.topic === want.topic) &&
      (!want.tag || row.dataset.tags.includes(" " + want.tag + " ")) &&
      (!want.status || (want.status === "findings" ? row.dataset.findings !== "0" : row.dataset.status === want.status));
    row.hidden = !ok;
    if (ok) shown++;
  }
  document.getElementById("empty").hidden = shown > 0;
}

function restoreFilter() {
  const form = document.getElementById("filter");
  if (!form) return;
  const params = new URLSearchParams(location.search);
  for (const select of form.querySelectorAll("select")) {
    const value = params.get(select.name) || "";
    if (value && ![...select.options].some(o => o.value === value)) select.add(new Option(value, value));
    select.value = value;
  }
  applyFilter();
}

function filterChanged() {
  const params = new URLSearchParams(new FormData(document.getElementById("filter")));
  for (const [k, v] of [...params]) if (!v) params.delete(k);
  history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
  applyFilter();
}

function fitFrames(root) {
  for (const frame of root.querySelectorAll("iframe.anki-card")) {
    const fit = () => { frame.style.height = frame.contentDocument.documentElement.scrollHeight + "px"; };
    frame.addEventListener("load", fit);
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit();
  }
}

function replace(id, html) {
  const old = document.getElementById(id);
  if (old) old.outerHTML = html;
}

function applyUpdate(data) {
  document.body.dataset.version = data.version;
  if (data.main !== undefined) {
    replace("main", data.main);
    hookMain();
  }
  if (data.rows) {
    const tbody = document.getElementById("rows");
    for (const [id, html] of Object.entries(data.rows)) {
      const old = document.getElementById("card-" + id);
      if (html === null) { if (old) old.remove(); continue; }
      const t = document.createElement("tbody");
      t.innerHTML = html;
      if (old) old.replaceWith(t.firstElementChild); else tbody.append(t.firstElementChild);
    }
    if (data.order) for (const id of data.order) {
      const row = document.getElementById("card-" + id);
      if (row) tbody.append(row);
    }
  }
  for (const part of ["errors", "summary", "filters"]) if (data[part] !== undefined) replace(part, data[part]);
  if (data.filters !== undefined) restoreFilter(); else applyFilter();
  document.dispatchEvent(new CustomEvent("tfcards:updated", {detail: data.version}));
}

function hookMain() {
  const form = document.getElementById("filter");
  if (form) form.addEventListener("change", filterChanged);
  const wide = document.getElementById("wide");
  if (wide) wide.addEventListener("change", () => document.body.classList.toggle("wide", wide.checked));
  restoreFilter();
  fitFrames(document);
}

function listen() {
  const body = document.body;
  const params = new URLSearchParams({page: body.dataset.page, since: body.dataset.version});
  if (body.dataset.card) params.set("card", body.dataset.card);
  const live = document.getElementById("live");
  const source = new EventSource("events?" + params);
  source.addEventListener("update", e => applyUpdate(JSON.parse(e.data)));
  source.onopen = () => live.className = "on";
  source.onerror = () => {  // the server stopped or restarted: reconnect with the version we hold
    live.className = "off";
    source.close();
    setTimeout(listen, 1000);
  };
}

document.addEventListener("DOMContentLoaded", () => { hookMain(); listen(); });
