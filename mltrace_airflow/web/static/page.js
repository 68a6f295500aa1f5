/* mltrace pages: draw the trace graph and tree (trace.js, tree.js), and open Airflow's own pages (task log, DAG run) in the
 * Airflow window rather than inside the plugin's iframe. Plain ES2017, no build step. */
(function () {
  'use strict';

  function initTrace() {
    const data = document.getElementById('trace-data');
    const graph = document.getElementById('trace-graph');
    if (!data || !graph || !window.MltraceTrace) return;
    const trace = JSON.parse(data.textContent);
    const prefix = graph.getAttribute('data-run-url'), history = graph.getAttribute('data-component-url');
    const runUrl = (id) => prefix + encodeURIComponent(String(id));
    const componentUrl = history ? (name) => history + encodeURIComponent(name) : null;
    // Exposed for tests, benches and the console: see trace.js for what it offers.
    // Flagged data and lineage gates (trace-marks.js), where the page sent them.
    const marks = trace.marks && window.MltraceMarks ? window.MltraceMarks.options(trace.marks) : {};
    window.mltraceGraph = window.MltraceTrace.render(graph, trace, { runUrl, componentUrl, ...marks });
    const tree = document.getElementById('trace-tree');
    // The tree is below the fold: draw it once the graph is on screen.
    if (tree) requestAnimationFrame(() => setTimeout(() => window.MltraceTrace.renderTree(tree, trace, { runUrl }), 0));
  }

  // Airflow shows plugin pages in an iframe sandboxed without allow-top-navigation, so a plain link
  // to an Airflow page would open the whole Airflow UI inside the frame. The frame is same-origin, so
  // ask the Airflow UI's router to go there instead: push the URL onto its history and tell it.
  function openInAirflow(href) {
    let top;
    try {
      top = window.top;
      if (top === window || top.location.origin !== window.location.origin) return false;
    } catch (e) {
      return false;
    }
    const url = new URL(href, window.location.href);
    if (url.origin !== window.location.origin) return false;
    try {
      const prev = top.history.state;
      const idx = prev && typeof prev.idx === 'number' ? prev.idx + 1 : 0;
      top.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx: idx }, '',
        url.pathname + url.search + url.hash);
      top.dispatchEvent(new top.PopStateEvent('popstate', { state: top.history.state }));
      return true;
    } catch (e) {
      return false;
    }
  }

  document.addEventListener('click', function (e) {
    const a = e.target && e.target.closest ? e.target.closest('a[data-airflow-link]') : null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (openInAirflow(a.href)) e.preventDefault();
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', initTrace);
  else initTrace();
})();
