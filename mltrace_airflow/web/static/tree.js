/* mltrace lineage tree: nested <details>, the start run at the top, each run's producers (downstream:
 * consumers) below it. Plain ES2017, no build step. Needs formats.js and lineage.js.
 *
 *   MltraceTrace.renderTree(container, trace, {runUrl, openDepth, openBudget})
 *
 * Children are built when their <details> first opens, so a 10,000-run trace costs only the lines on
 * screen; a run met again is a reference to where it was first shown, which keeps the DOM linear in the
 * number of edges even on diamond-shaped lineage. No recursion: 2,000-deep chains are fine. */
(function () {
  'use strict';
  const L = window.MltraceLineage, F = window.MltraceFormats;

  function h(tag, attrs, text) {
    const el = document.createElement(tag);
    for (const k in attrs || {}) el.setAttribute(k, attrs[k]);
    if (text != null) el.textContent = String(text);
    return el;
  }

  function renderTree(container, trace, options) {
    const opts = Object.assign({ runUrl: (id) => 'runs/' + id, openDepth: 3, openBudget: 300 }, options);
    const idx = L.index(trace), upstream = (trace.direction || 'upstream') === 'upstream';
    container.textContent = '';
    const root = h('div', { class: 'mltrace-tree' });
    container.appendChild(root);
    if (trace.truncated) root.appendChild(h('div', { class: 'mltrace-note mltrace-note-warn', role: 'note' }, `Lineage truncated at depth ${idx.maxDepth}.`));
    if (!idx.runs.length) { root.appendChild(h('p', { class: 'mltrace-empty' }, 'No lineage recorded for this output.')); return; }
    const next = upstream ? idx.producers : idx.consumers, far = upstream ? 'producer' : 'consumer';
    const shown = new Set();
    let built = 0;

    function line(id, vias) {
      const run = idx.byId.get(id), el = h('span', { class: 'mltrace-tree-line' });
      if (vias) el.appendChild(h('span', { class: 'mltrace-tree-via', title: vias.join('\n') }, (upstream ? '← ' : '→ ') + L.pointerSummary(vias, 1) + ' '));
      if (shown.has(id)) {
        el.appendChild(h('a', { class: 'mltrace-tree-ref', href: opts.runUrl(id), 'data-run-id': String(id) }, `→ #${id} (shown elsewhere)`));
        return { el, leaf: true };
      }
      shown.add(id);
      el.appendChild(h('span', { class: `mltrace-badge mltrace-status-${L.statusKey(run.status)}` }, run.status));
      el.appendChild(document.createTextNode(' '));
      el.appendChild(h('a', { class: 'mltrace-tree-run', href: opts.runUrl(id), 'data-run-id': String(id), title: `${run.component} #${id}, ${F.when(run.start)}` }, `${run.component} #${id}`));
      if (run.stale && run.stale.length) el.appendChild(h('span', { class: 'mltrace-badge mltrace-badge-stale', title: run.stale.join('\n') }, 'stale'));
      return { el, leaf: !(next.get(id) || []).length };
    }
    // One level: the lines of `id`'s producers under `parent`; their own children wait for their toggle.
    function fill(parent, id, level) {
      for (const p of next.get(id) || []) add(parent, p[far], p.vias, level);
    }
    function add(parent, id, vias, level) {
      built++;
      const { el, leaf } = line(id, vias);
      if (leaf) { parent.appendChild(h('div', { class: 'mltrace-tree-leaf' })).appendChild(el); return; }
      const det = h('details', { class: 'mltrace-tree-node' });
      det.appendChild(h('summary')).appendChild(el);
      const kids = h('div', { class: 'mltrace-tree-children' });
      det.appendChild(kids);
      parent.appendChild(det);
      let done = false;
      const open = () => { if (!done) { done = true; fill(kids, id, level + 1); } };
      det.addEventListener('toggle', () => { if (det.open) open(); });
      if (level < opts.openDepth && built < opts.openBudget) { det.open = true; open(); }
    }
    for (const r of idx.roots) add(root, r.id, null, 0);
  }

  window.MltraceTrace = Object.assign(window.MltraceTrace || {}, { renderTree });
})();
