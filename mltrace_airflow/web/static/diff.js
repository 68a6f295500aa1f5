/* mltrace diff page: both lineages as one graph, drawn by the trace graph module (trace.js) through its
 * hooks: changed runs, runs only in A and runs only in B get a class (colour) and a pill (text: not colour
 * alone), unchanged ones fade, the first divergences are outlined; a component node counts its changed
 * and one-sided runs. Plain ES2017. The data is the trace JSON of the merged lineage plus "diff":
 * {marks: {run id: "changed" | "only_a" | "only_b"}, first: [run ids], partners: {B run id: A run id}}
 * (mltrace_airflow/web/versioned.py). */
(function () {
  'use strict';
  const PILL = { changed: '~ changed', only_a: '− only in A', only_b: '+ only in B' };
  const SHORT = { changed: '~', only_a: '−', only_b: '+' };

  function options(diff, runUrl) {
    const first = new Set(diff.first.map(Number));
    const mark = (run) => diff.marks[String(run.id)];
    const tally = (runs) => {
      const t = { changed: 0, only_a: 0, only_b: 0, first: 0 };
      for (const r of runs) { const m = mark(r); if (m) t[m]++; if (first.has(r.id)) t.first++; }
      return t;
    };
    return {
      runUrl,
      showOutput: false,
      nodeClass(n) {
        if (n.kind === 'run') {
          const m = mark(n.run);
          return (m ? 'mltrace-diff-' + m : 'mltrace-diff-same') + (first.has(n.run.id) ? ' mltrace-diff-first' : '');
        }
        if (n.kind === 'component') {
          const t = tally(n.component.runs);
          return (t.changed + t.only_a + t.only_b ? 'mltrace-diff-some' : 'mltrace-diff-same') + (t.first ? ' mltrace-diff-first' : '');
        }
        return '';
      },
      badges(n) {
        if (n.kind === 'run') {
          const m = mark(n.run), pills = [];
          if (m) {
            const other = diff.partners[String(n.run.id)];
            pills.push({ text: PILL[m], className: 'mltrace-diff-pill-' + m, title: other ? `run #${other} in A, #${n.run.id} in B` : PILL[m] });
          }
          if (first.has(n.run.id)) pills.push({ text: 'first divergence', className: 'mltrace-diff-pill-first', title: 'Nothing upstream of it differs: the histories start to differ here' });
          return pills;
        }
        if (n.kind === 'component') {
          const t = tally(n.component.runs);
          const parts = Object.keys(SHORT).filter((k) => t[k]).map((k) => SHORT[k] + t[k]);
          return parts.length ? [{ text: parts.join(' '), className: 'mltrace-diff-pill-changed', title: `${t.changed} changed, ${t.only_a} only in A, ${t.only_b} only in B` + (t.first ? `; ${t.first} first divergence${t.first > 1 ? 's' : ''}` : '') }] : [];
        }
        return [];
      },
    };
  }

  function legend() {
    const el = document.createElement('div');
    el.className = 'mltrace-legend mltrace-diff-legend';
    for (const [cls, text] of [['changed', PILL.changed], ['only_a', PILL.only_a], ['only_b', PILL.only_b], ['first', 'first divergence'], ['same', 'the same on both sides (faded)']]) {
      const item = document.createElement('span');
      item.className = 'mltrace-legend-item';
      const sw = document.createElement('span');
      sw.className = 'mltrace-swatch mltrace-diff-swatch-' + cls;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(text));
      el.appendChild(item);
    }
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
    // Exposed for tests and the console, as on the trace page.
    window.mltraceGraph = window.MltraceTrace.render(el, graph, options(diff, runUrl));
    el.appendChild(legend());
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', initDiff);
  else initDiff();
})();
