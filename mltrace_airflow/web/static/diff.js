/* mltrace diff page: both lineages as one graph, drawn by the trace graph module (trace.js), with the
 * runs only in A, only in B and changed coloured and the first divergences outlined. Plain ES2017.
 * The graph data is the trace JSON of the merged lineage plus "diff": {marks: {run id: "changed" |
 * "only_a" | "only_b"}, first: [run ids], partners: {B run id: A run id}} (mltrace_airflow/web/versioned.py). */
(function () {
  'use strict';
  const LABELS = { changed: '~ changed', only_a: '− only in A', only_b: '+ only in B' };
  const GLYPHS = { changed: '~', only_a: '−', only_b: '+' };
  const SVG = 'http://www.w3.org/2000/svg';

  function paint(root, diff) {
    const first = new Set(diff.first.map(String));
    root.querySelectorAll('.mltrace-node[data-run-id]').forEach((node) => {
      const id = node.getAttribute('data-run-id');
      const mark = diff.marks[id];
      for (const m of Object.keys(LABELS)) node.classList.toggle('mltrace-diff-' + m, mark === m);
      node.classList.toggle('mltrace-diff-first', first.has(id));
      if (mark && !node.getAttribute('data-diff')) {
        node.setAttribute('data-diff', mark);
        const more = LABELS[mark] + (diff.partners[id] ? ` (A: #${diff.partners[id]})` : '') + (first.has(id) ? ', first divergence' : '');
        node.setAttribute('aria-label', (node.getAttribute('aria-label') || '') + ', ' + more);
        // Not colour alone: the diff's own marker in the node's corner.
        const box = node.querySelector('.mltrace-node-box');
        const glyph = document.createElementNS(SVG, 'text');
        glyph.setAttribute('class', 'mltrace-diff-glyph');
        glyph.setAttribute('x', String((box ? parseFloat(box.getAttribute('width')) : 150) - 16));
        glyph.setAttribute('y', '20');
        glyph.textContent = GLYPHS[mark];
        node.appendChild(glyph);
      }
    });
  }

  function legend(diff) {
    const el = document.createElement('div');
    el.className = 'mltrace-legend mltrace-diff-legend';
    for (const m of Object.keys(LABELS)) {
      const item = document.createElement('span');
      item.className = 'mltrace-legend-item';
      const sw = document.createElement('span');
      sw.className = 'mltrace-swatch mltrace-diff-swatch-' + m;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(LABELS[m]));
      el.appendChild(item);
    }
    const first = document.createElement('span');
    first.className = 'mltrace-legend-item';
    const sw = document.createElement('span');
    sw.className = 'mltrace-swatch mltrace-diff-swatch-first';
    first.appendChild(sw);
    first.appendChild(document.createTextNode('first divergence'));
    el.appendChild(first);
    return el;
  }

  function initDiff() {
    const data = document.getElementById('diff-data');
    const el = document.getElementById('diff-graph');
    if (!data || !el || !window.MltraceTrace) return;
    const graph = JSON.parse(data.textContent);
    const diff = graph.diff || { marks: {}, first: [], partners: {} };
    const prefix = el.getAttribute('data-run-url');
    const runUrl = (id) => prefix + encodeURIComponent(String(id));
    window.mltraceGraph = window.MltraceTrace.render(el, graph, { runUrl, showOutput: false });
    paint(el, diff);
    // The graph module redraws on its own (depth, expand): paint what it draws.
    new MutationObserver(() => paint(el, diff)).observe(el, { childList: true, subtree: true });
    el.appendChild(legend(diff));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', initDiff);
  else initDiff();
})();
