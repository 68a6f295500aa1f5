/* mltrace trace page: mark flagged data and lineage gates on the trace graph, through the graph module's
 * hooks (trace.js: nodeClass, badges). Never colour alone: a run that read or wrote a flagged pointer gets
 * a dashed red outline and a "⚑ flagged" pill naming the pointers; a run a gate checked gets a
 * "✗ gate failed" or "✓ gate passed" pill naming the gate's run; a component node counts its runs'.
 * The data is the trace JSON's "marks" (mltrace_core.checks.LineageMarks.to_dict()):
 * {flagged: {run id: [{pointer, version, side}]}, gates: {run id: [{run, component, passed}]}}.
 * Plain ES2017. */
(function () {
  'use strict';

  function options(marks) {
    const flagged = marks.flagged || {}, gates = marks.gates || {};
    const flagsOf = (run) => flagged[String(run.id)] || [];
    const gatesOf = (run) => gates[String(run.id)] || [];
    const failing = (run) => gatesOf(run).filter((g) => !g.passed);
    const named = (f) => f.pointer + (f.version ? '@' + f.version : '') + (f.side === 'input' ? ' (read)' : ' (written)');
    return {
      nodeClass(n) {
        if (n.kind === 'run') {
          return [flagsOf(n.run).length ? 'mltrace-mark-flagged' : '', failing(n.run).length ? 'mltrace-mark-gate-failed' : ''].join(' ').trim();
        }
        if (n.kind === 'component') {
          const runs = n.component.runs;
          return [runs.some((r) => flagsOf(r).length) ? 'mltrace-mark-flagged' : '', runs.some((r) => failing(r).length) ? 'mltrace-mark-gate-failed' : ''].join(' ').trim();
        }
        return '';
      },
      badges(n) {
        const pills = [];
        if (n.kind === 'run') {
          const f = flagsOf(n.run);
          if (f.length) pills.push({ text: '⚑ flagged', className: 'mltrace-mark-pill-flagged', title: 'Flagged: ' + f.map(named).join(', ') });
          for (const g of gatesOf(n.run)) {
            pills.push({
              text: g.passed ? '✓ gate passed' : '✗ gate failed',
              className: g.passed ? 'mltrace-mark-pill-gate-passed' : 'mltrace-mark-pill-gate-failed',
              title: `${g.component}: run #${g.run} ${g.passed ? 'passed' : 'failed'} the lineage check of what this run wrote`,
            });
          }
        } else if (n.kind === 'component') {
          const runs = n.component.runs;
          const nf = runs.filter((r) => flagsOf(r).length).length, ng = runs.filter((r) => failing(r).length).length;
          if (nf) pills.push({ text: `⚑ ${nf} flagged`, className: 'mltrace-mark-pill-flagged', title: `${nf} of its runs read or wrote flagged data` });
          if (ng) pills.push({ text: `✗ ${ng} gate failed`, className: 'mltrace-mark-pill-gate-failed', title: `a gate failed on the output of ${ng} of its runs` });
        }
        return pills;
      },
    };
  }

  window.MltraceMarks = { options };
})();
